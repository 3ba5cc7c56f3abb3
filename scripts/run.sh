#!/usr/bin/env bash
# Start the dashboard (arguments go to `streamlit run`, e.g. --server.port 8502) and one scheduler beside it (scheduled
# scans, logged to the data dir's logs/scheduler.log); when the dashboard exits, stop the scheduler (a scan it runs
# records "cancelled"), then the embedded Redis server unless a scan still runs on it, and then say the command that
# stops it once the scan ends.
set -u
cd "$(dirname "$0")/.."
stop_server() {
  if [ -n "${scheduler_pid:-}" ]; then
    kill -TERM "$scheduler_pid" 2>/dev/null
    wait "$scheduler_pid" 2>/dev/null
  fi
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
log_dir="${SCANNER_DATA_DIR:-.data}/logs"
mkdir -p "$log_dir"
.venv/bin/python -m scanner scheduler >>"$log_dir/scheduler.log" 2>&1 &
scheduler_pid=$!
# Two malloc arenas, not one per thread that ever ran a rerun: with 50 viewers of a running 500-ticker scan the
# dashboard's peak RSS was ~900 MB with glibc's default (8 per core), ~690 MB with 2 (bench/bench_viewers.py)
MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" .venv/bin/python -m streamlit run dashboard.py "$@"
