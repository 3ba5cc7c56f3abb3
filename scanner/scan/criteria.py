"""The screening criteria: what to fetch and what counts as a match (DESIGN "Screening"), and the one reading of
untrusted criteria input (a form, Redis, the CLI's ``name=value`` words) that every caller goes through."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from scanner.errors import SettingsError
from scanner.providers.base import ChainRequest
from scanner.schema import SIDES

SIDE_CHOICES = ("put", "call", "both")
DTE_RANGE = (0, 730)  # the DTE window's bounds (DESIGN "Screening": 0-730 everywhere)
OFF_WORDS = ("", "off", "none", "null")  # what turns an optional criterion off in a form or `criteria set`
OPTIONAL_FIELDS = ("min_dte", "max_dte", "put_delta_ceiling", "min_open_interest", "min_volume", "min_bid",
                   "max_spread_pct")  # off (None) by default


class EarningsRule(StrEnum):
    """What earnings inside a contract's life do to it (DESIGN "Screening")."""

    EXCLUDE = "exclude"  # such a contract never matches; its reason names the report
    FLAG = "flag"  # it only carries the marker


_WHOLE_FIELDS = ("weeks", "strike_limit", "min_dte", "max_dte", "min_open_interest", "min_volume")


@dataclass(frozen=True)
class Criteria:
    """What to fetch and what counts as a match; the defaults are the original app's rules."""

    side: str = "put"
    weeks: int = 4
    strike_limit: int = 15
    min_put_annualized: float = 30.0
    put_delta_floor: float = -0.20
    min_call_annualized: float = 20.0
    call_delta_table: tuple[tuple[int, float], ...] = ((7, 0.20), (14, 0.24), (21, 0.28), (28, 0.32))
    call_delta_beyond: float = 0.36
    min_dte: int | None = None  # with max_dte, the DTE window (inclusive) instead of the next `weeks` weeklies
    max_dte: int | None = None
    put_delta_ceiling: float | None = None  # e.g. -0.10: puts closer to zero pay too little to matter
    min_open_interest: int | None = None
    min_volume: int | None = None
    min_bid: float | None = None
    max_spread_pct: float | None = None
    earnings: EarningsRule = EarningsRule.EXCLUDE  # criteria stored before it existed load with the default
    call_strike_below_basis_by_bid: bool = False  # covered calls on held shares may strike at basis − the call's bid

    def __post_init__(self) -> None:
        _check(isinstance(self.earnings, EarningsRule),
               f"earnings must be one of {', '.join(EarningsRule)}, got {self.earnings!r}")
        _check(isinstance(self.call_strike_below_basis_by_bid, bool),
               f"call_strike_below_basis_by_bid must be true or false, got {self.call_strike_below_basis_by_bid!r}")
        _check(self.side in SIDE_CHOICES, f"side must be one of {', '.join(SIDE_CHOICES)}, got {self.side!r}")
        _check_int("weeks", self.weeks, 1, 52)
        _check_int("strike_limit", self.strike_limit, 1, 50)
        for name in ("min_put_annualized", "min_call_annualized"):
            _check_float(name, getattr(self, name), -math.inf, math.inf)
        _check_float("put_delta_floor", self.put_delta_floor, -1.0, 0.0)
        _check_float("call_delta_beyond", self.call_delta_beyond, 0.0, 1.0)
        _check(len(self.call_delta_table) > 0, "call_delta_table must have at least one (dte, delta) row")
        for dte, limit in self.call_delta_table:
            _check_int("call_delta_table dte", dte, 0, 3650)
            _check_float("call_delta_table delta", limit, 0.0, 1.0)
        days = [dte for dte, _ in self.call_delta_table]
        _check(days == sorted(set(days)), f"call_delta_table days must be strictly increasing, got {days}")
        for name in ("min_dte", "max_dte"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), *DTE_RANGE)
        if self.min_dte is not None and self.max_dte is not None:
            _check(self.min_dte <= self.max_dte, f"min_dte ({self.min_dte}) must not exceed max_dte ({self.max_dte})")
        if self.put_delta_ceiling is not None:
            _check_float("put_delta_ceiling", self.put_delta_ceiling, -1.0, 0.0)
            _check(self.put_delta_ceiling > self.put_delta_floor,
                   f"put_delta_ceiling ({self.put_delta_ceiling:g}) must be above put_delta_floor "
                   f"({self.put_delta_floor:g})")
        for name in ("min_open_interest", "min_volume"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), 0, 10**9)
        for name in ("min_bid", "max_spread_pct"):
            if getattr(self, name) is not None:
                _check_float(name, getattr(self, name), 0.0, math.inf)

    @property
    def sides(self) -> tuple[str, ...]:
        """The option sides to fetch and match."""
        return SIDES if self.side == "both" else (self.side,)

    @property
    def dte_window(self) -> tuple[int, int] | None:
        """The inclusive DTE window when either bound is set (the other then at its end of DTE_RANGE), else None."""
        if self.min_dte is None and self.max_dte is None:
            return None
        return (DTE_RANGE[0] if self.min_dte is None else self.min_dte,
                DTE_RANGE[1] if self.max_dte is None else self.max_dte)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (the table as lists) that from_dict reads back."""
        out = asdict(self)
        out["earnings"] = self.earnings.value
        out["call_delta_table"] = [list(row) for row in self.call_delta_table]
        return out

    @classmethod
    def of_scan(cls, record: Mapping[str, Any]) -> Criteria:
        """The rules a scan ran with, from the criteria recorded on it (which also hold its ``as_of``)."""
        return cls.from_dict({k: v for k, v in record.items() if k != "as_of"})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Criteria:
        """Criteria from untrusted input (a form, Redis, the CLI); ValueError names the bad field. An optional
        criterion given as None or an OFF_WORDS text is off; one absent (criteria stored before it existed) too."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        _check(not unknown, f"unknown criteria field(s): {', '.join(sorted(map(str, unknown)))}")
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            if name in OPTIONAL_FIELDS and (value is None or (isinstance(value, str) and value.strip().lower()
                                                                  in OFF_WORDS)):
                kwargs[name] = None
            elif name == "side":
                kwargs[name] = str(value).strip().lower()
            elif name == "earnings":
                kwargs[name] = _earnings_rule(value)
            elif name == "call_strike_below_basis_by_bid":
                kwargs[name] = _as_flag(name, value)
            elif name in _WHOLE_FIELDS:
                kwargs[name] = _as_int(name, value)
            elif name == "call_delta_table":
                try:
                    kwargs[name] = tuple((_as_int("call_delta_table dte", d), _as_float("call_delta_table delta", v))
                                         for d, v in value)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"call_delta_table must be a list of [dte, delta] pairs: {exc}") from None
            else:
                kwargs[name] = _as_float(name, value)
        return cls(**kwargs)

    def chain_request(self, as_of: date | None = None) -> ChainRequest:
        """What to ask a provider for, for one ticker."""
        return ChainRequest(sides=self.sides, weeks=self.weeks, strike_limit=self.strike_limit, as_of=as_of,
                            dte_window=self.dte_window)


