"""Fifty viewers on one ``streamlit run`` server while a 500-ticker scan runs, then idle on it (issue 21, target 2).

A real server of the dashboard (bench/_viewer_server.py: the app as it is, with counters on the shared work) on a
fresh embedded Valkey and the demo source, slowed per request so the scan lasts a while. Fifty sessions connect
over the websocket with bench/_streamlit_client.py, which speaks the browser frontend's protocol, and rerun when
the page's autorefresh timer would fire: every SCANNER_POLL_SECONDS (15 s) while a scan runs (sooner near its end,
as the page asks), and on the idle poll (set to the same 15 s here, 60 s by default) once it has finished. The
server runs as ``make run`` starts it (MALLOC_ARENA_MAX=2, the project's .streamlit/config.toml), in password mode.
On a machine shared with other work the server gets only part of a core: the load average is printed, and the
server CPU per rerun is the figure that does not depend on it.

Steps: the server alone (RSS idle); the scan with no viewer connected (its wall time, its own Redis commands);
one session, then all of them, opening the finished scan (RSS per session); the same scan again with every session
rerunning on its timer; then every session idle on the finished scan for IDLE_PERIODS timer periods.
Printed: rerun latency p50/p95 per phase, server CPU and RSS, Redis commands per second, the scan's slowdown, and
counts showing whether a scan version's decode and its view are built once for all sessions or per session.

Run: .venv/bin/python bench/bench_viewers.py   (BENCH_VIEWERS, BENCH_REFRESH_SECONDS for a quicker look; the
README's figures are at the defaults, 50 viewers and 15 s; BENCH_STREAMLIT_OPTIONS adds `streamlit run` options)
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shlex
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from _common import embedded_server, symbols
from _streamlit_client import RerunFailed, ViewerSession

from scanner.config import Settings
from scanner.store.connection import client_name
from scanner.store.scans import ScanStore, open_store

ROOT = Path(__file__).resolve().parents[1]
VIEWERS = int(os.environ.get("BENCH_VIEWERS", "50"))
REFRESH_SECONDS = int(os.environ.get("BENCH_REFRESH_SECONDS", "15"))
TICKERS = 500
DEMO_DELAY_MS, CONCURRENCY = 100, 6  # 500 tickers x 4 weeklies x 100 ms / 6 = 33 s of simulated requests
IDLE_PERIODS = 2  # timer periods every session stays on the finished scan
P95_TARGET, RSS_TARGET_MB, SLOWDOWN_TARGET = 1.0, 300, 10.0
STREAMLIT_OPTIONS = shlex.split(os.environ.get("BENCH_STREAMLIT_OPTIONS", ""))  # e.g. "--runner.postScriptGC true"


@dataclass
class Phase:
    """What the server and Redis did between two instants."""

    name: str
    wall: float = 0.0
    cpu_seconds: float = 0.0
    commands: int = 0  # every command Redis processed
    dashboard_commands: int = 0  # the dashboard's own (its connections' tot-cmds)
    peak_rss_mb: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def cpu_pct(self) -> float:
        return 100 * self.cpu_seconds / self.wall if self.wall else 0.0

    @property
    def commands_per_second(self) -> float:
        return self.commands / self.wall if self.wall else 0.0

    @property
    def dashboard_commands_per_second(self) -> float:
        return self.dashboard_commands / self.wall if self.wall else 0.0


class Meter:
    """Samples the server process (CPU, RSS) and Redis (commands processed) over a phase."""

    def __init__(self, server: psutil.Process, store: ScanStore) -> None:
        self.server, self.store = server, store

    def rss_mb(self) -> float:
        return self.server.memory_info().rss / 2**20

    def _cpu(self) -> float:
        times = self.server.cpu_times()
        return times.user + times.system

    def _commands(self) -> tuple[int, int]:
        """(every command Redis processed, the dashboard's): the tot-cmds of the connections it named after itself."""
        clients = self.store.client.client_list()
        total = int(self.store.client.info("stats")["total_commands_processed"])
        return total, sum(int(c["tot-cmds"]) for c in clients if c.get("name") == client_name(self.server.pid))

    async def measure(self, phase: Phase, work: asyncio.Future | asyncio.Task) -> None:
        """Run until ``work`` is done, sampling the server's RSS every half second."""
        started, cpu, commands = time.perf_counter(), self._cpu(), self._commands()
        while not work.done():
            phase.peak_rss_mb = max(phase.peak_rss_mb, self.rss_mb())
            await asyncio.wait([work], timeout=0.5)
        phase.peak_rss_mb = max(phase.peak_rss_mb, self.rss_mb())
        phase.wall = time.perf_counter() - started
        phase.cpu_seconds = self._cpu() - cpu
        total, dashboard = self._commands()
        phase.commands = total - commands[0] - 4  # less this meter's own calls
        phase.dashboard_commands = dashboard - commands[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], data_dir: Path) -> tuple[subprocess.Popen, str, Path]:
    """The dashboard on a free port, once it answers its health check; (process, URL, counts file). It runs as a
    desk would run it, in password mode ("Access control"): the viewers look, none is an admin."""
    port, counts, secrets_file = _free_port(), data_dir / "counts.json", data_dir / "secrets.toml"
    secrets_file.write_text(f'[admin]\npassword = "{secrets.token_urlsafe(16)}"\n')
    secrets_file.chmod(0o600)
    env = {"MALLOC_ARENA_MAX": "2", **env}  # as scripts/run.sh (make run) starts it
    log = open(data_dir / "streamlit.log", "w")  # noqa: SIM115 (the child keeps it)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "_viewer_server.py"), str(counts), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false", "--secrets.files", str(secrets_file), *STREAMLIT_OPTIONS],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return proc, url, counts
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("streamlit did not start: " + (data_dir / "streamlit.log").read_text())


