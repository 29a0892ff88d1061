"""The one error rendering raises."""

from __future__ import annotations


class RenderError(ValueError):
    """The art cannot be rendered: it is not a readable PNG, or the options are invalid."""
