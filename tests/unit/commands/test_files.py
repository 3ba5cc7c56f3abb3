"""A command's input and output files: ``-`` is standard input/output; a path that fails is named, once."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from scanner.commands.files import read_input, write_output
from scanner.errors import SettingsError


def test_dash_reads_standard_input_and_a_path_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"AAPL\n")))
    assert read_input("-") == b"AAPL\n"
    (tmp_path / "list.csv").write_bytes(b"MSFT\n")
    assert read_input(str(tmp_path / "list.csv")) == b"MSFT\n"


def test_a_missing_input_file_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^cannot read .*missing.csv: No such file or directory$"):
        read_input(str(tmp_path / "missing.csv"))


def test_output_goes_to_standard_output_or_the_file_said(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_output("a,b\n", "-")
    assert capsys.readouterr().out == "a,b\n"
    write_output("c\n", str(tmp_path / "out.csv"))
    assert (tmp_path / "out.csv").read_text() == "c\n"
    assert capsys.readouterr().err == f"wrote {tmp_path / 'out.csv'}\n"


def test_an_unwritable_output_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^cannot write .*nowhere/out.csv: No such file or directory$"):
        write_output("x", str(tmp_path / "nowhere" / "out.csv"))
