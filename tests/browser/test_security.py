"""Attacks on a real ``streamlit run`` of the dashboard (issue 14), with the project's ``.streamlit/config.toml`` as
shipped (no ``--server.address``) and a raw websocket client speaking Streamlit's own protocol (its protobuf
messages): what a DNS-rebinding page, a stolen session id or an oversized upload can do.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync import client as websocket

from scanner.config import Settings
from scanner.store.connection import connect
from scanner.store.keys import Keys
from scanner.ui.auth import POLICY
from tests.support.paths import ROOT
from tests.support.processes import wait_for
from tests.support.redis_servers import free_port

PASSWORD = "correct horse battery staple"
ELSEWHERE = "127.0.0.2"
"""Another client address on this machine (Linux answers all of 127/8 on loopback); Streamlit reports it as the
client's IP, where 127.0.0.1 reads as local."""


def _get(port: int, path: str) -> urllib.request.addinfourl:
    return urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)


@contextmanager
def _dashboard(env: dict[str, str], tmp_path: Path, secrets: str | None = None) -> Iterator[int]:
    """A real ``streamlit run dashboard.py`` on a free port with the shipped config (and ``secrets`` as its
    secrets.toml when given); its port once it serves, stopped at the end."""
    port = free_port()
    args = [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port)]
    if secrets is not None:
        (tmp_path / "secrets.toml").write_text(secrets)
        args += ["--secrets.files", str(tmp_path / "secrets.toml")]
    log_path = tmp_path / "streamlit.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _serving(port) or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, log_path.read_text()
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _serving(port: int) -> bool:
    try:
        return _get(port, "/_stcore/health").status == 200
    except OSError:
        return False


def _handshake(port: int, host: str, origin: str) -> int:
    """The HTTP status a websocket upgrade with these ``Host`` and ``Origin`` headers gets (101: accepted)."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: streamlit\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request.encode())
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


@dataclass
class Tab:
    """What a browser tab does over Streamlit's websocket (``_tab`` opens one): reruns of its session."""

    port: int
    cookie: str  # the XSRF cookie, "_streamlit_xsrf=<token>"
    ws: websocket.ClientConnection
    session_id: str = ""

    @property
    def xsrf(self) -> str:
        return self.cookie.split("=", 1)[1]

    def rerun(self, **strings: str) -> list:
        """Run the page (with text widgets, by id, set to the given strings); the elements it drew."""
        back = BackMsg()
        back.rerun_script.query_string = ""
        back.rerun_script.page_script_hash = ""
        for widget_id, value in strings.items():
            back.rerun_script.widget_states.widgets.add(id=widget_id, string_value=value)
        self.ws.send(back.SerializeToString())
        elements = []
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(self.ws.recv(timeout=60))
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.session_id = msg.new_session.initialize.session_id
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                elements.append(msg.delta.new_element)
            elif kind == "script_finished":
                return elements


@contextmanager
def _tab(port: int, *, source: str = "127.0.0.1", resume: str | None = None, cookie: str | None = None,
         forwarded_for: str | None = None) -> Iterator[Tab]:
    """A tab from ``source`` (a local address): its own XSRF cookie (or ``cookie``), then a websocket, presenting
    another tab's session id when ``resume`` is given (as a stolen upload URL allows), through a reverse proxy on
    this machine when ``forwarded_for`` names the client it forwards for; closed at the end."""
    cookie = cookie or _get(port, "/_stcore/health").headers["set-cookie"].split(";")[0]
    sock = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
    protocols = ["streamlit", cookie.split("=", 1)[1]] + ([resume] if resume else [])
    with websocket.connect(f"ws://127.0.0.1:{port}/_stcore/stream", sock=sock, subprotocols=protocols,
                 origin=f"http://127.0.0.1:{port}",
                 additional_headers={"Cookie": cookie} | ({"X-Forwarded-For": forwarded_for} if forwarded_for else {})
                 ) as ws:
        yield Tab(port, cookie, ws)


def _labels(elements: list) -> list[str]:
    return [e.button.label for e in elements if e.WhichOneof("type") == "button"]


def _password_input(elements: list) -> str:
    return next(e.text_input.id for e in elements if e.WhichOneof("type") == "text_input"
                and e.text_input.label.startswith("Admin password"))


