"""Keep-alive connections to one API origin, for the HTTP client, on the standard library's ``http.client``.

urllib3's pool did this with more Python per request (its request, URL, timeout and header layers): a 500-ticker
scan's 2,000 chain requests cost 3.2-3.3 s of CPU through it against 1.5-1.7 s here (50 threads against
bench/_common's MarketData stand-in), and a scan's CPU competes with its own requests for the GIL. What it did that
matters is kept: a connection the server closed while it sat idle is replaced before use, one left in an unknown
state is dropped, the environment's proxy carries the requests (an HTTP URL forwarded, HTTPS tunnelled with
CONNECT, credentials in the proxy URL sent as Basic auth; the connection to the proxy itself is plain), and HTTPS
verifies against the system's certificates (``SSL_CERT_FILE``/``SSL_CERT_DIR`` included).
"""

from __future__ import annotations

import base64
import http.client
import select
import ssl
import threading
import time
from urllib.parse import SplitResult, unquote, urlsplit
from urllib.request import getproxies, proxy_bypass


class AnswerTooSlow(Exception):
    """The whole answer took longer than the deadline (a server trickling bytes)."""


class Connections:
    """Up to `size` idle keep-alive connections to `base_url`'s origin, each used by one request at a time; a
    request when none is idle opens another (closed on return when `size` are idle already)."""

    def __init__(self, base_url: str, size: int, connect_timeout: float) -> None:
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        proxy = None if proxy_bypass(self._host) else getproxies().get(parts.scheme)
        self._proxy = urlsplit(proxy if "://" in proxy else f"http://{proxy}") if proxy else None
        forwarded = self._proxy is not None and not self._https  # the proxy reads each request, credentials too
        self._proxy_headers = _proxy_authorization(self._proxy) if forwarded else {}
        self._context = ssl.create_default_context()  # the system's certificates, as urllib3 used
        self._size, self._connect_timeout = size, connect_timeout
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def get(self, path: str, headers: dict[str, str], read_timeout: float, deadline: float, chunk: int
            ) -> tuple[http.client.HTTPResponse, bytes]:
        """One GET of `path` (with its query) and its whole body, read as it arrives until `deadline` (monotonic;
        AnswerTooSlow past it). Raises what the connection raised (OSError, HTTPException); the connection is
        then dropped, as its state is unknown."""
        connection = self._take()
        try:
            if connection.sock is None:
                connection.connect()
            connection.sock.settimeout(read_timeout)
            connection.request("GET", self._target(path), headers={**headers, **self._proxy_headers})
            response = connection.getresponse()
            chunks = []
            while piece := response.read1(chunk):
                chunks.append(piece)
                if time.monotonic() > deadline:
                    raise AnswerTooSlow
            response.close()
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            self._give_back(connection)
        return response, b"".join(chunks)

    def _target(self, path: str) -> str:
        """What the request line names: the path, or the whole URL for a proxy that forwards it (plain HTTP)."""
        return f"{self._origin}{path}" if self._proxy is not None and not self._https else path

    def _take(self) -> http.client.HTTPConnection:
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if not _closed_by_peer(connection):
                    return connection
                connection.close()
        return self._new()

    def _give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self._size:
                self._idle.append(connection)
                return
        connection.close()

    def _new(self) -> http.client.HTTPConnection:
        proxy = self._proxy
        if proxy is None:
            return self._connection(self._https, self._host, self._port)
        connection = self._connection(self._https, proxy.hostname or "", proxy.port or 80)
        if self._https:  # tunnelled: the proxy sees only the CONNECT, and TLS runs to the API itself
            connection.set_tunnel(self._host, self._port, headers=_proxy_authorization(proxy))
        return connection

    def _connection(self, https: bool, host: str, port: int) -> http.client.HTTPConnection:
        if https:
            return http.client.HTTPSConnection(host, port, timeout=self._connect_timeout, context=self._context)
        return http.client.HTTPConnection(host, port, timeout=self._connect_timeout)


def _closed_by_peer(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle connection's socket has something to read: the server closed it (or sent what it should
    not have between requests), so it cannot carry the next one."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _proxy_authorization(proxy: SplitResult) -> dict[str, str]:
    """Basic credentials from a proxy URL's user-info (``http://user:pass@proxy:3128``), as a header."""
    if proxy.username is None:
        return {}
    pair = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