def spawn_scan(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scanner", "scan"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


async def timed_scan(env: dict[str, str]) -> float:
    """Wall time of one scan of the stored watch-list, run by the command line."""
    started = time.perf_counter()
    proc = spawn_scan(env)
    while proc.poll() is None:
        await asyncio.sleep(0.1)
    if proc.returncode != 0:
        raise SystemExit(f"scan failed: {proc.stderr.read()}")
    return time.perf_counter() - started


class Viewers:
    """The sessions, each rerunning on its page's timer; a rerun's latency goes to the phase it started in."""

    def __init__(self, url: str) -> None:
        self.sessions = [ViewerSession(url) for _ in range(VIEWERS)]
        self.phase: Phase | None = None
        self.stop = asyncio.Event()
        self.failures: list[str] = []
        self.received_bytes = 0
        self.loaded_at: dict[int, float] = {}  # id(session) -> when its page was drawn: its timer's phase

    async def open(self, session: ViewerSession, delay: float) -> float:
        """Connect after ``delay`` (the tabs open at different moments) and load the page; its latency."""
        await asyncio.sleep(delay)
        await session.open()
        seconds = (await self._rerun(session, timer=False)).seconds
        self.loaded_at[id(session)] = time.perf_counter()
        return seconds

    async def _rerun(self, session: ViewerSession, *, timer: bool):  # noqa: ANN202
        rerun = await session.rerun(timer=timer)
        self.received_bytes += rerun.received_bytes
        if rerun.exceptions:
            self.failures.extend(rerun.exceptions)
        return rerun

    async def on_timer(self, session: ViewerSession) -> None:
        """Rerun whenever the page's timer fires (its interval counted from the previous firing), until stopped.

        The timer runs from the moment the page was drawn, as the component's does in a browser, so the sessions
        (opened over one refresh period) keep their own phases instead of all firing at once."""
        period, now = session.refresh_ms / 1000, time.perf_counter()
        due = now + (self.loaded_at[id(session)] - now) % period
        while not self.stop.is_set():
            await asyncio.wait([asyncio.ensure_future(self.stop.wait())], timeout=max(0.0, due - time.perf_counter()))
            if self.stop.is_set():
                return
            phase = self.phase
            try:
                rerun = await self._rerun(session, timer=True)
            except RerunFailed as exc:
                self.failures.append(str(exc))
                continue
            phase.latencies.append(rerun.seconds)
            due = max(due + session.refresh_ms / 1000, time.perf_counter())


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _latency_line(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name:<34} no rerun"
    return (f"  {name:<34} {len(values):>4} reruns  p50 {statistics.median(values) * 1000:6.0f} ms  "
            f"p95 {_quantile(values, 0.95) * 1000:6.0f} ms  max {max(values) * 1000:6.0f} ms")


def _per_rerun(phase: Phase) -> str:
    return f"{1000 * phase.cpu_seconds / len(phase.latencies):.0f} ms" if phase.latencies else "-"


def _phase_line(phase: Phase) -> str:
    return (f"  {phase.name:<34} {phase.wall:6.1f} s  server CPU {phase.cpu_pct:5.1f}% of a core  "
            f"peak RSS {phase.peak_rss_mb:5.0f} MB  Redis {phase.commands_per_second:5.0f} commands/s, "
            f"{phase.dashboard_commands_per_second:4.0f} from the dashboard")


async def run(env: dict[str, str], data_dir: Path, store: ScanStore) -> None:
    proc, url, counts_path = start_server(env, data_dir)
    try:
        meter = Meter(psutil.Process(proc.pid), store)
        await asyncio.sleep(2)
        rss_idle = meter.rss_mb()

        alone = Phase("scan, no viewer connected")
        alone_task = asyncio.create_task(timed_scan(env))
        await meter.measure(alone, alone_task)
        alone_wall = alone_task.result()

        viewers = Viewers(url)
        first = await viewers.open(viewers.sessions[0], 0)
        await asyncio.sleep(1)
        rss_one = meter.rss_mb()
        connecting = Phase(f"{VIEWERS - 1} more sessions open the page")
        opening = asyncio.gather(*(viewers.open(session, REFRESH_SECONDS * i / VIEWERS)
                                   for i, session in enumerate(viewers.sessions[1:], start=1)))
        await meter.measure(connecting, opening)
        connecting.latencies = [first, *opening.result()]
        await asyncio.sleep(1)
        rss_all = meter.rss_mb()
        counts_before = json.loads(counts_path.read_text())

        running = Phase(f"scan running, {VIEWERS} viewers")
        viewers.phase = running
        timers = [asyncio.create_task(viewers.on_timer(session)) for session in viewers.sessions]
        scan_task = asyncio.create_task(timed_scan(env))
        await meter.measure(running, scan_task)
        loaded_wall = scan_task.result()

        idle = Phase(f"idle on the finished scan, {VIEWERS} viewers")
        viewers.phase = idle
        await meter.measure(idle, asyncio.create_task(asyncio.sleep(IDLE_PERIODS * REFRESH_SECONDS)))
        viewers.stop.set()
        await asyncio.gather(*timers)
        await asyncio.sleep(1)
        counts = json.loads(counts_path.read_text())
        for session in viewers.sessions:
            await session.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    report(rss_idle, rss_one, rss_all, alone_wall, loaded_wall, [alone, connecting, running, idle], counts_before,
           counts, viewers)


def _count_lines(before: dict, after: dict) -> list[str]:
    """The shared work while the scan ran with viewers and after, against what the viewers asked for."""
    def delta(section: str, label: str) -> int:
        return after[section].get(label, 0) - before[section].get(label, 0)

    return [
        f"  decodes of a scan's rows (ScanStore.results): {delta('calls', 'decode')} for "
        f"{delta('distinct', 'load_results')} distinct versions asked by {delta('calls', 'load_results')} lookups "
        f"({delta('cpu_seconds', 'decode'):.1f} s CPU)",
        f"  views built (filters, groups, summary, near misses): {delta('calls', 'build_view')} for "
        f"{delta('distinct', 'view')} distinct (version, filters) asked by {delta('calls', 'view')} lookups "
        f"({delta('cpu_seconds', 'build_view'):.1f} s CPU)",
        f"  per rerun of each session, in st.dataframe: {delta('calls', 'arrow_convert')} DataFrame-to-Arrow "
        f"conversions ({delta('cpu_seconds', 'arrow_convert'):.1f} s CPU), {delta('calls', 'arrow_copy')} copies of "
        f"an Arrow table's bytes ({delta('cpu_seconds', 'arrow_copy'):.1f} s CPU)",
    ]


def report(rss_idle: float, rss_one: float, rss_all: float, alone: float, loaded: float, phases: list[Phase],
           before: dict, after: dict, viewers: Viewers) -> None:
    running, idle = phases[2], phases[3]
    per_session = (rss_all - rss_one) / (VIEWERS - 1) if VIEWERS > 1 else float("nan")
    every = running.latencies + idle.latencies
    slowdown = 100 * (loaded / alone - 1)
    print(f"{VIEWERS} viewers on one streamlit run server, a {TICKERS}-ticker demo scan ({DEMO_DELAY_MS} ms a "
          f"request, concurrency {CONCURRENCY}), autorefresh every {REFRESH_SECONDS} s running and idle")
    if STREAMLIT_OPTIONS:
        print(f"streamlit options besides .streamlit/config.toml: {' '.join(STREAMLIT_OPTIONS)}")
    print(f"load average (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"server RSS: {rss_idle:.0f} MB idle (no session), {rss_one:.0f} MB with one session on the finished scan, "
          f"{rss_all:.0f} MB with {VIEWERS} ({per_session:.2f} MB per extra session); peak "
          f"{max(p.peak_rss_mb for p in phases):.0f} MB   target <= {RSS_TARGET_MB} MB")
    print(f"scan: {alone:.1f} s with no viewer, {loaded:.1f} s with {VIEWERS} viewers -> slowdown {slowdown:+.1f}%   "
          f"target < {SLOWDOWN_TARGET:.0f}%")
    print("rerun latency (request sent to script_finished):")
    print(_latency_line("first load of the page", phases[1].latencies))
    print(_latency_line("timer reruns while the scan runs", running.latencies))
    print(_latency_line("timer reruns idle on the finished scan", idle.latencies))
    print(f"  p95 over all timer reruns {_quantile(every, 0.95) * 1000:.0f} ms   target <= {P95_TARGET * 1000:.0f} ms; "
          f"server CPU per rerun {_per_rerun(running)} running, {_per_rerun(idle)} idle")
    print("phases (server CPU from /proc; Redis: INFO stats total_commands_processed, and CLIENT LIST tot-cmds of "
          "the dashboard's connections):")
    for phase in phases:
        print(_phase_line(phase))
    print("shared work while the scan ran with viewers and idle after it:")
    for line in _count_lines(before, after):
        print(line)
    print(f"received by all viewers: {viewers.received_bytes / 2**20:.0f} MB; page errors: "
          f"{len(viewers.failures)}{' (' + viewers.failures[0] + ')' if viewers.failures else ''}")


def main() -> None:
    with embedded_server() as (data_dir, _):
        env = {**os.environ, "SCANNER_DATA_DIR": str(data_dir), "SCANNER_PROVIDER": "demo", "SCANNER_PREFIX": "viewers",
               "SCANNER_DEMO_DELAY_MS": str(DEMO_DELAY_MS), "SCANNER_CONCURRENCY": str(CONCURRENCY),
               "SCANNER_POLL_SECONDS": str(REFRESH_SECONDS), "SCANNER_IDLE_POLL_SECONDS": str(REFRESH_SECONDS),
               "SCANNER_LOCK_TTL": "60"}
        for name in ("REDIS_URL", "MD_API_KEY", "SCANNER_ENFORCE_MARKET_HOURS", "SCANNER_NOW"):
            env.pop(name, None)
        store = open_store(Settings.from_env(env))
        store.watchlist.import_csv("\n".join(symbols(TICKERS)), replace=True)
        asyncio.run(run(env, data_dir, store))


if __name__ == "__main__":
    main()
