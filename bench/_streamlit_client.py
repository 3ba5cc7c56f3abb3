"""A viewer without a browser: one Streamlit session over ``/_stcore/stream``, speaking the frontend's protocol.

What the browser's frontend does, and only that: it opens the websocket with the ``streamlit`` subprotocol, sends a
``BackMsg`` ``rerun_script`` (a ``ClientState`` with the page's query string, the page's script hash once the server
named it, the widget states and the hashes of the big messages it already holds, which the server then sends as
references), and draws the ``ForwardMsg``s that follow until ``script_finished``. The page's timer
(``streamlit-autorefresh``, a custom component) reruns it by sending its counter, one more each time, as the
component's widget value; the interval is the one the page last gave the component.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect

AUTOREFRESH = "st_autorefresh"  # the component's name ends with it (streamlit_autorefresh.st_autorefresh)
MAX_MESSAGE = 200 * 1024 * 1024  # Streamlit's own default cap (server.maxMessageSize) is 200 MB


class RerunFailed(Exception):
    """The script did not finish as a browser would see it finish (an exception on the page, a compile error)."""


@dataclass
class Rerun:
    """One rerun as the viewer saw it."""

    seconds: float  # from sending the request to the script_finished message
    messages: int
    received_bytes: int
    exceptions: list[str] = field(default_factory=list)  # st.exception elements the page drew (a traceback)


class ViewerSession:
    """One browser tab on one page of a ``streamlit run`` server."""

    def __init__(self, url: str, query_string: str = "") -> None:
        self.stream_url = url.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
        self.query_string = query_string
        self.page_script_hash = ""
        self.refresh_id: str | None = None  # the autorefresh component's widget id, once drawn
        self.refresh_ms: int | None = None  # the interval the page last asked for
        self.refresh_count = 0
        self.cached_hashes: set[str] = set()
        self._socket: ClientConnection | None = None

    async def open(self) -> None:
        self._socket = await connect(self.stream_url, subprotocols=["streamlit"], max_size=MAX_MESSAGE,
                                     compression=None, open_timeout=60, ping_interval=None)

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()

    async def rerun(self, *, timer: bool) -> Rerun:
        """A rerun as the browser asks for it: the first load, or (``timer``) the autorefresh component firing."""
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_script_hash
        state.cached_message_hashes.extend(sorted(self.cached_hashes))
        if timer and self.refresh_id is not None:
            self.refresh_count += 1
            widget = state.widget_states.widgets.add()
            widget.id = self.refresh_id
            widget.json_value = json.dumps(self.refresh_count)
        started = time.perf_counter()
        await self._socket.send(message.SerializeToString())
        return await self._until_finished(started)

    async def _until_finished(self, started: float) -> Rerun:
        rerun = Rerun(seconds=0.0, messages=0, received_bytes=0)
        while True:
            raw = await self._socket.recv()
            rerun.messages += 1
            rerun.received_bytes += len(raw)
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if msg.metadata.cacheable and msg.hash:
                self.cached_hashes.add(msg.hash)
            if kind == "new_session":
                self.page_script_hash = msg.new_session.page_script_hash
            elif kind == "delta":
                self._read_delta(msg, rerun)
            elif kind == "script_finished":
                status = msg.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue
                rerun.seconds = time.perf_counter() - started
                if status != ForwardMsg.FINISHED_SUCCESSFULLY:
                    raise RerunFailed(ForwardMsg.ScriptFinishedStatus.Name(status))
                return rerun

    def _read_delta(self, msg: ForwardMsg, rerun: Rerun) -> None:
        if msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            rerun.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "component_instance" and element.component_instance.component_name.endswith(AUTOREFRESH):
            self.refresh_id = element.component_instance.id
            self.refresh_ms = int(json.loads(element.component_instance.json_args)["interval"])
