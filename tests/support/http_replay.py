"""A real HTTP server on 127.0.0.1 that replays scripted answers, for the HTTP client and MarketData tests.

Each path has a queue of answers served in order (the last one repeats); every request is recorded
with its query and headers so tests can check what the client asked for. `stretch` makes every
request get one answer for a while (a rate limit on the whole account), and `chain_payload` builds a
MarketData-format chain, for scans run end to end against this server (`serve_chains`, `scan_env`).

Gates make a scan wait for the test instead of the test racing the scan: a request is recorded, then held
until the server's `gate` and its answer's own `gate` are both open (set), so a test can park a scan on a
ticker, do what it must (start rivals, kill, cancel, stop Redis) and only then let it go on. Every gate
opens when the server stops, so nothing stays held after a test.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scanner.market.calendar import NY, weekly_expirations


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: Any = None  # dict/list: sent as JSON; str/bytes: sent as is; None: no body
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    trickle: float = 0.0  # seconds between the body's bytes (a server that is slow but never silent for long)
    gate: threading.Event | None = None  # when given: held (after being recorded) until the test sets it
    hang_up: bool = False  # close the connection after answering, without saying so (an idle timeout's effect)


@dataclass(frozen=True)
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float  # when it arrived, on the server's clock
    status: int  # what the server answered
    port: int  # the client's port: the same for requests on one kept-alive connection


class ReplayServer:
    def __init__(self, clock: Callable[[], float] = time.monotonic, *, keep_alive: bool = False,
                 tls: ssl.SSLContext | None = None) -> None:
        """`clock` stamps the requests and times the stretch (a test's injected clock, to assert spacing from it);
        `keep_alive` answers in HTTP/1.1 (connections kept open, as the real APIs do); `tls` serves HTTPS."""
        self.answers: list[tuple[str, dict[str, str], list[Answer]]] = []  # (path, query subset, queue)
        self.default = Answer(404, {"s": "no_data"})
        self.seen: list[Seen] = []
        self.in_flight = self.max_in_flight = 0  # requests being handled, held at a gate included
        self.gate = threading.Event()  # every request waits for it: clear it to hold them all, set it to let go
        self.gate.set()
        self._gates: list[threading.Event] = []  # the answers' own gates, opened when the server stops
        self._clock = clock
        self._stretch: tuple[Answer, float] | None = None  # (answer, seconds) for every path
        self._stretch_began: float | None = None  # when the stretch served its first request
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with server._lock:
                    at = server._clock()
                    answer = server._stretched(at)
                    if answer is None:
                        queue = next((q for path, when, q in server.answers
                                      if path == parts.path and when.items() <= query.items()), None)
                        answer = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else server.default
                    server.seen.append(Seen(parts.path, query, dict(self.headers), at, answer.status,
                                            self.client_address[1]))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                server.gate.wait()
                if answer.gate is not None:
                    answer.gate.wait()
                time.sleep(answer.delay)
                with server._lock:
                    server.in_flight -= 1
                body = answer.body
                data = (json.dumps(body).encode() if isinstance(body, (dict, list)) else
                        body.encode() if isinstance(body, str) else body or b"")
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if answer.trickle:
                        self._trickle(data, answer.trickle)
                    else:
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass
                self.close_connection = self.close_connection or answer.hang_up

            def _trickle(self, data: bytes, pause: float) -> None:
                for at in range(len(data)):
                    self.wfile.write(data[at:at + 1])
                    self.wfile.flush()
                    time.sleep(pause)

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._scheme = "https" if tls is not None else "http"
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host}:{port}/v1"

    def script(self, path: str, *answers: Answer, when: dict[str, str] | None = None) -> None:
        """Serve `answers` in order to GETs of `path` whose query holds every item of `when`
        (the first matching script wins, so script specific queries before general ones)."""
        with self._lock:
            self.answers.append((path, dict(when or {}), list(answers)))
            self._gates.extend(answer.gate for answer in answers if answer.gate is not None)

    def stretch(self, answer: Answer, seconds: float) -> None:
        """Answer every request with `answer` for `seconds` from the first request that gets it."""
        with self._lock:
            self._stretch, self._stretch_began = (answer, seconds), None

    def _stretched(self, now: float) -> Answer | None:  # called with self._lock held
        if self._stretch is None:
            return None
        answer, seconds = self._stretch
        if self._stretch_began is None:
            self._stretch_began = now
        return answer if now - self._stretch_began < seconds else None

    def requests_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.seen if seen.path == path]

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            gates = [self.gate, *self._gates]
        for gate in gates:  # a held request gets its answer (or a closed socket) instead of waiting forever
            gate.set()
        self._server.shutdown()
        self._server.server_close()


def chain_payload(symbol: str, expiration: date, spot: float = 100.0, strikes: int = 5) -> dict[str, Any]:
    """A MarketData `s: ok` chain of `strikes` OTM puts below `spot` (1-point steps), with their greeks.

    Bids are rich enough that the nearest strikes pass the default put rules for a few weeks' DTE.
    """
    epoch = int(datetime.combine(expiration, clock_time(16), NY).timestamp())
    ks = [float(int(spot) - 1 - i) for i in range(strikes)]
    return {"s": "ok", "optionSymbol": [f"{symbol}{expiration:%y%m%d}P{int(k * 1000):08d}" for k in ks],
            "underlying": [symbol] * strikes, "expiration": [epoch] * strikes, "side": ["put"] * strikes,
            "strike": ks, "bid": [round(2.0 - 0.3 * i, 2) for i in range(strikes)],
            "ask": [round(2.1 - 0.3 * i, 2) for i in range(strikes)], "last": [None] * strikes,
            "openInterest": [100] * strikes, "volume": [10] * strikes, "underlyingPrice": [spot] * strikes,
            "iv": [0.3] * strikes, "delta": [round(-0.19 + 0.03 * i, 2) for i in range(strikes)],
            "updated": [epoch - 86400 * 7] * strikes}


SCAN_AS_OF = date(2026, 11, 30)
"""A Monday: scans run with `--as-of` it, so their expirations and DTEs are the same every day."""

SCAN_EXPIRATIONS = weekly_expirations(SCAN_AS_OF, 1)
"""What `scan_args` asks for: one weekly expiration, so one request per ticker."""

GATE_TIMEOUT = "300"
"""SCANNER_HTTP_TIMEOUT of scans a test holds at a gate: the most the setting allows, so a held request never
times out (and is retried) while the test works; the test opens the gate long before."""


def chain_path(symbol: str) -> str:
    return f"/v1/options/chain/{symbol}/"


def serve_chains(server: ReplayServer, symbols: Iterable[str], expirations: Iterable[date] = SCAN_EXPIRATIONS,
                 spoil: Callable[[dict[str, Any]], dict[str, Any]] = lambda payload: payload,
                 gates: Mapping[str, threading.Event] | None = None) -> None:
    """Each symbol's chain for each expiration, passed through `spoil` (garbage in some columns); a symbol in
    `gates` is answered only once its gate is set."""
    expirations = list(expirations)
    for symbol in symbols:
        gate = (gates or {}).get(symbol)
        for expiration in expirations:
            server.script(chain_path(symbol), Answer(200, spoil(chain_payload(symbol, expiration)), gate=gate),
                          when={"expiration": expiration.isoformat()})


def scan_env(env: Mapping[str, str], server: ReplayServer, key: str = "md-dummy-key-for-tests") -> dict[str, str]:
    """The environment of a scan process whose MarketData source is `server`, market hours not enforced, with
    an HTTP timeout no gate outlasts (GATE_TIMEOUT)."""
    return {**env, "SCANNER_PROVIDER": "marketdata", "MD_API_KEY": key, "MD_URL_BASE": server.url,
            "SCANNER_ENFORCE_MARKET_HOURS": "false", "SCANNER_HTTP_TIMEOUT": GATE_TIMEOUT}


def scan_args(tickers: Iterable[str]) -> list[str]:
    """`scan` arguments for a MarketData scan of `tickers` as of SCAN_AS_OF, SCAN_EXPIRATIONS only."""
    return ["scan", "--tickers", ",".join(tickers), "--weeks", "1", "--as-of", SCAN_AS_OF.isoformat()]
