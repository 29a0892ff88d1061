#!/usr/bin/env bash
# Starts the dalle_frame GPU server in its container.
#
# As a Home Assistant add-on: reads the options from /data/options.json, keeps the models and a
# random token in /data (the token is created on first start, mode 0600), and announces host,
# port and token to Home Assistant through Supervisor discovery. As a standalone container
# (docker-compose.yml) there is no options.json: the DALLE_FRAME_* environment variables
# configure the server (see `python -m dalle_frame_server --help`).
#
# Overridable for tests: DALLE_FRAME_DATA_DIR, DALLE_FRAME_SUPERVISOR_URL, DALLE_FRAME_PYTHON.
set -euo pipefail

data_dir="${DALLE_FRAME_DATA_DIR:-/data}"
options="${data_dir}/options.json"
supervisor_url="${DALLE_FRAME_SUPERVISOR_URL:-http://supervisor}"
python="${DALLE_FRAME_PYTHON:-python3}"
port="${DALLE_FRAME_PORT:-8765}"
token_file="${DALLE_FRAME_TOKEN_FILE:-${data_dir}/token}"

log() { printf '[run.sh] %s\n' "$*" >&2; }

# option KEY: the option's value from options.json, empty when absent or null
option() { jq -r --arg key "$1" '.[$key] // empty' "${options}"; }

if [[ -f "${options}" ]]; then
  log "reading the add-on options"
  export DALLE_FRAME_MODEL; DALLE_FRAME_MODEL="$(option model)"
  export DALLE_FRAME_ASR_MODEL; DALLE_FRAME_ASR_MODEL="$(option asr_model)"
  export DALLE_FRAME_UPSCALER; DALLE_FRAME_UPSCALER="$(option upscaler)"
  vae_decoder="$(option vae_decoder)"
  if [[ -n "${vae_decoder}" ]]; then
    export DALLE_FRAME_VAE_DECODER="${vae_decoder}"
  fi
  export DALLE_FRAME_BACKEND; DALLE_FRAME_BACKEND="$(option backend)"
  export DALLE_FRAME_QUEUE_SIZE; DALLE_FRAME_QUEUE_SIZE="$(option queue_size)"
  export DALLE_FRAME_LOG_LEVEL; DALLE_FRAME_LOG_LEVEL="$(option log_level)"
  device="$(option device)"
  if [[ -n "${device}" && "${device}" != "auto" ]]; then
    export DALLE_FRAME_DEVICE="${device}"
  fi
  threads="$(option threads)"
  if [[ -n "${threads}" && "${threads}" != "0" ]]; then
    export DALLE_FRAME_THREADS="${threads}"
  fi
  configured_token="$(option token)"
  if [[ -n "${configured_token}" ]]; then
    export DALLE_FRAME_TOKEN="${configured_token}"
  fi
fi

# The token: configured, or kept in the token file (created once with a random value).
if [[ -n "${DALLE_FRAME_TOKEN:-}" ]]; then
  token="${DALLE_FRAME_TOKEN}"
else
  if [[ ! -s "${token_file}" ]]; then
    mkdir -p "$(dirname "${token_file}")"
    (umask 077 && "${python}" -c 'import secrets; print(secrets.token_urlsafe(32))' >"${token_file}")
    log "created a random token in ${token_file}"
  fi
  chmod 600 "${token_file}"
  token="$(tr -d '[:space:]' <"${token_file}")"
  export DALLE_FRAME_TOKEN_FILE="${token_file}"
fi

"${python}" -m dalle_frame_server \
  --host "${DALLE_FRAME_HOST:-0.0.0.0}" \
  --port "${port}" \
  --models-dir "${DALLE_FRAME_MODELS_DIR:-${data_dir}/models}" &
server_pid=$!
trap 'kill -TERM "${server_pid}" 2>/dev/null || true' TERM INT

announce() {
  # Tell Home Assistant where the server is and which token it takes (add-on only).
  local payload
  payload="$(jq -n --arg host "$(hostname)" --argjson port "${port}" --arg token "${token}" \
    '{service: "dalle_frame", config: {host: $host, port: $port, token: $token}}')"
  for _ in $(seq 1 120); do
    if curl -fsS -o /dev/null "http://127.0.0.1:${port}/v1/health"; then
      if curl -fsS -o /dev/null -X POST \
        -H "Authorization: Bearer ${SUPERVISOR_TOKEN}" \
        -H "Content-Type: application/json" \
        --data-binary @- "${supervisor_url}/discovery" <<<"${payload}"; then
        log "announced the server to Home Assistant (discovery: dalle_frame)"
      else
        log "warning: the Supervisor refused the discovery message; add the integration by hand"
      fi
      return 0
    fi
    kill -0 "${server_pid}" 2>/dev/null || return 0
    sleep 1
  done
  log "warning: the server did not answer in time; no discovery message sent"
}

if [[ -n "${SUPERVISOR_TOKEN:-}" ]]; then
  announce &
fi

set +e
wait "${server_pid}"
status=$?
# A signal interrupts the first wait; wait again for the server's own exit status.
if kill -0 "${server_pid}" 2>/dev/null; then
  wait "${server_pid}"
  status=$?
fi
exit "${status}"
