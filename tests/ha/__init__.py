"""Tests of the Home Assistant integration (run in the HA environment)."""
