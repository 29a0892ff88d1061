"""Tests of the Raspberry Pi satellite (run in the satellite environment)."""
