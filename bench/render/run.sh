#!/usr/bin/env bash
# Runs the frame-rendering benchmark: render time per panel and dither, and the Delta E
# quality figure of every dither mode against the inky library's own conversion.
# Creates .venvs/bench-render (Python 3.11, Pillow 12, inky 2.6.0) the first time.
#
#   bench/render/run.sh [--repeat N] [--save-images DIR]
#   scripts/ha_root.sh run /opt/venvs/ha-2026.11/bin/python bench/render/bench_render.py --timing-only   (times on HA's Pillow)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv="$root/.venvs/bench-render"
requirements="$root/bench/render/requirements.txt"
stamp="$venv.stamp"
digest=$(sha256sum "$requirements" | cut -d' ' -f1)

if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$digest" ]]; then
  echo "[bench-render] creating $venv (Pillow 12 + inky 2.6.0)" >&2
  [[ -x "$venv/bin/python" ]] || python3.11 -m venv "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$requirements"
  echo "$digest" >"$stamp"
fi

cd "$root"
exec "$venv/bin/python" "$root/bench/render/bench_render.py" "$@"
