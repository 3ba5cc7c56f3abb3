"""``python -m scanner screens ...`` on the real embedded server: the page's URL parameters validated by the filters'
code, the whole state saved, per user with --user, refusals in one line with exit 2 and nothing saved."""

from __future__ import annotations

import json

from tests.support.processes import run_cli


def test_screens_are_saved_listed_shown_and_deleted_per_user(scanner_env: dict[str, str]) -> None:
    saved = run_cli(["screens", "save", "Rich puts", "--query", "min_ann=40&side=put"], scanner_env)
    assert saved.returncode == 0 and "saved screen 'Rich puts'" in saved.stdout
    shown = json.loads(run_cli(["screens", "show", "Rich puts"], scanner_env).stdout)
    assert shown["query"]["min_ann"] == "40" and shown["query"]["delta_min"] == "-0.2" and shown["channels"] == []
    assert json.loads(run_cli(["screens", "list", "--json", "--user", "ann@example.com"], scanner_env).stdout) == []
    bad = run_cli(["screens", "save", "x", "--query", "min_ann=lots"], scanner_env)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: min_ann='lots': not a number."
    assert "Traceback" not in bad.stderr
    listed = json.loads(run_cli(["screens", "list", "--json"], scanner_env).stdout)
    assert [s["name"] for s in listed] == ["Rich puts"]
    assert run_cli(["screens", "delete", "Rich puts"], scanner_env).returncode == 0
    gone = run_cli(["screens", "show", "Rich puts"], scanner_env)
    assert gone.returncode == 2 and gone.stderr.strip() == "error: no saved screen named 'Rich puts'"


def test_alert_channels_are_added_listed_masked_tested_and_removed(scanner_env: dict[str, str]) -> None:
    from tests.support.alert_servers import PostSink

    assert run_cli(["screens", "save", "Rich", "--query", "rules=1"], scanner_env).returncode == 0
    with PostSink() as hook:
        added = run_cli(["alerts", "add", "Rich", f"json://bot:pw-51fe@127.0.0.1:{hook.port}/hook"], scanner_env)
        assert added.returncode == 0 and "pw-51fe" not in added.stdout and "bot:****@" in added.stdout
        (channel,) = json.loads(run_cli(["alerts", "list", "--json"], scanner_env).stdout)
        assert channel["screen"] == "Rich" and "pw-51fe" not in channel["url"]
        tested = run_cli(["alerts", "test", "Rich"], scanner_env)
        assert tested.returncode == 0 and f"{channel['id']} sent after 1 attempt(s)" in tested.stdout
        assert hook.posts[0]["title"].startswith("[test] Options scanner:")
    (entry,) = json.loads(run_cli(["alerts", "history", "--json"], scanner_env).stdout)
    assert entry["result"] == "sent" and entry["test"] and entry["channel_id"] == channel["id"]
    bad = run_cli(["alerts", "add", "Nope", "json://127.0.0.1:1/x"], scanner_env)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: no saved screen named 'Nope'"
    assert run_cli(["alerts", "remove", channel["id"]], scanner_env).returncode == 0
    assert json.loads(run_cli(["alerts", "list", "--json"], scanner_env).stdout) == []
