"""AppTest of the page frame and the admin-only callbacks (scanner/ui/page.py) on a small page of their own."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script() -> None:
    import redis
    import streamlit as st

    from scanner.errors import SettingsError
    from scanner.ui.page import Notice, NoticeKind, admin_action, page_frame

    notice = Notice("test_notice")
    other = Notice("test_notice", "other")  # same slot, another section: never shows this page's notices
    ran = st.session_state.setdefault("ran", [])

    @admin_action(notice, denied="Only admins.", unavailable="Redis unavailable: nothing was done.",
                  refused="Refused: {error}", refused_kind=NoticeKind.WARNING)
    def act(how: str) -> str | tuple[NoticeKind, str]:
        ran.append(how)
        if how == "refuse":
            raise SettingsError("bad input")
        if how == "redis":
            raise redis.ConnectionError("down")
        return (NoticeKind.INFO, "For your information.") if how == "info" else "Done."

    with page_frame("Test page", notice=notice, offline=lambda: st.caption("offline view")):
        st.button("other", key="other", on_click=other.post, args=(NoticeKind.SUCCESS, "Other section."))
        other.show()
        for how in ("ok", "refuse", "redis", "info"):
            st.button(how, key=how, on_click=act, args=(how,))
        if st.session_state.get("break"):
            raise redis.TimeoutError("gone")
        st.caption("body done")


def _app(secrets: dict | None = None) -> AppTest:
    at = AppTest.from_function(_script, default_timeout=60)
    at.secrets = secrets or {}
    return at.run()


def test_the_frame_draws_title_guard_and_body(scanner_env) -> None:
    at = _app()
    assert not at.exception
    assert [t.value for t in at.title] == ["Test page"]
    assert any(c.value.startswith("Open access") for c in at.sidebar.caption)
    assert any(c.value.startswith("Data source:") for c in at.sidebar.caption)
    assert "body done" in [c.value for c in at.caption]


def test_each_outcome_is_one_notice_shown_once(scanner_env) -> None:
    at = _app()
    at.button(key="ok").click().run()
    assert [s.value for s in at.success] == ["Done."]
    at.run()
    assert not at.success  # shown once, then gone
    at.button(key="refuse").click().run()
    assert [w.value for w in at.warning] == ["Refused: bad input"]
    at.button(key="redis").click().run()
    assert [e.value for e in at.error] == ["Redis unavailable: nothing was done."]
    at.button(key="info").click().run()
    assert [i.value for i in at.info] == ["For your information."]
    assert at.session_state["ran"] == ["ok", "refuse", "redis", "info"]
    assert not at.exception


def test_a_section_shows_only_its_own_notice(scanner_env) -> None:
    at = _app()
    at.button(key="other").click().run()  # the frame's notice (no section) leaves it to its section
    assert [s.value for s in at.success] == ["Other section."]
    at.button(key="ok").click().run()
    assert [s.value for s in at.success] == ["Done."]


def test_a_non_admins_event_runs_nothing(scanner_env) -> None:
    at = _app({"admin": {"password": "s3cret"}})
    at.button(key="ok").click().run()  # a stale or forged event: the page would not draw the button
    assert [e.value for e in at.error] == ["Only admins."]
    assert at.session_state["ran"] == []


def test_redis_failing_in_the_body_is_the_banner_then_the_offline_view(scanner_env) -> None:
    at = _app()
    at.session_state["break"] = True
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("Redis unavailable: ")
    assert "(TimeoutError)" in at.error[0].value
    captions = [c.value for c in at.caption]
    assert "offline view" in captions and "body done" not in captions