def _listening(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net shows them) with a socket listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, _, hex_port = fields[1].rpartition(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # TCP_LISTEN
                found.add(address)
    return found


def test_open_mode_listens_on_loopback_only(scanner_env: dict[str, str], tmp_path: Path) -> None:
    with _dashboard(scanner_env, tmp_path) as port:
        assert _listening(port) == {"0100007F"}  # 127.0.0.1, nothing on 0.0.0.0 or ::


def test_a_websocket_from_a_rebound_host_name_is_refused(scanner_env: dict[str, str], tmp_path: Path) -> None:
    with _dashboard(scanner_env, tmp_path) as port:
        assert _handshake(port, f"evil.example:{port}", f"http://evil.example:{port}") == 403
        assert _handshake(port, f"localhost:{port}", f"http://localhost:{port}") == 101
        assert _handshake(port, f"127.0.0.1:{port}", f"http://127.0.0.1:{port}") == 101


def _upload(tab: Tab, size: int) -> int:
    """The status of a PUT of a ``size``-byte watch-list to this tab's session, as its uploader sends it."""
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="watchlist.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n")
    body = head.encode() + b"A\n" * (size // 2) + f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", tab.port, timeout=30)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": tab.xsrf,
               "Cookie": tab.cookie}
    # The server may answer (413) and close before the body is all sent: its answer is still there to be read.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        connection.request("PUT", f"/_stcore/upload_file/{tab.session_id}/file-{size}", body=body, headers=headers)
    try:
        return connection.getresponse().status
    finally:
        connection.close()


def test_an_upload_over_the_limit_is_refused_before_it_is_read(scanner_env: dict[str, str], tmp_path: Path) -> None:
    with _dashboard(scanner_env, tmp_path) as port, _tab(port) as tab:
        tab.rerun()
        assert _upload(tab, 1000) == 204
        assert _upload(tab, 2 * 1024 * 1024) == 413  # server.maxUploadSize = 1 (MB)


@pytest.mark.parametrize(("source", "with_cookie", "admin_after"),
                         [("127.0.0.1", False, False), (ELSEWHERE, True, False), ("127.0.0.1", True, True)],
                         ids=["same-address-other-browser", "admin-cookie-other-address", "the-admin-reconnecting"])
def test_a_stolen_session_id_does_not_carry_the_unlock(scanner_env: dict[str, str], tmp_path: Path, source: str,
                                                       with_cookie: bool, admin_after: bool) -> None:
    """The admin's session id (in every upload URL, so in proxy logs) presented by another browser on this machine,
    or with the admin's cookie too from another address: Streamlit resumes the session, state and all, but its
    unlock record is bound to the admin's browser and address. The admin's own reconnect keeps it."""
    with _dashboard(scanner_env, tmp_path, secrets=f'[admin]\npassword = "{PASSWORD}"\n') as port, _tab(port) as admin:
        prompt = _password_input(admin.rerun())
        assert "Lock admin actions" in _labels(admin.rerun(**{prompt: PASSWORD}))
        cookie = admin.cookie if with_cookie else None
        with _tab(port, source=source, resume=admin.session_id, cookie=cookie) as other:
            drawn = other.rerun()
            assert other.session_id == admin.session_id  # resumed
            assert ("Lock admin actions" in _labels(drawn)) is admin_after


def test_wrong_passwords_lock_out_the_client_they_came_from(scanner_env: dict[str, str], tmp_path: Path) -> None:
    """Through a reverse proxy on this machine (uvicorn trusts X-Forwarded-For from 127.0.0.1): wrong passwords from
    one client, each from a fresh session (so each waits only a session's first delay), lock that client out,
    counted in Redis under its address; the right password then does not unlock it; another client still unlocks."""
    settings = Settings.from_env(scanner_env)
    redis, keys = connect(settings), Keys(settings.prefix)
    with _dashboard(scanner_env, tmp_path, secrets=f'[admin]\npassword = "{PASSWORD}"\n') as port:
        for entered in [*(f"guess-{attempt}" for attempt in range(POLICY.threshold)), PASSWORD]:
            with _tab(port, forwarded_for="203.0.113.7") as guesser:
                drawn = guesser.rerun(**{_password_input(guesser.rerun()): entered})
        assert int(redis.get(keys.password_failures("203.0.113.7"))) == POLICY.threshold
        assert "Lock admin actions" not in _labels(drawn)
        assert any(e.alert.body.startswith("Too many wrong admin passwords") for e in drawn
                   if e.WhichOneof("type") == "alert")
        with _tab(port, forwarded_for="198.51.100.4") as admin:
            prompt = _password_input(admin.rerun())
            assert "Lock admin actions" in _labels(admin.rerun(**{prompt: PASSWORD}))
        assert not redis.exists(keys.password_failures("198.51.100.4"))
