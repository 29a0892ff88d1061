"""Text-to-image generation with min-dalle's model classes."""
