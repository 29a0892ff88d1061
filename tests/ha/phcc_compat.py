"""Loaded first (``-p tests.ha.phcc_compat``) by every HA test run: HA before the test plugin.

pytest-homeassistant-custom-component (phcc) is made for one HA release; the suite runs it on
each end of the supported range. Two things it needs on HA 2026.11 that its newest release
(0.13.375, made for 2026.10.4) does not do itself:

- HA 2026.11 aliases ``httpx`` to ``httpx2`` when it is imported and refuses once ``httpx``
  is loaded; phcc's ``respx`` imports ``httpx`` first. Importing HA here, before the plugin
  loads, keeps the order HA wants.
- phcc imports ``_clear_logger_overwrites`` from ``homeassistant.components.logger``; HA
  2026.11 moved it to ``logger.helpers``. It is given the name where phcc looks for it.

On HA 2025.12 (its own phcc) both are no-ops.
"""

from __future__ import annotations

import homeassistant.const  # noqa: F401  # first: HA's httpx alias before respx's httpx
from homeassistant.components import logger

if not hasattr(logger, "_clear_logger_overwrites"):
    from homeassistant.components.logger.helpers import _clear_logger_overwrites

    logger._clear_logger_overwrites = _clear_logger_overwrites  # type: ignore[attr-defined]
