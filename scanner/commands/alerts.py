"""``python -m scanner alerts add|list|remove|test|history``: a saved screen's alert channels (Apprise URLs) and
what was sent. URLs are only ever printed in Apprise's privacy form; ``--user EMAIL`` names whose screens."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from scanner import clock
from scanner.commands.screens import add_owner_argument
from scanner.config import Settings
from scanner.errors import ExitCode
from scanner.scan.alerts import Alerter, AlertLog, Delivery
from scanner.store.scans import ScanStore
from scanner.store.screens import ScreensRecord

NAME = "alerts"


def add_parser(commands: argparse._SubParsersAction) -> None:
    actions = commands.add_parser(NAME, help="alert channels of saved screens (Apprise URLs)").add_subparsers(
        dest="action", required=True)
    add = actions.add_parser("add", help="send a screen's new matches to an Apprise URL (mailto://, json://, slack://)")
    add.add_argument("screen")
    add.add_argument("url", metavar="APPRISE_URL")
    actions.add_parser("list", help="every channel, masked, with its id").add_argument("--json", action="store_true")
    actions.add_parser("remove", help="remove a channel by its id").add_argument("channel_id", metavar="ID")
    actions.add_parser("test", help="send a test alert to a screen's channels").add_argument("screen")
    actions.add_parser("history", help="what was sent where, when, with what result").add_argument(
        "--json", action="store_true")
    for parser in actions.choices.values():
        add_owner_argument(parser)


def run(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    record = ScreensRecord(store.client, store.keys, args.user)
    if args.action == "add":
        channel = record.add_channel(args.screen, args.url)
        print(f"added channel {channel.channel_id} to {args.screen!r}: {channel.masked}")
    elif args.action == "remove":
        print(f"removed channel {args.channel_id} from {record.remove_channel(args.channel_id).name!r}")
    elif args.action == "test":
        sent = Alerter(settings, store).test(record.owner, args.screen)
        for entry in sent:
            print(f"{entry.channel_id} {entry.result} after {entry.attempts} attempt(s): {entry.channel}")
        if not sent:
            print(f"screen {args.screen!r} has no alert channels: add one with `alerts add`")
        return ExitCode.OK if all(e.result == Delivery.SENT for e in sent) else ExitCode.FAILED
    elif args.action == "history":
        entries = AlertLog(store.client, store.keys).recent(100, owner=record.owner)
        if args.json:
            print(json.dumps([{**asdict(e), "at_et": clock.fmt_ny(e.at)} for e in entries], indent=2))
            return ExitCode.OK
        for e in entries:
            print(f"{clock.fmt_ny(e.at)}  {e.screen:<20} {e.result:<6} {'test ' if e.test else ''}{e.contracts} "
                  f"contract(s) to {e.channel_id} ({e.attempts} attempt(s)) {e.symbols}")
        if not entries:
            print("no alerts sent yet")
    else:
        channels = [{"id": c.channel_id, "screen": s.name, "url": c.masked} for s in record.list() for c in s.channels]
        if args.json:
            print(json.dumps(channels, indent=2))
        for channel in channels if not args.json else ():
            print(f"{channel['id']}  {channel['screen']:<20} {channel['url']}")
        if not channels and not args.json:
            print("no alert channels")
    return ExitCode.OK
