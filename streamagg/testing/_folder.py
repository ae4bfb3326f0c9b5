"""The folder ``serve`` answers from: which of its entries (its subfolders' too) are recordings
it serves, and reading one safely (never outside the folder, never a FIFO or a device, never
more than ``MAX_RECORDING`` bytes, with the link checked again on the open file)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from attrs import define, field

__all__ = [
    "MAX_RECORDING",
    "RECORDING_SUFFIXES",
    "Listing",
    "NotServedError",
    "RecordingClashError",
    "Version",
    "read_recording",
    "scan",
    "version_of",
]

#: The largest recording served (bytes); a larger one is refused (403), never read whole.
MAX_RECORDING = 256 * 1024 * 1024
#: The file endings of recordings (event streams, and Ollama's JSON lines).
RECORDING_SUFFIXES = (".sse", ".ndjson", ".jsonl")


class NotServedError(Exception):
    """No recording answers a call: the status, message and error type to answer with (404
    ``not_found``; 403 ``permission_error`` for a recording that is there but refused; 400
    ``invalid_request_error`` for one the call cannot use)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = _KINDS.get(status, "not_found")


_KINDS = {400: "invalid_request_error", 403: "permission_error"}
_PIECE = 1 << 20
Version = tuple[int, int, int]


def version_of(info: os.stat_result) -> Version:
    """What changes when a file (or a folder's list of entries) changes."""
    return info.st_mtime_ns, info.st_size, info.st_ino


@define
class Listing:
    """A folder's recordings, as listed once (its subfolders included): served ones by name
    with their versions, the names of refused ones with the reason, and the names two files
    share (each with the two files, relative to the folder)."""

    paths: dict[str, Path] = field(factory=dict)
    versions: dict[str, Version] = field(factory=dict)
    refused: dict[str, str] = field(factory=dict)
    clashes: dict[str, tuple[str, str]] = field(factory=dict)
    # The folder and each subfolder listed, with its version when it was listed: a file
    # added or removed anywhere changes one of them.
    folders: dict[Path, Version] = field(factory=dict)
    settled: bool = False  # listed long enough after the folders' last change to be kept

    def unchanged(self) -> bool:
        """Whether every folder listed is as it was (blocking I/O: a ``stat`` per folder)."""
        for folder, version in self.folders.items():
            try:
                if version_of(folder.stat()) != version:
                    return False
            except OSError:
                return False
        return True

    def newest(self) -> float:
        """The latest modification time of the folders listed (seconds)."""
        return max((v[0] / 1e9 for v in self.folders.values()), default=0.0)


class RecordingClashError(ValueError):
    """Two files of a folder have one recording name (``a.sse`` and ``sub/a.sse``, or
    ``a.sse`` and ``a.ndjson``): which one a request names would be a guess."""


def _refusal(info: os.stat_result, limit: int) -> str | None:
    """Why a file (its ``stat``) is not served, if it is not."""
    if not stat.S_ISREG(info.st_mode):
        return "it is not a regular file"
    if info.st_size > limit:
        return f"it is larger than {limit} bytes"
    return None


def scan(directory: Path, limit: int) -> Listing:
    """List the recordings of a folder and of its subfolders (blocking I/O).

    An entry with a recording's ending is served when it is, after symbolic links, a regular
    file inside the folder of at most ``limit`` bytes. Subfolders are walked (links to
    folders are not followed, nor folders whose name starts with a dot); a recording's name is
    its file name without the ending, wherever it is, so two files with one name (in two
    subfolders, or ``a.sse`` beside ``a.ndjson``) are a clash: neither is served, and
    ``clashes`` names both. Raises ``OSError`` when the folder itself cannot be listed."""
    scanner = _Scanner(directory, limit)
    pending = [directory]
    while pending:
        current = pending.pop()
        try:
            scanner.listing.folders[current] = version_of(current.stat())
            with os.scandir(current) as entries:
                found = sorted(entries, key=_name)
        except OSError:
            if current == directory:
                raise
            continue  # a subfolder gone or unreadable since it was seen
        pending.extend(Path(e.path) for e in reversed(found) if _is_subfolder(e))
        for entry in found:
            if _is_recording(entry.name):
                scanner.add(entry)
    return scanner.listing


