"""Command groups of ``python -m scanner`` beyond the scan's own (``positions``, ``schedule``, ``alerts`` ...).

Each group is one module here defining ``NAME``, ``add_parser(commands)`` (its argparse sub-parser, added to
``python -m scanner``'s) and ``run(settings, store, args) -> int`` (an exit code; refusals raise
``ScannerError``, which the CLI prints in one line). ``scanner.cli`` registers every module listed in
``GROUPS``, so a new group is a new module plus one line here.
"""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from scanner.config import Settings
    from scanner.store.scans import ScanStore


class CommandGroup(Protocol):
    NAME: str

    def add_parser(self, commands: argparse._SubParsersAction) -> None: ...

    def run(self, settings: Settings, store: ScanStore, args: argparse.Namespace) -> int: ...


from scanner.commands import (  # noqa: E402 (the protocol above documents them)
    alerts,
    iv_history,
    positions,
    rolls,
    schedule,
    scheduler,
    screens,
)

GROUPS: tuple[ModuleType, ...] = (positions, rolls, schedule, scheduler, screens, alerts, iv_history)
"""The group modules, in the order ``--help`` lists them."""
