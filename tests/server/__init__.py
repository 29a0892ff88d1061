"""Tests of the GPU server (addon_inference), run in the server environment."""
