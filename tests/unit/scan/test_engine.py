"""The engine's own rules, in-process: how it rides out Redis going away."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from scanner.scan.engine import REDIS_BACKOFF, retrying


def _failing(times: int, error: Exception) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def action() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "written"

    return calls, action


def test_redis_writes_back_off_0_5_1_2_4_8_seconds_then_succeed() -> None:
    sleeps: list[float] = []
    calls, action = _failing(5, redis.ConnectionError("restarting"))
    assert retrying(action, sleep=sleeps.append) == "written"
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0] == list(REDIS_BACKOFF) and len(calls) == 6


def test_redis_staying_down_raises_after_the_whole_backoff() -> None:
    sleeps: list[float] = []
    calls, action = _failing(99, redis.TimeoutError("down"))
    with pytest.raises(redis.TimeoutError):
        retrying(action, sleep=sleeps.append)
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0] and len(calls) == 6


def test_other_errors_are_not_retried() -> None:
    sleeps: list[float] = []
    calls, action = _failing(1, redis.ResponseError("WRONGTYPE"))
    with pytest.raises(redis.ResponseError):
        retrying(action, sleep=sleeps.append)
    assert sleeps == [] and len(calls) == 1
