"""``python -m scanner``: the same engine, store and lock as the page (DESIGN "Command line").

Exit codes: 0 done, 1 failed, 2 bad input or config, 3 a scan holds the lock, 4 market closed, 5 cancelled.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
from dataclasses import asdict
from datetime import date
from pathlib import Path

from scanner import clock
from scanner.commands import GROUPS
from scanner.commands.files import read_input, write_output
from scanner.commands.positions import add_user_argument
from scanner.config import Settings
from scanner.errors import REDIS_DOWN, REDIS_ERRORS, ExitCode, InvalidSymbols, ScannerError, ScanRefused
from scanner.providers import registry
from scanner.results.export import FORMATS, ExportFormat, default_path, export_frame, to_bytes
from scanner.scan.control import cancel_scan, release_lock
from scanner.scan.criteria import WEEKS_OR_WINDOW, format_delta_table, parse_assignments
from scanner.scan.engine import ScanRequest, begin_scan, in_words, run_scan
from scanner.scan.launcher import TOKEN_ENV
from scanner.scan.watchlist import parse_symbols
from scanner.store import connection
from scanner.store.scans import ScanMeta, ScanStatus, ScanStore, ScanTrigger, open_store

_EXIT_BY_STATUS = {ScanStatus.COMPLETED: ExitCode.OK, ScanStatus.CANCELLED: ExitCode.CANCELLED}
STOP_COMMAND = "python -m scanner server stop"


class _Parser(argparse.ArgumentParser):
    """Bad arguments get one line and exit 2 (``--help`` still shows the usage)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitCode.BAD_INPUT, f"error: {self.prog}: {message}\n")


