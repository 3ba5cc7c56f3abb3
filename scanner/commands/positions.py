"""``python -m scanner positions ...``: the book of positions, through the same record as the Positions page."""

from __future__ import annotations

import argparse
import json
from datetime import date

from scanner.commands.files import read_input, write_output
from scanner.config import Settings
from scanner.errors import ExitCode
from scanner.scan.positions import CSV_HELP, Book, describe
from scanner.scan.rolls import today
from scanner.store.positions import PositionsRecord
from scanner.store.scans import ScanStore

NAME = "positions"
USER_HELP = "the book of positions of this e-mail (a logged-in user's on the page); default: the shared book"


def add_user_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", metavar="EMAIL", help=USER_HELP)


def add_parser(commands: argparse._SubParsersAction) -> None:
    actions = commands.add_parser(NAME, help="the trader's book: stock, open short options, cash for puts")
    add_user_argument(actions)
    sub = actions.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="every position and the cash").add_argument("--json", action="store_true")
    stock = sub.add_parser("add-stock", help="shares held (replaces the ticker's holding)")
    stock.add_argument("ticker")
    stock.add_argument("shares")
    stock.add_argument("cost_basis", help="per share")
    option = sub.add_parser("add-option", help="an open short option (replaces one of the same symbol)")
    option.add_argument("option_symbol", help="OCC, e.g. AAPL261218P00150000")
    option.add_argument("contracts")
    option.add_argument("premium", help="received per share")
    option.add_argument("--opened", help="YYYY-MM-DD")
    sub.add_parser("remove", help="a ticker's holding or an option").add_argument("symbol",
                                                                                 metavar="TICKER|OPTION_SYMBOL")
    sub.add_parser("assigned", help="record an open option as assigned: a put becomes 100 shares a contract at "
                   "strike − premium, a call takes its shares away").add_argument("option_symbol")
    sub.add_parser("set-cash", help="cash available for puts").add_argument("amount")
    imported = sub.add_parser("import", help=f"a CSV file (- for standard input): {CSV_HELP}")
    imported.add_argument("path")
    imported.add_argument("--replace", action="store_true", help="replace the book instead of merging into it")
    sub.add_parser("export", help="the book as CSV").add_argument("--output", default="-", help="file path or -")


def book_lines(book: Book, on: date) -> list[str]:
    """The book in words, one position a line; an option past its expiration ``on`` asks to be recorded."""
    lines = [f"stock   {h.ticker:<8} {h.shares:>8} sh  cost basis {h.cost_basis:,.2f}  "
             f"calls written {book.calls_written(h.ticker)}" for h in book.holdings]
    for option in book.options:
        contract = option.contract
        expired = "  EXPIRED: record it (positions remove, or positions assigned)" if contract.expiration < on else ""
        lines.append(f"option  {option.option_symbol:<22} ×{option.contracts}  {contract.side} {contract.strike:g} "
                     f"exp {contract.expiration}  premium {option.premium:.2f}"
                     f"{f'  opened {option.opened_on}' if option.opened_on else ''}{expired}")
    if book.cash is None:
        lines.append("cash    not set (puts are not sized)")
    else:
        lines.append(f"cash    {book.cash:,.2f}  free after open puts' collateral {book.free_cash:,.2f}")
    return lines


def run(settings: Settings, store: ScanStore, args: argparse.Namespace) -> int:
    record = PositionsRecord(store.client, store.keys, args.user)
    if args.action == "add-stock":
        print(f"holding: {describe([record.add_stock(args.ticker, args.shares, args.cost_basis)])}")
    elif args.action == "add-option":
        option = record.add_option(args.option_symbol, args.contracts, args.premium, args.opened)
        print(f"open option: {describe([option])}")
    elif args.action == "remove":
        record.remove(args.symbol)
        print(f"removed {args.symbol.strip().upper()}")
    elif args.action == "assigned":
        book = record.record_assigned(args.option_symbol)
        print(f"assigned; holdings now: {describe(book.holdings) or 'none'}")
    elif args.action == "set-cash":
        print(f"cash for puts: {record.set_cash(args.amount).cash:,.2f}")
    elif args.action == "import":
        book = record.import_csv(read_input(args.path), replace=args.replace)
        print(f"imported; the book has {len(book.holdings)} holdings, {len(book.options)} open options")
    elif args.action == "export":
        write_output(record.export_csv(), args.output)
    elif args.json:
        print(json.dumps(record.load().to_dict(), indent=2))
    else:
        print("\n".join(book_lines(record.load(), today(settings))))
    return ExitCode.OK
