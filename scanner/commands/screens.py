"""``python -m scanner screens list|save|show|rename|delete``: saved screens (named filter states), the same records
as the sidebar's. ``--user EMAIL`` names whose (with login, each user's are their own; without, they are shared)."""

from __future__ import annotations

import argparse
import json

from scanner.config import Settings
from scanner.errors import ExitCode
from scanner.results.filters import Filters
from scanner.results.screens import screen_link, screen_query
from scanner.store.scans import ScanStore
from scanner.store.screens import Screen, ScreensRecord

NAME = "screens"


def add_owner_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", default="", metavar="EMAIL", help="whose (with login); default: the shared ones")


def add_parser(commands: argparse._SubParsersAction) -> None:
    actions = commands.add_parser(NAME, help="saved screens (named filtered views)").add_subparsers(
        dest="action", required=True)
    listed = actions.add_parser("list", help="every saved screen")
    listed.add_argument("--json", action="store_true")
    save = actions.add_parser("save", help="save a view under a name, e.g. --query 'min_ann=40&side=put'")
    save.add_argument("name")
    save.add_argument("--query", required=True, help="the page's URL parameters")
    actions.add_parser("show", help="one screen's whole filter state").add_argument("name")
    rename = actions.add_parser("rename", help="give a screen another name")
    rename.add_argument("name")
    rename.add_argument("new_name")
    actions.add_parser("delete", help="delete a screen (and its alert channels)").add_argument("name")
    for parser in actions.choices.values():
        add_owner_argument(parser)


def describe(screen: Screen) -> dict:
    """A screen as printed and exported: never a channel's URL, only its masked form."""
    return {"name": screen.name, "query": screen.query,
            "channels": [{"id": c.channel_id, "url": c.masked} for c in screen.channels]}


def run(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    record = ScreensRecord(store.client, store.keys, args.user)
    if args.action == "save":
        latest = store.get(store.latest_id())
        defaults = Filters.for_criteria(latest.criteria if latest else store.criteria.load().to_dict())
        screen = record.save(args.name, screen_query(args.query, defaults))
        print(f"saved screen {screen.name!r}")
    elif args.action == "rename":
        print(f"renamed to {record.rename(args.name, args.new_name).name!r}")
    elif args.action == "delete":
        record.delete(args.name)
        print(f"deleted screen {args.name!r}")
    elif args.action == "show":
        screen = record.get(args.name)
        print(json.dumps({**describe(screen), "link": screen_link(settings.public_url, screen)}, indent=2))
    else:
        screens = record.list()
        if args.json:
            print(json.dumps([describe(s) for s in screens], indent=2))
        for screen in screens if not args.json else ():
            print(f"{screen.name:<30} {len(screen.channels)} channel(s)  "
                  + "&".join(f"{k}={v}" for k, v in screen.query.items() if v))
        if not screens and not args.json:
            print("no saved screens")
    return ExitCode.OK
