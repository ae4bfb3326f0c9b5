"""The folder ``serve`` reads (``streamagg.testing._folder``): reading one recording safely when
the folder changed since it was listed (a link swapped in, a file grown or made unreadable)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from streamagg.testing._folder import NotServedError, _read_at_most, read_recording, scan

from .helpers import STREAMS

RAW = (STREAMS / "openai-python__plain-content.sse").read_bytes()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "recordings"
    path.mkdir()
    (path / "plain.sse").write_bytes(RAW)
    return path


def refusal(path: Path, folder: Path, limit: int = 1 << 20) -> str:
    """The message of the 403 that reading ``path`` gets."""
    with pytest.raises(NotServedError) as info:
        read_recording(path, folder.resolve(), limit)
    assert (info.value.status, info.value.kind) == (403, "permission_error")
    return info.value.message


def test_a_plain_recording_is_read_whole(folder: Path) -> None:
    """A regular file inside the folder is read, with its version."""
    data, version = read_recording(folder / "plain.sse", folder.resolve(), len(RAW))
    assert data == RAW
    assert version[1] == len(RAW)


def test_a_link_swapped_in_after_the_listing_is_refused(folder: Path, tmp_path: Path) -> None:
    """Links that lead out of the folder, or into a loop, are refused when read (not only when
    listed); a file gone since is ``FileNotFoundError``."""
    (tmp_path / "secret.sse").write_bytes(b"secret")
    (folder / "out.sse").symlink_to(tmp_path / "secret.sse")
    assert refusal(folder / "out.sse", folder).endswith("it leads outside the folder")
    (folder / "loop.sse").symlink_to(folder / "loop.sse")
    assert "a loop of links" in refusal(folder / "loop.sse", folder)
    with pytest.raises(FileNotFoundError):
        read_recording(folder / "gone.sse", folder.resolve(), 100)


def test_a_file_that_cannot_be_opened_or_is_too_large_is_refused(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file the process may not open, or larger than the limit, is a 403 saying why; a file
    removed between its check and its opening is ``FileNotFoundError``."""
    assert refusal(folder / "plain.sse", folder, limit=10) == (
        "recording 'plain' is not served: it is larger than 10 bytes"
    )
    real = os.open

    def denied(path: Any, flags: int, *args: Any) -> int:
        if str(path).endswith("plain.sse"):
            raise PermissionError(13, "Permission denied")
        return real(path, flags, *args)

    monkeypatch.setattr(os, "open", denied)
    assert refusal(folder / "plain.sse", folder).endswith("it cannot be read (Permission denied)")

    def vanished(path: Any, flags: int, *args: Any) -> int:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(os, "open", vanished)
    with pytest.raises(FileNotFoundError):
        read_recording(folder / "plain.sse", folder.resolve(), 1 << 20)


def test_a_file_that_grew_since_its_stat_is_read_at_most_to_the_limit(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads go on in pieces while they come back full (the file is longer than its ``stat``
    said) and stop one byte past the limit, which ``read_recording`` refuses."""
    fd = os.open(folder / "plain.sse", os.O_RDONLY)
    try:
        assert _read_at_most(fd, 0, 100) == RAW[:101]
    finally:
        os.close(fd)
    real = os.fstat

    def small(fd: int) -> os.stat_result:
        info = list(real(fd))
        info[6] = 10  # st_size: what the file held when its stat was taken
        return os.stat_result(info)

    monkeypatch.setattr(os, "fstat", small)
    assert refusal(folder / "plain.sse", folder, limit=100).endswith("larger than 100 bytes")


def test_a_subfolder_that_is_not_a_folder_any_more_is_skipped(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry whose type cannot be read is not walked; the rest is listed."""
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.sse").write_bytes(RAW)
    real = os.DirEntry.is_dir

    def is_dir(entry: os.DirEntry[str], *, follow_symlinks: bool = True) -> bool:
        if entry.name == "sub":
            raise PermissionError(13, "Permission denied")
        return real(entry, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(os.DirEntry, "is_dir", is_dir)
    assert list(scan(folder, 1 << 20).paths) == ["plain"]
