"""dalle_frame Raspberry Pi satellite."""

__version__ = "0.3.0"