WEEKS_OR_WINDOW = "--weeks cannot be combined with --min-dte/--max-dte: choose weeks or a DTE window"


def scan_overrides(side: str | None = None, weeks: int | None = None, min_dte: int | None = None,
                   max_dte: int | None = None) -> dict[str, Any]:
    """A scan's own choices over the stored criteria (None: the stored value). `weeks` asks for the next N
    weeklies, so it clears a stored DTE window; given with a window of its own it is refused (ValueError)."""
    if weeks is not None and (min_dte is not None or max_dte is not None):
        raise ValueError(WEEKS_OR_WINDOW)
    overrides: dict[str, Any] = {name: value for name, value in
                                 (("side", side), ("weeks", weeks), ("min_dte", min_dte), ("max_dte", max_dte))
                                 if value is not None}
    if weeks is not None:
        overrides.update(min_dte=None, max_dte=None)
    return overrides


def _earnings_rule(value: Any) -> EarningsRule:
    try:
        return EarningsRule(str(value).strip().lower())
    except ValueError:
        raise ValueError(f"earnings must be one of {', '.join(EarningsRule)}, got {value!r}") from None


_FLAG_WORDS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False,
               "off": False, "": False, "none": False}


def _as_flag(name: str, value: Any) -> bool:
    """A yes/no criterion from a checkbox, JSON or the CLI's words (true/false, yes/no, on/off, 1/0)."""
    if isinstance(value, bool) or value is None:
        return bool(value)
    flag = _FLAG_WORDS.get(str(value).strip().lower())
    if flag is None:
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return flag


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    _check(isinstance(value, int) and not isinstance(value, bool), f"{name} must be a whole number, got {value!r}")
    _check(low <= value <= high, f"{name} must be between {low} and {high}, got {value}")


def _check_float(name: str, value: Any, low: float, high: float) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    _check(ok, f"{name} must be a finite number, got {value!r}")
    _check(low <= value <= high, f"{name} must be between {low} and {high}, got {value}")


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def _as_int(name: str, value: Any) -> int:
    number = _as_float(name, value)
    _check(number.is_integer(), f"{name} must be a whole number, got {value!r}")
    return int(number)



# Bounds the page's inputs offer; Criteria enforces the others itself, the annualized minimums are checked here.
ANNUALIZED_RANGE = (0.0, 1000.0)


def parse_delta_table(text: str) -> list[list[str]]:
    """``7:0.20, 14:0.24`` → [[dte, delta], ...] (validated by Criteria); the page and the CLI write it so."""
    pairs = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
    table = [pair.split(":") for pair in pairs]
    bad = [pair for pair, cells in zip(pairs, table, strict=True) if len(cells) != 2]
    if bad or not table:
        raise SettingsError("call_delta_table must be DTE:max-delta pairs such as 7:0.20, 14:0.24; "
                            f"bad: {bad or text!r}")
    return table


def format_delta_table(criteria: Criteria) -> str:
    return ", ".join(f"{dte}:{delta:g}" for dte, delta in criteria.call_delta_table)


def validate_criteria(data: Mapping[str, Any]) -> Criteria:
    """Criteria from untrusted values (strings included); SettingsError names the bad field."""
    values = dict(data)
    if isinstance(values.get("call_delta_table"), str):
        values["call_delta_table"] = parse_delta_table(values["call_delta_table"])
    try:
        criteria = Criteria.from_dict(values)
    except (ValueError, TypeError) as exc:
        raise SettingsError(str(exc)) from None
    low, high = ANNUALIZED_RANGE
    for name in ("min_put_annualized", "min_call_annualized"):
        value = getattr(criteria, name)
        if not (math.isfinite(value) and low <= value <= high):
            raise SettingsError(f"{name} must be between {low:g} and {high:g} (%), got {value:g}")
    return criteria


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """CLI ``name=value`` words → a changes dict for save_criteria."""
    changes: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in Criteria.__dataclass_fields__:
            known = ", ".join(Criteria.__dataclass_fields__)
            raise SettingsError(f"expected NAME=VALUE with NAME one of {known}; got {pair!r}")
        changes[name] = value.strip()
    if not changes:
        raise SettingsError("nothing to set")
    return changes
