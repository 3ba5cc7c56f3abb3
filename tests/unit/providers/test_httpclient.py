"""The HTTP client against a real local server: statuses, retries, 429 waits, timeouts, pacing, credits.

Waits the client decides (429 pauses, pacing) are asserted from an injected clock and sleep (`FakeClock`), not
from wall time; the timeouts, which only real time can show, against answers many times slower than them.
"""

from __future__ import annotations

import base64
import json
import shutil
import ssl
import threading
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from scanner.errors import ProviderError, ProviderFatal
from scanner.providers.httpclient import TRADIER_LIMITS, HttpClient, RetryPolicy
from tests.support.http_replay import Answer, ReplayServer
from tests.support.redis_servers import make_tls_files

PATH = "/v1/options/chain/AAPL/"
REL = "options/chain/AAPL/"  # the same, relative to the base URL
FAST = RetryPolicy(attempts=3, backoff_base=0.01, backoff_cap=0.05, rate_limit_attempts=3, max_rate_limit_wait=5)
OK = {"s": "ok", "optionSymbol": []}


class FakeClock:
    """The client's `clock` and `sleep`: time moves only when the client sleeps, and each sleep is recorded."""

    def __init__(self, now: float = 1_780_000_000.0) -> None:  # a Unix time (2026), as the client's own clock
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        yield replay


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked(clock: FakeClock) -> Iterator[ReplayServer]:
    """A server stamping requests with `clock`: their spacing is what the client chose to wait."""
    with ReplayServer(clock=clock) as replay:
        yield replay


def client(server: ReplayServer, **kwargs: object) -> HttpClient:
    options = {"timeout": 5.0, "retry": FAST, **kwargs}  # far above a local answer's time on a loaded machine
    return HttpClient(server.url, "tok-123", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [200, 203])
def test_data_statuses_return_the_json(server: ReplayServer, status: int) -> None:
    server.script(PATH, Answer(status, OK))
    reply = client(server).get("options/chain/AAPL/", {"side": "put"})
    assert (reply.status, reply.payload) == (status, OK)
    seen = server.requests_to(PATH)[0]
    assert seen.headers["Authorization"] == "Bearer tok-123" and seen.query == {"side": "put"}


@pytest.mark.parametrize("answer, payload", [
    (Answer(204), None),
    (Answer(404, {"s": "no_data", "nextTime": 1684800000}), {"s": "no_data", "nextTime": 1684800000}),
    (Answer(400, {"s": "error", "errmsg": "Invalid symbol"}), {"s": "error", "errmsg": "Invalid symbol"}),
    (Answer(200, "{not json"), None),
])
def test_other_answers_are_returned_once_for_the_caller(server: ReplayServer, answer: Answer, payload: object) -> None:
    server.script(PATH, answer)
    reply = client(server).get(REL)
    assert (reply.status, reply.payload) == (answer.status, payload)
    assert len(server.requests_to(PATH)) == 1  # not retried


def test_server_error_then_success_is_retried(server: ReplayServer) -> None:
    server.script(PATH, Answer(500, {"s": "error"}), Answer(502), Answer(200, OK))
    assert client(server).get(REL).payload == OK
    assert len(server.requests_to(PATH)) == 3


def test_server_errors_give_up_after_the_attempts(server: ReplayServer) -> None:
    server.script(PATH, Answer(503))
    with pytest.raises(ProviderError, match=r"HTTP 503 \(3 attempts\)") as info:
        client(server).get(REL)
    assert not isinstance(info.value, ProviderFatal)
    assert len(server.requests_to(PATH)) == 3


def test_slow_answer_times_out_and_is_retried(server: ReplayServer) -> None:
    # the client's usual 5 s timeout: the retried local answer beats it on any machine; the first never does
    server.script(PATH, Answer(200, OK, delay=60.0), Answer(200, OK))
    assert client(server).get(REL).payload == OK
    assert len(server.requests_to(PATH)) == 2


