"""What every page does around its own content: ``page_frame`` (title, access guard, settings and store, the
Redis-down banner) and ``admin_action`` (the admin check and the refusals of a button callback), with the
``Notice`` a callback leaves for the run that follows it.

A page reads::

    with page_frame("Scan monitor", notice=NOTICE) as page:
        state = monitor_state(page.settings, page.store)
        ...

and an admin-only callback::

    @admin_action(NOTICE, denied="Only admins may do that; nothing was done.", ...)
    def _act(...) -> str: ...   # the success text, or (NoticeKind, text); a ScannerError is a refusal
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import ParamSpec

import streamlit as st

from scanner.config import Settings
from scanner.errors import REDIS_ERRORS, RedisUnavailable, ScannerError
from scanner.store.connection import redis_failure
from scanner.ui.auth import Access, current_access, guard_page
from scanner.ui.context import PageContext, page_context, redis_failed

P = ParamSpec("P")


class NoticeKind(Enum):
    """How a notice is drawn: the value names the Streamlit element (``st.success`` ...)."""

    SUCCESS = "success"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


Outcome = str | tuple[NoticeKind, str]  # what an action reports: a success text, or a kind and a text


@dataclass(frozen=True)
class Notice:
    """A message slot in the session: a button callback posts, the rerun that follows shows it once.

    Notices of one page may share a ``key`` and differ by ``section``: each section shows only its own, next to
    the controls it is about, and a newer post replaces an older one whatever its section.
    """

    key: str
    section: str = ""

    def post(self, kind: NoticeKind, text: str) -> None:
        st.session_state[self.key] = (self.section, kind, text)

    def show(self) -> None:
        """Draw and forget the posted notice, if it belongs to this section."""
        posted = st.session_state.get(self.key)
        if posted is None or posted[0] != self.section:
            return
        del st.session_state[self.key]
        _, kind, text = posted
        getattr(st, kind.value)(text)


@dataclass(frozen=True)
class Page(PageContext):
    """A page's settings and store, and who is looking."""

    access: Access


@contextmanager
def page_frame(title: str, *, notice: Notice | None = None,
               offline: Callable[[], None] | None = None) -> Iterator[Page]:
    """The title, the access guard (a logged-out visitor stops here), the settings and store (a configuration
    error or an unreachable Redis stops here with a banner), then ``notice`` if given (a page that shows its
    notice further down calls ``Notice.show`` itself).

    Redis failing while the body draws (unreachable, or any refusal: out of memory, a missing permission ...) ends
    the body with a one-line banner and a retry timer, then ``offline`` draws whatever the page keeps for that
    case; a traceback never reaches the user.
    """
    st.title(title)
    access = guard_page()
    ctx = page_context()
    if notice is not None:
        notice.show()
    try:
        yield Page(settings=ctx.settings, store=ctx.store, access=access)
    except REDIS_ERRORS as exc:
        redis_failed(exc, ctx.settings)
        if offline is not None:
            offline()


def admin_action(notice: Notice, *, denied: str, unavailable: str, refused: str,
                 refused_kind: NoticeKind = NoticeKind.ERROR,
                 allowed: Callable[[Access], bool] = lambda access: access.admin,
                 ) -> Callable[[Callable[P, Outcome]], Callable[P, None]]:
    """Make ``action`` a button callback that only admins may run (or whom ``allowed`` lets: a signed-in user's
    own saved screens), its outcome posted to ``notice``.

    The buttons are drawn for admins only, so ``denied`` answers a stale or forged event (nothing runs).
    ``unavailable`` answers Redis being down, and ``refused`` (a format with ``{error}``) a ``ScannerError`` or any
    other Redis error (in the one line ``redis_failure`` gives it).
    """

    def decorate(action: Callable[P, Outcome]) -> Callable[P, None]:
        @functools.wraps(action)
        def callback(*args: P.args, **kwargs: P.kwargs) -> None:
            if not allowed(current_access()):
                notice.post(NoticeKind.ERROR, denied)
                return
            try:
                outcome = action(*args, **kwargs)
            except REDIS_ERRORS as exc:
                failure = redis_failure(exc, Settings.from_env())
                outcome = (NoticeKind.ERROR, unavailable if isinstance(failure, RedisUnavailable)
                           else refused.format(error=failure))
            except ScannerError as exc:
                outcome = (refused_kind, refused.format(error=exc))
            notice.post(*((NoticeKind.SUCCESS, outcome) if isinstance(outcome, str) else outcome))

        return callback

    return decorate
