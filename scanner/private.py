"""Folders and files under the data directory, private to the user running the app (0700 / 0600).

The scan logs and the embedded server's RDB/AOF files hold the lock token and everything stored (settings,
positions); a shared machine's other users must not read them, whatever umask the app was started under."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

FOLDER_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077  # for a child process (the embedded server) that creates files of its own


def private_folder(path: Path) -> Path:
    """``path`` created if missing, and made 0700 either way (a folder made before this rule included)."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    path.chmod(FOLDER_MODE)
    return path


def open_private(path: Path, *, append: bool = True) -> BinaryIO:
    """``path`` opened for writing (appended to, or truncated), created 0600 and made 0600 if it existed."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC), FILE_MODE)
    os.fchmod(descriptor, FILE_MODE)
    return os.fdopen(descriptor, "ab" if append else "wb")
