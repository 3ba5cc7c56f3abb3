"""``python -m scanner scheduler``: the long-lived process that runs the schedule's slots (one per replica is fine:
each slot is claimed once in Redis). SIGTERM/SIGINT stop it; a scan it is running records "cancelled"."""

from __future__ import annotations

import argparse
import signal
import threading

from scanner.config import Settings
from scanner.errors import ExitCode
from scanner.scan.scheduler import Scheduler
from scanner.store.scans import ScanStore

NAME = "scheduler"


def add_parser(commands: argparse._SubParsersAction) -> None:
    commands.add_parser(NAME, help="run scheduled scans until stopped (see `schedule`)")


def run(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    Scheduler(settings, store).run_forever(stop)
    return ExitCode.OK
