"""Reading a command's input file and writing its output, ``-`` meaning standard input/output."""

from __future__ import annotations

import sys
from pathlib import Path

from scanner.errors import SettingsError


def read_input(path: str) -> bytes:
    """The bytes of ``path`` (``-``: standard input); a SettingsError naming it when it cannot be read."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None


def write_output(text: str, output: str) -> None:
    """``text`` to standard output (``-``) or to the file ``output``, saying where on standard error."""
    if output == "-":
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text)
    except OSError as exc:
        raise SettingsError(f"cannot write {output}: {exc.strerror}") from None
    print(f"wrote {output}", file=sys.stderr)
