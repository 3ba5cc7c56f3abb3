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
