#!/usr/bin/env bash
# The demo: GPU server + a real Home Assistant + the Pi satellite, end to end, on this machine.
# Sets up what it needs first (scripts/setup.sh, idempotent), then runs scripts/demo.py until
# Ctrl-C. Extra arguments go to demo.py (--help lists them).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
# The satellite's environment drives the parts (aiohttp); each part runs from its own.
exec "$root/.venvs/satellite/bin/python" "$root/scripts/demo.py" "$@"
