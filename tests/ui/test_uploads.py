"""upload_bytes: an import over the limit is refused by its size, naming it, before anything parses it."""

from __future__ import annotations

import pytest
from streamlit.proto.Common_pb2 import FileURLs
from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileRec

from scanner.errors import SettingsError
from scanner.ui.uploads import MAX_IMPORT_BYTES, upload_bytes


def _upload(data: bytes) -> UploadedFile:
    return UploadedFile(UploadedFileRec("file-1", "watchlist.csv", "text/csv", data), FileURLs())


def test_a_file_within_the_limit_gives_its_bytes() -> None:
    data = b"AAPL,1\n" * (MAX_IMPORT_BYTES // 7)
    assert upload_bytes(_upload(data)) == data


def test_a_file_over_the_limit_is_refused_naming_its_size() -> None:
    with pytest.raises(SettingsError, match=r"^watchlist\.csv is 1,025 KB; imports are limited to 1,024 KB$"):
        upload_bytes(_upload(b"A" * (MAX_IMPORT_BYTES + 1024)))

