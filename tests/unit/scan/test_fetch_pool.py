"""How a scan's concurrency is split between fetch processes (scanner.scan.fetch_pool)."""

from scanner.scan import fetch_pool


def test_shares_split_the_concurrency_whole() -> None:
    assert fetch_pool.shares(50, 2) == [25, 25] and fetch_pool.shares(50, 3) == [17, 17, 16]
