#!/usr/bin/env bash
# Start the dashboard (arguments go to `streamlit run`, e.g. --server.port 8502); when it exits, stop the embedded
# Redis server unless a scan still runs on it, and then say the command that stops it once the scan ends.
set -u
cd "$(dirname "$0")/.."
stop_server() {
  .venv/bin/python -m scanner server stop
  if [ $? -eq 3 ]; then  # a scan holds the lock (ExitCode.LOCKED): the server stays up for it
    local env_prefix=""
    if [ -n "${SCANNER_DATA_DIR:-}" ]; then
      env_prefix="SCANNER_DATA_DIR=$(printf %q "$SCANNER_DATA_DIR") "
    fi
    echo "Once the scan ends, stop the embedded Redis server with: cd $(printf %q "$PWD") && ${env_prefix}make stop"
  fi
}
trap stop_server EXIT
.venv/bin/python -m streamlit run dashboard.py "$@"