def test_always_slow_is_a_ticker_error(server: ReplayServer) -> None:
    server.script(PATH, Answer(200, OK, delay=1.0))
    with pytest.raises(ProviderError, match="no answer within 0.2 s"):
        client(server, timeout=0.2).get(REL)


TRICKLED = {"s": "ok", "optionSymbol": ["x" * 300]}  # 333 bytes of JSON
SLOW_BYTE = 0.1  # seconds between a trickled body's bytes: far shorter than the timeout, so each read succeeds


@pytest.mark.parametrize("pause", [SLOW_BYTE, 30.0])  # bytes that keep coming, and headers then silence
def test_a_body_that_trickles_or_stalls_times_out_as_a_whole(server: ReplayServer, pause: float) -> None:
    server.script(PATH, Answer(200, TRICKLED, trickle=pause))
    begun = time.monotonic()
    with pytest.raises(ProviderError, match=r"no answer within 0.3 s \(3 attempts\)"):
        client(server, timeout=0.3).get(REL)
    assert len(server.requests_to(PATH)) == FAST.attempts
    # Each attempt ends within about two timeouts (~2 s for all three with FAST's short backoffs). The bound is
    # what ONE attempt of a client timing each read alone would take, the whole body trickling in (~33 s): all
    # three attempts within it prove the timeout bounds the whole answer, with a wide margin for a slow machine.
    one_trickled_body = len(json.dumps(TRICKLED)) * SLOW_BYTE
    assert time.monotonic() - begun < one_trickled_body


def test_connection_refused_is_a_ticker_error() -> None:
    with ReplayServer() as gone:
        url = gone.url
    with pytest.raises(ProviderError, match="connection failed"):
        HttpClient(url, "tok", retry=FAST, timeout=0.5).get(REL)


