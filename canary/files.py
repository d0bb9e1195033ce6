"""Files the tool writes are for its owner alone: 0600 files, 0700 folders, whatever the umask.

Every place that creates a file (config, store, copies, evidence, bundles, exports,
alert logs) goes through these helpers, so no umask, however loose, lets another
local user read a canary list, a provider secret or the session-signing key.

The mode is set on the open descriptor (`fchmod`) right after creation, before a
byte is written, so there is no moment when the file is readable by others.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700
_O_BINARY = getattr(os, "O_BINARY", 0)


def private_dir(path: str | Path) -> Path:
    """Make `path` (and missing parents) as folders only the owner can enter.

    Folders that already exist are left as they are (they may be shared on purpose,
    such as the user's home); only the ones created here are 0700.
    """
    p = Path(path)
    missing: list[Path] = []
    cur = p
    while not cur.exists():
        missing.append(cur)
        if cur.parent == cur:
            break
        cur = cur.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(d, DIR_MODE)  # mkdir's mode is filtered by the umask; chmod is not
    return p


def _chmod_fd(fd: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, FILE_MODE)


def open_private_fd(path: str | Path, flags: int = os.O_WRONLY | os.O_TRUNC) -> int:
    """An OS-level descriptor on `path`, created 0600 (an existing file keeps its mode)."""
    fd = os.open(path, flags | os.O_CREAT | _O_BINARY, FILE_MODE)
    try:
        st = os.fstat(fd)
        if st.st_size == 0 and stat.S_IMODE(st.st_mode) != FILE_MODE:
            _chmod_fd(fd)  # created under a umask that narrowed or widened it: set it exactly
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_private(
    path: str | Path, mode: str = "wb", *, encoding: str | None = None, newline: str | None = None
) -> IO[Any]:
    """`open(path, mode)` for writing (w, a, x; text or binary), the file created 0600."""
    base = mode.replace("b", "").replace("t", "").replace("+", "")
    plus = "+" in mode
    rw = os.O_RDWR if plus else os.O_WRONLY
    if base == "w":
        flags = rw | os.O_TRUNC
    elif base == "a":
        flags = rw | os.O_APPEND
    elif base == "x":
        flags = rw | os.O_EXCL
    else:
        raise ValueError(f"open_private is for writing, not mode {mode!r}")
    fd = open_private_fd(path, flags)
    try:
        if "b" in mode:
            return os.fdopen(fd, mode)
        return os.fdopen(fd, mode, encoding=encoding or "utf-8", newline=newline)
    except BaseException:
        os.close(fd)
        raise


def create_private(path: str | Path) -> bool:
    """Create `path` empty and 0600 unless it exists; True when created.

    Used before a library (SQLite, a zip writer) opens the file itself: SQLite then
    gives its -wal, -shm and -journal files the database file's mode.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, FILE_MODE)
    except FileExistsError:
        return False
    try:
        _chmod_fd(fd)
    finally:
        os.close(fd)
    return True


def make_private(path: str | Path) -> None:
    """Set an existing file we just wrote (through a library) to 0600."""
    os.chmod(path, FILE_MODE)


def write_private(path: str | Path, data: bytes | str, *, exclusive: bool = False) -> None:
    """Write `data` to `path` (created 0600; `exclusive` refuses an existing file)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with open_private(path, "xb" if exclusive else "wb") as f:
        f.write(raw)


def readable_by_others(path: str | Path) -> bool:
    """True when group or others may read (or, for a folder, enter) `path`."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    return bool(mode & 0o077)


def chmod_fix(path: str | Path) -> str:
    """The command that makes `path` private (600 for files, 700 for folders)."""
    p = Path(path)
    want = "700" if p.is_dir() else "600"
    return f"chmod {want} {_shell_quote(str(p))}"


def _shell_quote(s: str) -> str:
    import shlex

    return shlex.quote(s)
