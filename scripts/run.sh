#!/usr/bin/env bash
# Start the dashboard; when it exits, stop the embedded Redis server unless a scan still runs on it.
set -u
cd "$(dirname "$0")/.."
trap '.venv/bin/python -m scanner server stop' EXIT
.venv/bin/python -m streamlit run dashboard.py "$@"