def test_the_proxy_the_environment_names_carries_the_requests(server: ReplayServer,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    server.script(PATH, Answer(200, OK))
    monkeypatch.setenv("http_proxy", server.url.removesuffix("/v1"))
    monkeypatch.setenv("no_proxy", "")
    api = "http://api.example.invalid/v1"  # unresolvable: only the proxy can reach it
    assert HttpClient(api, "tok", retry=FAST, timeout=5.0).get(REL).payload == OK
    assert len(server.requests_to(PATH)) == 1
    monkeypatch.setenv("no_proxy", "api.example.invalid")
    with pytest.raises(ProviderError, match="connection failed"):
        HttpClient(api, "tok", retry=FAST, timeout=0.5).get(REL)
    assert len(server.requests_to(PATH)) == 1


def test_429_waits_for_retry_after_then_succeeds(clocked: ReplayServer, clock: FakeClock) -> None:
    clocked.script(PATH, Answer(429, {"s": "error", "errmsg": "Too many"}, {"Retry-After": "1"}), Answer(200, OK))
    assert client(clocked, sleep=clock.sleep, clock=clock).get(REL).payload == OK
    first, second = clocked.requests_to(PATH)
    assert second.at - first.at >= 0.9  # on the injected clock: the wait the client asked for
    assert clock.sleeps == [1.0]


def test_429_waits_for_the_ratelimit_reset(clocked: ReplayServer, clock: FakeClock) -> None:
    reset = str(int(clock.now) + 2)  # two seconds after the client reads the 429: its clock stands still till then
    clocked.script(PATH, Answer(429, None, {"X-Api-Ratelimit-Reset": reset, "X-Api-Ratelimit-Remaining": "0"}),
                   Answer(200, OK))
    assert client(clocked, sleep=clock.sleep, clock=clock).get(REL).payload == OK
    first, second = clocked.requests_to(PATH)
    assert second.at - first.at >= 0.9
    assert clock.sleeps == [2.0]  # on a wall clock, a slow request would have eaten into this wait


def test_429_waits_for_tradiers_window_expiry_in_milliseconds(clocked: ReplayServer, clock: FakeClock) -> None:
    expiry = str(int(clock.now * 1000) + 3000)  # X-Ratelimit-Expiry: the window's end in epoch milliseconds
    limited = {"X-Ratelimit-Allowed": "120", "X-Ratelimit-Used": "120", "X-Ratelimit-Available": "0",
               "X-Ratelimit-Expiry": expiry}
    clocked.script(PATH, Answer(429, "Quota Violation", limited), Answer(200, OK))
    assert client(clocked, sleep=clock.sleep, clock=clock, limits=TRADIER_LIMITS).get(REL).payload == OK
    assert clock.sleeps == [3.0]


def test_a_spent_window_pauses_the_next_request_until_it_ends(clocked: ReplayServer, clock: FakeClock) -> None:
    last = {"X-Ratelimit-Allowed": "120", "X-Ratelimit-Used": "120", "X-Ratelimit-Available": "0",
            "X-Ratelimit-Expiry": str(int(clock.now * 1000) + 4000)}
    clocked.script(PATH, Answer(200, OK, last), Answer(200, OK))
    http = client(clocked, sleep=clock.sleep, clock=clock, limits=TRADIER_LIMITS)
    http.get(REL)
    http.get(REL)
    first, second = clocked.requests_to(PATH)
    assert clock.sleeps == [4.0] and second.at - first.at >= 3.9  # paced on the headers: no 429 was needed
    assert http.usage.remaining == 0 and http.usage.limit == 120 and http.usage.consumed == 0


def test_extra_headers_are_sent_with_the_token(server: ReplayServer) -> None:
    server.script(PATH, Answer(200, OK))
    client(server, headers={"User-Agent": "options-scanner/1 (test)"}).get(REL)
    (seen,) = server.requests_to(PATH)
    assert seen.headers["User-Agent"] == "options-scanner/1 (test)"
    assert seen.headers["Authorization"] == "Bearer tok-123"


def test_429_pauses_every_request_not_just_the_throttled_one(server: ReplayServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    server.script(PATH, Answer(429, None, {"Retry-After": "1"}), Answer(200, OK, delay=0.2))
    paused = threading.Event()
    sleepers: list[str] = []

    def sleep(seconds: float) -> None:  # real sleeps (the server's clock sees them), recorded
        sleepers.append(threading.current_thread().name)
        paused.set()
        time.sleep(seconds)

    http = client(server, sleep=sleep)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(http.get, REL)
        assert paused.wait(timeout=30)  # the first got its 429 and is paused: only now does the second start
        second = pool.submit(http.get, REL)
        assert first.result().payload == second.result().payload == OK
    times = [seen.at for seen in server.requests_to(PATH)]
    assert len(times) == 3 and min(times[1:]) - times[0] >= 0.9
    assert len(set(sleepers)) == 2  # the second, never throttled itself, waited too


def test_spent_daily_budget_stops_the_scan_without_retrying(server: ReplayServer) -> None:
    headers = {"X-Api-Ratelimit-Remaining": "0", "X-Api-Ratelimit-Consumed": "0",
               "X-Api-Ratelimit-Reset": str(int(time.time()) + 6 * 3600)}
    server.script(PATH, Answer(429, {"s": "error", "errmsg": "API credit limit reached"}, headers))
    with pytest.raises(ProviderFatal, match="daily credit budget is spent: requests resume at .* ET"):
        client(server).get(REL)
    assert len(server.requests_to(PATH)) == 1


def test_endless_429_gives_up_on_the_request(server: ReplayServer) -> None:
    server.script(PATH, Answer(429, None, {"Retry-After": "0"}))
    with pytest.raises(ProviderError, match="429"):
        client(server).get(REL)
    assert len(server.requests_to(PATH)) == FAST.rate_limit_attempts + 1


def test_credits_are_summed_and_the_latest_remaining_kept(server: ReplayServer) -> None:
    server.script(PATH, Answer(200, OK, {"X-Api-Ratelimit-Consumed": "15", "X-Api-Ratelimit-Remaining": "985",
                                         "X-Api-Ratelimit-Limit": "1000"}),
                  Answer(203, OK, {"X-Api-Ratelimit-Consumed": "0", "X-Api-Ratelimit-Remaining": "985"}),
                  Answer(200, OK, {"X-Api-Ratelimit-Consumed": "12", "X-Api-Ratelimit-Remaining": "973"}))
    http = client(server)
    assert http.usage.consumed == 0 and http.usage.remaining is None
    for _ in range(3):
        http.get(REL)
    assert (http.usage.consumed, http.usage.remaining, http.usage.limit) == (27, 973, 1000)


def test_requests_per_second_spaces_the_requests(clocked: ReplayServer, clock: FakeClock) -> None:
    clocked.script(PATH, Answer(200, OK))
    http = client(clocked, requests_per_second=20, sleep=clock.sleep, clock=clock)
    for _ in range(6):
        http.get(REL)
    # on the injected clock, which moves only by the sleeps the client asks for: one 0.05 s slot per request
    times = [seen.at for seen in clocked.requests_to(PATH)]
    assert times[-1] - times[0] >= 5 * 0.05 * 0.9
    assert [later - earlier for earlier, later in pairwise(times)] == pytest.approx([0.05] * 5)


def test_concurrency_is_capped_at_the_api_limit() -> None:
    assert HttpClient("http://x", None, concurrency=500).concurrency == 50
    assert HttpClient("http://x", None, concurrency=0).concurrency == 1


def test_the_token_stays_out_of_repr_and_redacted_text(server: ReplayServer) -> None:
    http = client(server)
    assert "tok-123" not in repr(http)
    assert http.redact("echo: Bearer tok-123") == "echo: Bearer [redacted]"


def test_a_kept_alive_connection_carries_the_next_request() -> None:
    with ReplayServer(keep_alive=True) as server:
        server.script(PATH, Answer(200, OK))
        api = client(server)
        assert api.get(REL).payload == OK and api.get(REL).payload == OK
        first, second = server.requests_to(PATH)
        assert first.port == second.port


def test_a_connection_the_server_closed_while_idle_is_replaced_before_use(caplog: pytest.LogCaptureFixture) -> None:
    """The server hangs up after its answer without saying so (as an idle timeout does): the next request goes on a
    new connection at once, not through a failed attempt and a retry."""
    with ReplayServer(keep_alive=True) as server:
        server.script(PATH, Answer(200, OK, hang_up=True))
        api = client(server)
        assert api.get(REL).payload == OK
        time.sleep(0.2)  # the server's close reaches the client's idle socket
        assert api.get(REL).payload == OK
        first, second = server.requests_to(PATH)
        assert first.port != second.port
    assert "retry" not in caplog.text


def test_https_verifies_the_server_against_the_systems_certificates(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A certificate from a CA the system does not know fails as a connection; with that CA in SSL_CERT_FILE (what
    a deployment behind a TLS-inspecting proxy sets) the same server answers."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate to serve HTTPS with")
    files = make_tls_files(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(files.server_cert, files.server_key)
    with ReplayServer(tls=tls, keep_alive=True) as server:
        server.script(PATH, Answer(200, OK))
        assert server.url.startswith("https://")
        with pytest.raises(ProviderError, match="connection failed"):
            client(server).get(REL)
        monkeypatch.setenv("SSL_CERT_FILE", str(files.ca))
        assert client(server).get(REL).payload == OK


def test_credentials_in_the_proxy_url_go_to_the_proxy_as_basic_auth(server: ReplayServer,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    server.script(PATH, Answer(200, OK))
    monkeypatch.setenv("http_proxy", server.url.removesuffix("/v1").replace("://", "://ann:p%40ss@"))
    monkeypatch.setenv("no_proxy", "")
    assert HttpClient("http://api.example.invalid/v1", "tok", retry=FAST, timeout=5.0).get(REL).payload == OK
    (seen,) = server.requests_to(PATH)
    assert seen.headers["Proxy-Authorization"] == "Basic " + base64.b64encode(b"ann:p@ss").decode()
    assert seen.headers["Authorization"] == "Bearer tok"
