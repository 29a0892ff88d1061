"""Home Assistant custom integrations of this repository (what HACS installs)."""
