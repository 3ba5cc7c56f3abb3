"""``python -m scanner schedule show|set|clear``: the stored scan schedule (what the criteria page edits too)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from scanner import clock
from scanner.config import Settings
from scanner.errors import ExitCode
from scanner.scan.schedule import Schedule
from scanner.scan.scheduler import next_scheduled
from scanner.store.scans import ScanStore
from scanner.store.schedule import ScheduleRecord

NAME = "schedule"


def add_parser(commands: argparse._SubParsersAction) -> None:
    actions = commands.add_parser(NAME, help="when scans run by themselves (`scheduler` runs them)").add_subparsers(
        dest="action", required=True)
    show = actions.add_parser("show", help="the schedule, its next slot and the latest slots' outcomes")
    show.add_argument("--json", action="store_true")
    edit = actions.add_parser("set", help="a cron expression in US Eastern time, e.g. '35 9-15 * * 1-5', or --every N")
    edit.add_argument("cron", nargs="?", help="five fields: minute hour day month weekday (ET); slots outside NYSE "
                      "sessions are skipped")
    edit.add_argument("--every", type=int, metavar="MINUTES", help="every N minutes during market hours, from the open")
    actions.add_parser("clear", help="no scheduled scans")


def run(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    record = ScheduleRecord(store.client, store.keys)
    if args.action == "set":
        record.save(Schedule.parse(cron=args.cron, every_minutes=args.every))
    elif args.action == "clear":
        print("schedule cleared" if record.clear() else "no schedule was set")
        return ExitCode.OK
    schedule, line = next_scheduled(store)
    recent = record.recent()
    if getattr(args, "json", False):
        upcoming = schedule.next_slot(clock.to_ny(clock.now())) if schedule else None
        print(json.dumps({"schedule": json.loads(schedule.to_json()) if schedule else None,
                          "next_slot": upcoming.isoformat() if upcoming else None,
                          "recent": [asdict(entry) for entry in recent]}, indent=2))
        return ExitCode.OK
    print(line)
    for entry in recent[:10]:
        print(f"{entry.slot}  {entry.outcome:<8} {entry.scan_id or entry.message}  ({entry.scheduler})")
    return ExitCode.OK

