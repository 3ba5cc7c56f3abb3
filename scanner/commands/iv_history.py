"""``python -m scanner iv-history``: backfill a source's IV30 history, or show a ticker's stored points."""

from __future__ import annotations

import argparse
import json
import math
import sys

from scanner.config import Settings
from scanner.errors import ExitCode, ScanRefused
from scanner.providers.registry import NAMES, get_provider
from scanner.scan import iv_backfill
from scanner.scan.watchlist import parse_symbols
from scanner.store.iv_history import IvHistory, IvPoint
from scanner.store.scans import ScanStore

NAME = "iv-history"


def add_parser(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser(NAME, help="the IV30 history behind the IV rank: backfill it, show a ticker's")
    actions = group.add_subparsers(dest="action", required=True)
    backfill = actions.add_parser("backfill", help="fill past sessions from the source (demo, marketdata, snapshot)")
    backfill.add_argument("--days", type=int, default=252, help="sessions before today to fill (default 252)")
    backfill.add_argument("--tickers", help="comma-separated symbols (default: the watch-list)")
    backfill.add_argument("--provider", choices=NAMES, help="the source (default: SCANNER_PROVIDER)")
    backfill.add_argument("--yes", action="store_true", help="spend a metered source's credits without asking")
    show = actions.add_parser("show", help="a ticker's stored points, oldest first")
    show.add_argument("ticker")
    show.add_argument("--provider", choices=NAMES, help="the source whose history (default: every one holding it)")
    show.add_argument("--json", action="store_true")


def run(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    return _backfill(settings, store, args) if args.action == "backfill" else _show(store, args)


def _backfill(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    if not 1 <= args.days <= 400:
        raise ScanRefused(f"--days {args.days}: choose 1 to 400 sessions (the history keeps 400 days)")
    try:
        tickers = parse_symbols(args.tickers) if args.tickers is not None else store.watchlist.tickers()
    except ValueError as exc:
        raise ScanRefused(str(exc)) from None
    if not tickers:
        raise ScanRefused("no tickers: the watch-list is empty and --tickers was not given")
    provider = get_provider(args.provider or settings.provider, settings)
    plan = iv_backfill.plan(provider, store.criteria.load(), tickers, args.days)
    if plan.requests and not args.yes:
        print(f"backfilling asks {plan.cost_words()}; run again with --yes to spend them", file=sys.stderr)
        return ExitCode.BAD_INPUT
    print(f"backfilling {len(tickers)} tickers over {len(plan.sessions)} sessions ({plan.sessions[0]} to "
          f"{plan.sessions[-1]}) from {provider.name}", file=sys.stderr)
    written = iv_backfill.backfill(settings, store, provider, plan,
                                   on_ticker=lambda ticker, points: print(f"{ticker}: {points} sessions",
                                                                          file=sys.stderr))
    print(f"iv-history backfill: {written:,} points written for {len(tickers)} tickers ({provider.name})")
    return ExitCode.OK


def _number(value: float) -> float | None:
    return round(value, 6) if math.isfinite(value) else None


def _show(store: ScanStore, args: argparse.Namespace) -> int:
    try:
        ticker = parse_symbols(args.ticker)[0]
    except (ValueError, IndexError):
        raise ScanRefused(f"{args.ticker!r} is not a ticker symbol") from None
    history = IvHistory(store.client, store.keys)
    sources = [args.provider] if args.provider else history.sources_of(ticker)
    stored: dict[str, list[IvPoint]] = {source: history.points(source, ticker) for source in sources}
    if args.json:
        print(json.dumps({source: [{"session": point.session.isoformat(), "iv30": _number(point.iv30),
                                    "hv20": _number(point.hv20)} for point in points]
                          for source, points in stored.items()}, indent=2))
        return ExitCode.OK
    if not any(stored.values()):
        print(f"no IV history of {ticker} yet: a scan records one point per session "
              "(or run `iv-history backfill`)")
    for source, points in stored.items():
        print(f"{ticker} from {source}: {len(points)} sessions")
        for point in points:
            hv = "—" if math.isnan(point.hv20) else f"{point.hv20:.2%}"
            print(f"  {point.session}  IV30 {point.iv30:.2%}  HV20 {hv}")
    return ExitCode.OK