class _WeeksOrWindow(argparse.Action):
    """--weeks and --min-dte/--max-dte choose expirations two ways: given together, refused while parsing (exit 2)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        others = ("min_dte", "max_dte") if self.dest == "weeks" else ("weeks",)
        if any(getattr(namespace, name, None) is not None for name in others):
            parser.error(WEEKS_OR_WINDOW)
        setattr(namespace, self.dest, values)


def _symbols(text: str) -> list[str]:
    """Checked while parsing, so bad symbols are refused before anything connects or writes."""
    try:
        return parse_symbols(text)
    except InvalidSymbols as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m scanner", description="Options scanner for the wheel.")
    commands = parser.add_subparsers(dest="command", required=True)

    scan = commands.add_parser("scan", help="run one whole scan in the foreground")
    scan.add_argument("--provider", choices=registry.NAMES)
    scan.add_argument("--tickers", type=_symbols,
                      help="symbols separated by commas, spaces or semicolons (default: the stored watch-list)")
    scan.add_argument("--side", choices=("put", "call", "both"))
    scan.add_argument("--weeks", type=int, action=_WeeksOrWindow,
                      help="weekly expirations ahead (1-52); not with --min-dte/--max-dte")
    scan.add_argument("--min-dte", type=int, action=_WeeksOrWindow,
                      help="every listed expiration at least this many days out (0-730)")
    scan.add_argument("--max-dte", type=int, action=_WeeksOrWindow,
                      help="every listed expiration at most this many days out (0-730)")
    scan.add_argument("--as-of", type=date.fromisoformat, help="quote date DTE counts from (YYYY-MM-DD)")
    scan.add_argument("--ignore-market-hours", action="store_true")
    add_user_argument(scan)

    run = commands.add_parser("run", help=argparse.SUPPRESS)
    run.add_argument("--scan-id", required=True)

    for name, text in (("status", "the lock and the current scan"), ("history", "recent scans")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--json", action="store_true")
    commands.choices["history"].add_argument("--limit", type=int, default=30)

    export = commands.add_parser("export", help="write a completed scan's rows")
    export.add_argument("--scan", default="latest", help="latest or a scan id")
    export.add_argument("--format", choices=FORMATS, default=ExportFormat.CSV.value)
    export.add_argument("--all", action="store_true", help="every screened contract, not only the matches")
    export.add_argument("--output", help="file path, or - for standard output (default: a named file in ./exports/)")

    commands.add_parser("cancel", help="ask the running scan to stop once the tickers already being fetched are in")
    release = commands.add_parser("release-lock", help="free the lock of a scan whose process died")
    release.add_argument("--force", action="store_true", help="even while the holder's heartbeat is fresh")

    watchlist = commands.add_parser("watchlist", help="the stored watch-list").add_subparsers(dest="action",
                                                                                                 required=True)
    listed = watchlist.add_parser("list", help="every symbol and whether it is active")
    listed.add_argument("--json", action="store_true")
    for name, text in (("add", "add symbols (active)"), ("remove", "remove symbols"),
                       ("activate", "scan these symbols again"), ("deactivate", "keep listed, do not scan")):
        edit = watchlist.add_parser(name, help=text)
        edit.add_argument("symbols", nargs="+", help="symbols, or comma-separated lists")
    imported = watchlist.add_parser("import", help="rows symbol[,active] from a CSV file (- for standard input)")
    imported.add_argument("path")
    imported.add_argument("--replace", action="store_true", help="replace the list instead of merging into it")
    watchlist.add_parser("export", help="the list as CSV").add_argument("--output", default="-", help="file path or -")

    criteria = commands.add_parser("criteria", help="the stored screening criteria").add_subparsers(dest="action",
                                                                                                    required=True)
    criteria.add_parser("show", help="the criteria scans use").add_argument("--json", action="store_true")
    criteria.add_parser("set", help="change some, e.g. side=both min_dte=30 max_dte=45 min_open_interest=100 "
                        "call_delta_table=7:0.2,14:0.24 (NAME=off turns an optional one off)").add_argument(
        "assignments", nargs="+", metavar="NAME=VALUE")
    criteria.add_parser("reset", help="back to the defaults")

    server = commands.add_parser("server", help="the embedded Redis server (when REDIS_URL is unset)")
    server.add_argument("action", choices=("start", "stop", "status"))
    for group in GROUPS:
        group.add_parser(commands)
    return parser


class EasternFormatter(logging.Formatter):
    """Log times in US Eastern time with the zone named ("2025-03-14 09:31:05.120 EDT"), as the pages show
    times: the monitor prints a scan's log beside ET times, and the process's own zone (UTC in a container)
    would read hours off."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's name)
        moment = clock.to_ny(record.created)
        return f"{moment:%Y-%m-%d %H:%M:%S}.{int(record.msecs):03d} {moment:%Z}"


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _configure_logging(command: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(EasternFormatter(LOG_FORMAT))
    logging.basicConfig(level=logging.INFO if command in ("run", "scheduler") else logging.WARNING, handlers=[handler])


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging(args.command)
    try:
        settings = Settings.from_env()
        if args.command == "server":
            return _server(settings, args.action)
        starts_server = not settings.redis_url and not connection.is_running(settings.data_dir)
        store = open_store(settings)
        try:
            return _COMMANDS[args.command](settings, store, args)
        finally:
            if starts_server:
                _stop_server_started_here(settings, store)
    except ScannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except REDIS_ERRORS as exc:  # met mid-command (connecting raises a RedisFailure): one line, never a traceback
        failure = connection.redis_failure(exc, settings)
        print(f"error: {failure}", file=sys.stderr)
        return failure.exit_code
    except BrokenPipeError:  # `history --json | head` closed the pipe: the reader has what it wanted
        _silence_stdout()
        return ExitCode.BROKEN_PIPE


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise (and print) the same error."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _stop_server_started_here(settings: Settings, store: ScanStore) -> None:
    """A command that started the embedded server stops it as it ends (saving), so ``history`` leaves nothing
    running, unless a scan holds the lock or another process is connected (the dashboard, a scan, another
    command: ``connection.other_clients``); then it says so and how to stop it later."""
    try:
        if store.lock().held:
            reason = "a scan holds the lock"
        elif others := connection.other_clients(settings.data_dir):
            reason = f"{in_words(others, 'other client')} connected"
        else:
            connection.stop_embedded(settings.data_dir)
            return
    except (*REDIS_DOWN, OSError):
        return  # gone already, or going: nothing to stop
    print(f"note: the embedded Redis server this command started stays up ({reason}); stop it later with "
          f"`{STOP_COMMAND}`", file=sys.stderr)



def _stop_on_signals() -> threading.Event:
    """SIGTERM/SIGINT end the scan cleanly: it records "cancelled" and releases the lock itself."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _progress_printer(stream=sys.stderr):
    if not stream.isatty():
        return None

    def show(meta: ScanMeta) -> None:
        filled = int(meta.pct / 100 * 30)
        stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {meta.pct:5.1f}% "
                     f"{meta.tickers_done}/{meta.tickers_total} {meta.current_ticker:<8} "
                     f"matches {meta.matches} errors {meta.errors}")
        stream.flush()

    return show


def _finish_line(meta: ScanMeta) -> int:
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print(f"scan {meta.scan_id} {meta.status}: {meta.message}")
    return _EXIT_BY_STATUS.get(meta.status, ExitCode.FAILED)


def _scan(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    request = ScanRequest(tickers=args.tickers, provider=args.provider, side=args.side, weeks=args.weeks,
                          min_dte=args.min_dte, max_dte=args.max_dte, ignore_market_hours=args.ignore_market_hours,
                          as_of=args.as_of, trigger=ScanTrigger.CLI, book_user=args.user)
    started = begin_scan(settings, store, request)
    meta = run_scan(settings, store, started.scan_id, started.token, on_progress=_progress_printer(),
                    stop=_stop_on_signals())
    return _finish_line(meta)


def _run(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    """The page's scan subprocess: the token comes in the environment, not on the command line."""
    token = os.environ.pop(TOKEN_ENV, "")
    if not token:
        print(f"error: {TOKEN_ENV} is not set", file=sys.stderr)
        return ExitCode.BAD_INPUT
    meta = run_scan(settings, store, args.scan_id, token, stop=_stop_on_signals())
    return _finish_line(meta)


def _meta_dict(meta: ScanMeta | None) -> dict | None:
    if meta is None:
        return None
    data = asdict(meta)
    data.update(as_of=meta.as_of.isoformat() if meta.as_of else None, started_et=clock.fmt_ny(meta.started_at),
                finished_et=clock.fmt_ny(meta.finished_at))
    return data


def _status(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    snap = store.overview()
    if args.json:
        print(json.dumps({"lock": asdict(snap.lock), "current": _meta_dict(snap.current),
                          "latest": _meta_dict(snap.latest)}, indent=2))
        return ExitCode.OK
    lock = f"held ({snap.lock.ttl_seconds or 0:.0f} s left)" if snap.lock.held else "free"
    print(f"lock: {lock}")
    for label, meta in (("current", snap.current), ("latest completed", snap.latest)):
        if meta:
            print(f"{label}: {meta.scan_id} {meta.status} {meta.pct:.1f}% ({meta.tickers_done}/"
                  f"{in_words(meta.tickers_total, 'ticker')}, {in_words(meta.matches, 'match')}, "
                  f"{in_words(meta.errors, 'error')}) started {clock.fmt_ny(meta.started_at)}"
                  f"{' — ' + meta.message if meta.message else ''}")
        else:
            print(f"{label}: none")
    return ExitCode.OK


def _history(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    scans = store.history(args.limit)
    if args.json:
        print(json.dumps([_meta_dict(m) for m in scans], indent=2))
        return ExitCode.OK
    for meta in scans:
        print(f"{meta.scan_id}  {clock.fmt_ny(meta.started_at)}  {meta.status:<9} {meta.provider:<8}"
              f" {meta.side:<4} {meta.tickers_done}/{in_words(meta.tickers_total, 'ticker')}"
              f"  {in_words(meta.contracts, 'contract')}  {in_words(meta.matches, 'match')}"
              f"  {in_words(meta.errors, 'error')}  {clock.fmt_duration(meta.elapsed)}")
    if not scans:
        print("no scans yet")
    return ExitCode.OK


def _export(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    scan_id = store.resolve(args.scan)
    meta = store.get(scan_id)
    if meta is None:
        raise ScanRefused(f"no scan {args.scan!r}")
    if meta.status != ScanStatus.COMPLETED:
        raise ScanRefused(f"scan {meta.scan_id} is {meta.status}; only completed scans are exported")
    results = store.results(meta.scan_id)
    payload = to_bytes(export_frame(results.frame, matches_only=not args.all), args.format)
    if args.output == "-":
        sys.stdout.buffer.write(payload)
        sys.stdout.flush()
    else:
        path = Path(args.output) if args.output else default_path(meta, args.all, args.format)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        print(f"wrote {path}", file=sys.stderr)
    return ExitCode.OK


def _cancel(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    print(cancel_scan(store))
    return ExitCode.OK


def _release_lock(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    by = f"cli release-lock{' --force' if args.force else ''} on {socket.gethostname()}"
    print(release_lock(settings, store, force=args.force, by=by))
    return ExitCode.OK


def _watchlist(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    symbols = " ".join(getattr(args, "symbols", ()))
    if args.action == "add":
        outcome = store.watchlist.add(symbols)
        print(f"added {', '.join(outcome.added) or 'nothing'}"
              + (f"; already listed (now active): {', '.join(outcome.already)}" if outcome.already else ""))
    elif args.action in ("remove", "activate", "deactivate"):
        entries = store.watchlist.edit(**{args.action: symbols})
        print(f"{args.action}: done; {sum(e.active for e in entries)} of {in_words(len(entries), 'symbol')} active")
    elif args.action == "import":
        data = read_input(args.path)
        entries = store.watchlist.import_csv(data, replace=args.replace)
        active = sum(e.active for e in entries)
        print(f"imported; the watch-list has {in_words(len(entries), 'symbol')}, {active} active")
    elif args.action == "export":
        write_output(store.watchlist.export_csv(), args.output)
    else:
        entries = store.watchlist.entries()
        if args.json:
            print(json.dumps([e.to_dict() for e in entries], indent=2))
        for entry in entries if not args.json else ():
            print(f"{entry.symbol:<10} {'active' if entry.active else 'inactive'}")
    return ExitCode.OK


def _criteria(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    if args.action == "set":
        criteria = store.criteria.save(parse_assignments(args.assignments))
    elif args.action == "reset":
        criteria = store.criteria.reset()
    else:
        criteria = store.criteria.load()
    if getattr(args, "json", False):
        print(json.dumps(criteria.to_dict(), indent=2))
        return ExitCode.OK
    for name, value in criteria.to_dict().items():
        shown = format_delta_table(criteria) if name == "call_delta_table" else "off" if value is None else value
        print(f"{name:<20} {shown}")
    return ExitCode.OK


def _server(settings: Settings, action: str) -> int:
    if settings.redis_url:
        print(f"REDIS_URL is set ({connection.mask_url(settings.redis_url)}); there is no embedded server to {action}")
        return ExitCode.BAD_INPUT
    if action == "start":
        print(f"embedded Redis at {connection.start_embedded(settings.data_dir)}")
    elif action == "stop":
        if connection.is_running(settings.data_dir) and open_store(settings).lock().held:
            print(f"a scan holds the lock; the embedded Redis server stays up: stop it with `{STOP_COMMAND}` "
                  "once the scan ends")
            return ExitCode.LOCKED
        stopped = connection.stop_embedded(settings.data_dir)
        print("embedded Redis stopped" if stopped else "embedded Redis was not running")
    else:
        pid = connection.embedded_pid(settings.data_dir)
        print(f"embedded Redis {'running' if connection.is_running(settings.data_dir) else 'stopped'}"
              f" (pid {pid}, {connection.embedded_url(settings.data_dir)})")
    return ExitCode.OK


_COMMANDS = {
    "scan": _scan, "run": _run, "status": _status, "history": _history, "export": _export,
    "cancel": _cancel, "release-lock": _release_lock, "watchlist": _watchlist, "criteria": _criteria,
    **{group.NAME: group.run for group in GROUPS},
}
