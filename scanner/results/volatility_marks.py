"""How pages word a ticker's volatility figures (issue 17): "IV rank 64 · 38 days", the summary's columns."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scanner.market.volatility import MIN_RANK_SESSIONS


def rank_words(rank: float, days: float) -> str:
    """"64 · 38 days"; "— · 12 days" below 20 sessions or on a flat history; "" without any history."""
    if days is None or pd.isna(days) or int(days) == 0:
        return ""
    sessions = f"{int(days)} day{'s' if int(days) != 1 else ''}"
    if rank is None or math.isnan(rank):
        return f"— · {sessions}" + (f" (needs {MIN_RANK_SESSIONS})" if int(days) < MIN_RANK_SESSIONS else "")
    return f"{rank:.0f} · {sessions}"


def volatility_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Ticker → its IV30, IV rank in words (with the sessions it rests on) and HV20; empty for scans stored before
    the figures existed (their columns read empty)."""
    if rows.empty or "iv30" not in rows:
        return pd.DataFrame(columns=["iv30", "iv_rank", "hv20"], index=pd.Index([], name="ticker"))
    first = rows.groupby("ticker", sort=True)[["iv30", "iv_rank", "iv_rank_days", "hv20"]].first()
    days = first["iv_rank_days"].to_numpy(dtype=float, na_value=np.nan)
    words = [rank_words(rank, day) for rank, day in zip(first["iv_rank"].to_numpy(dtype=float), days, strict=True)]
    return pd.DataFrame({"iv30": first["iv30"], "iv_rank": words, "hv20": first["hv20"]}, index=first.index)


def ticker_words(rows: pd.DataFrame) -> str:
    """What a ticker's expander title adds: "IV rank 64 · 38 days" once there is a rank ("" before: the summary
    says how many sessions it waits on; "" for a scan stored before the figures)."""
    if rows.empty or "iv_rank" not in rows:
        return ""
    rank = float(rows["iv_rank"].iloc[0])
    return "" if math.isnan(rank) else f"IV rank {rank_words(rank, rows['iv_rank_days'].iloc[0])}"
