"""The HTTP layer knows no model internals: nothing under `api/` imports torch or Pillow, nor
the generation code behind the text-to-image interface."""

from __future__ import annotations

import ast
from pathlib import Path

import dalle_frame_server.api

API = Path(dalle_frame_server.api.__file__).parent
MODEL_LIBRARIES = {"torch", "PIL", "numpy", "min_dalle"}
MODEL_INTERNALS = ("generation.generator", "generation.min_dalle", "generation.batching")
"""What stands behind `generation.text_to_image` (the interface the api uses)."""


def _imported_top_levels(source: str) -> set[str]:
    """The top-level packages a module's source imports (absolute imports only)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _relative_imports(source: str) -> set[str]:
    """The package modules an api module imports relatively, as `generation.generator`."""
    return {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module
    }


def test_no_api_module_imports_the_generation_internals() -> None:
    """The api reaches generation only through its interface (text_to_image)."""
    offenders = {
        module.name: sorted(
            name
            for name in _relative_imports(module.read_text())
            if name.startswith(MODEL_INTERNALS)
        )
        for module in sorted(API.glob("*.py"))
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_no_api_module_imports_a_model_library() -> None:
    """Every module of the api package imports neither torch, Pillow, numpy nor min-dalle."""
    modules = sorted(API.glob("*.py"))
    assert len(modules) > 5
    offenders = {
        module.name: sorted(_imported_top_levels(module.read_text()) & MODEL_LIBRARIES)
        for module in modules
    }
    assert {name: found for name, found in offenders.items() if found} == {}
