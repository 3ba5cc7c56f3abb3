"""``python -m scanner rolls``: each open short option of a book against the last completed scan, with its rolls."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import pandas as pd

from scanner.commands.positions import add_user_argument
from scanner.config import Settings
from scanner.errors import ExitCode
from scanner.scan.positions import table_column
from scanner.scan.rolls import OpenStatus, latest_rows, open_statuses, today
from scanner.store.positions import PositionsRecord
from scanner.store.scans import ScanStore

NAME = "rolls"
SHOWN = 5  # candidates per open option in the text form (--json gives them all)
TABLE = ("option_symbol", "expiration", "strike", "bid", "net_credit", "annualized_net_credit_pct", "days_added")
MISSING = "—"


def add_parser(commands: argparse._SubParsersAction) -> None:
    rolls = commands.add_parser(NAME, help="roll candidates of the open short options, from the last completed scan")
    add_user_argument(rolls)
    rolls.add_argument("--json", action="store_true")


def _number(value: Any) -> float | None:
    number = float(value) if value is not None else math.nan
    return round(number, 4) if math.isfinite(number) else None


def status_dict(status: OpenStatus) -> dict[str, Any]:
    candidates = status.candidates.assign(expiration=status.candidates["expiration"].astype(str))
    return {**status.option.to_dict(), "ticker": status.contract.ticker, "side": str(status.contract.side),
            "expiration": status.contract.expiration.isoformat(), "strike": status.contract.strike,
            "bid": status.bid, "ask": status.ask, "underlying": status.underlying, "expired": status.expired,
            "tested": status.tested,
            "candidates": [{name: value if isinstance(value, str) else _number(value) for name, value in row.items()}
                           for row in candidates.to_dict("records")]}


def status_line(status: OpenStatus) -> str:
    """One open option in words: its quote, the stock, and whether it is tested or expired."""
    flag = ("EXPIRED: record it as expired worthless (positions remove) or assigned (positions assigned)"
            if status.expired else "TESTED" if status.tested else "")
    return f"{status.headline}{'  ' + flag if flag else ''}"


def _cell(name: str, value: Any) -> str:
    """A candidate's value as the table shows it ("—" when missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return MISSING
    formats = {"expiration": "{:%Y-%m-%d}", "strike": "{:.2f}", "bid": "{:.2f}", "net_credit": "{:+.2f}",
               "annualized_net_credit_pct": "{:.2f}%", "days_added": "{:d}"}
    return formats.get(name, "{}").format(value)


def candidate_lines(candidates: pd.DataFrame) -> list[str]:
    """Roll candidates as an aligned table under the page's labels (``table_column``), numbers right-aligned."""
    texts = [[table_column(name).label for name in TABLE]]
    texts += [[_cell(name, row[name]) for name in TABLE] for row in candidates[list(TABLE)].to_dict("records")]
    widths = [max(len(line[i]) for line in texts) for i in range(len(TABLE))]
    return ["  " + "  ".join(text.ljust(width) if i < 2 else text.rjust(width)
                             for i, (text, width) in enumerate(zip(line, widths, strict=True))).rstrip()
            for line in texts]


def run(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    book = PositionsRecord(store.client, store.keys, args.user).load()
    meta, rows = latest_rows(store)
    statuses = open_statuses(book, rows, today(settings), settings.roll_alert_pct)
    if args.json:
        print(json.dumps({"scan": meta.scan_id if meta else None, "open": [status_dict(s) for s in statuses]},
                         indent=2))
        return ExitCode.OK
    if not book.options:
        print("no open short options in this book")
    elif meta is None:
        print("no completed scan yet: run one to quote the open options")
    for status in statuses:
        print(status_line(status))
        if len(status.candidates):
            print("\n".join(candidate_lines(status.candidates.head(SHOWN))))
            if not status.quoted:
                print("  net credit unknown: no ask for the open contract")
        elif meta is not None and not status.expired:
            print("  no later expiration on the right side of the strike in the scan")
    return ExitCode.OK
