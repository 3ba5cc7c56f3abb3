"""Uploaded files, refused by size before anything reads them (issue 14: a 50 MB watch-list took 2 GB to parse).

``server.maxUploadSize`` in ``.streamlit/config.toml`` caps what the server accepts at all; this check holds even
when the app runs without that file (another working directory) and gives the page a clear one-line refusal.
"""

from __future__ import annotations

from streamlit.runtime.uploaded_file_manager import UploadedFile

from scanner.errors import SettingsError

MAX_IMPORT_BYTES = 1024 * 1024
"""The largest import accepted: a watch-list or positions file is kilobytes (a 10,000-symbol list is ~60 KB)."""


def upload_bytes(upload: UploadedFile) -> bytes:
    """The file's bytes, or a ``SettingsError`` naming its size when it is over the limit (nothing parsed)."""
    if upload.size > MAX_IMPORT_BYTES:
        raise SettingsError(f"{upload.name} is {upload.size / 1024:,.0f} KB; imports are limited to "
                            f"{MAX_IMPORT_BYTES / 1024:,.0f} KB")
    return upload.getvalue()
