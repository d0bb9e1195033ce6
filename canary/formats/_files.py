"""Output files for copies: checked up front, written to temps, renamed only at the end.

A copy must never be half-written under its final name, must never overwrite an
existing file (the register would point at someone else's bytes), and must never be
the source itself. `Outputs` owns the temps of one `write_copies` call: `commit()`
moves them into place, anything else (`abort()`, an exception) removes them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from canary.errors import InputError
from canary.files import make_private

log = logging.getLogger(__name__)


def check_targets(paths: Sequence[Path | None], source: Path | None = None) -> None:
    """Refuse outputs that exist, repeat, or are the source, before anything is written."""
    seen: set[Path] = set()
    src = source.resolve() if source is not None else None
    for p in paths:
        if p is None:  # a table target given to a format that writes files
            raise InputError("--out-url is only for database sources; this source writes files")
        rp = Path(p).resolve()
        if src is not None and rp == src:
            raise InputError(f"{p} is the source itself; choose another output path")
        if rp in seen:
            raise InputError(f"{p} is named twice as an output; give each copy its own path")
        seen.add(rp)
        if rp.exists():
            raise InputError(f"{p} already exists; remove it or choose another output path")
        if not rp.parent.is_dir():
            raise InputError(f"{rp.parent} is not a directory; create it first")


class Outputs:
    """Temp files beside each final path; renamed into place by `commit`."""

    def __init__(self, paths: Sequence[Path | None], source: Path | None = None) -> None:
        check_targets(paths, source)
        self.finals = [Path(p).resolve() for p in paths if p is not None]
        self.temps: list[Path] = []
        self._done = False
        try:
            for final in self.finals:
                fd, name = tempfile.mkstemp(
                    prefix=f".{final.name[:80]}.", suffix=".part", dir=final.parent
                )
                os.close(fd)
                self.temps.append(Path(name))
                make_private(name)  # a copy holds the canary list: for its owner alone
        except OSError as exc:
            self.abort()
            raise InputError(f"cannot create a file in {exc.filename}: {exc.strerror}") from exc

    def __enter__(self) -> Outputs:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._done:
            self.abort()

    def abort(self) -> None:
        """Remove every temp (and any final already placed by a failed commit)."""
        for t in self.temps:
            t.unlink(missing_ok=True)
        self._done = True

    def commit(self, durable: bool = True) -> None:
        """Move every temp to its final name; never overwrite a file that appeared meanwhile.

        With `durable`, each temp is flushed to disk first, so a copy the register
        will point at is whole even after a crash.
        """
        placed: list[Path] = []
        try:
            if durable:
                for tmp in self.temps:
                    fd = os.open(tmp, os.O_RDONLY)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
            for tmp, final in zip(self.temps, self.finals, strict=True):
                try:
                    os.link(tmp, final)  # fails if final exists: no silent overwrite
                    tmp.unlink()
                except FileExistsError:
                    raise InputError(
                        f"{final} appeared while the copy was written; nothing was kept"
                    ) from None
                except OSError:  # filesystem without hard links
                    if final.exists():
                        raise InputError(
                            f"{final} appeared while the copy was written; nothing was kept"
                        ) from None
                    os.replace(tmp, final)
                placed.append(final)
        except BaseException:
            for p in placed:
                p.unlink(missing_ok=True)
            self.abort()
            raise
        self._done = True


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