class _Scanner:
    """The listing of one folder as its entries are added."""

    def __init__(self, directory: Path, limit: int) -> None:
        self.directory = directory
        self.folder = directory.resolve()
        self.limit = limit
        self.listing = Listing()
        self._where: dict[str, str] = {}  # the file of each name, relative to the folder

    def add(self, entry: os.DirEntry[str]) -> None:
        """Add an entry with a recording's ending: served, refused or clashing."""
        listing = self.listing
        path = Path(entry.path)
        name = path.stem
        try:
            if entry.is_symlink():
                real = path.resolve(strict=True)
                info = real.stat()
                outside = not real.is_relative_to(self.folder)
            else:
                info = entry.stat(follow_symlinks=False)
                outside = False
        except (OSError, RuntimeError):  # a dangling link, a loop of links, gone
            return
        shown = path.relative_to(self.directory).as_posix()
        if name in self._where:
            first, second = listing.clashes.setdefault(name, (self._where[name], shown))
            listing.paths.pop(name, None)
            listing.versions.pop(name, None)
            listing.refused[name] = f"two files have this name ({first} and {second})"
            return
        self._where[name] = shown
        why = "it leads outside the folder" if outside else _refusal(info, limit=self.limit)
        if why is None:
            listing.paths[name] = path
            listing.versions[name] = version_of(info)
        else:
            listing.refused[name] = why


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _is_subfolder(entry: os.DirEntry[str]) -> bool:
    """A subfolder to walk: a real folder (not a link to one) whose name does not start with
    a dot (``.git``, ``.venv``)."""
    try:
        return not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _is_recording(name: str) -> bool:
    return Path(name).suffix in RECORDING_SUFFIXES


_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # opening a FIFO does not wait for a writer
    | getattr(os, "O_NOFOLLOW", 0)  # the path is resolved: a link now is a swap, refused
    | getattr(os, "O_BINARY", 0)
)


def read_recording(path: Path, folder: Path, limit: int) -> tuple[bytes, Version]:
    """The bytes (and version) of a recording that is, after symbolic links, a regular file
    inside ``folder`` (resolved) of at most ``limit`` bytes; else ``NotServedError`` (403)
    saying why. Blocking I/O: run on a worker thread. The checks are made on the opened file
    (``fstat``) and the read stops after ``limit`` bytes, so a file swapped or grown since the
    folder was listed is refused too; ``FileNotFoundError`` when it is gone."""
    refused = f"recording {path.stem!r} is not served: "
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        raise
    except (OSError, RuntimeError):  # a loop of symbolic links (RuntimeError before 3.13)
        raise NotServedError(403, refused + "it cannot be read (a loop of links?)") from None
    if not real.is_relative_to(folder):
        raise NotServedError(403, refused + "it leads outside the folder")
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise NotServedError(403, refused + f"it cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        why = _refusal(info, limit)
        data = b"" if why else _read_at_most(fd, info.st_size, limit)
    finally:
        os.close(fd)
    if len(data) > limit:
        why = f"it is larger than {limit} bytes"
    if why:
        raise NotServedError(403, refused + why)
    return data, version_of(info)


def _read_at_most(fd: int, size: int, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of a file of ``size`` bytes (by its ``stat``): read at once
    (one buffer of the file's size), then in pieces of 1 MiB only while reads come back full
    (it grew since, or its size was wrong; a regular file reads short only at its end)."""
    want = min(size, limit) + 1
    pieces = [os.read(fd, want)]
    total = len(pieces[0])
    while len(pieces[-1]) == want and total <= limit:
        want = min(_PIECE, limit + 1 - total)
        pieces.append(os.read(fd, want))
        total += len(pieces[-1])
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)
