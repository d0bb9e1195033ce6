"""Files inside files: zip archives and e-mails, each thing inside read as its content says.

A leak often arrives wrapped: the PDF of a list zipped, a spreadsheet attached to a
message, a zip inside a zip. Each member or attachment is copied (bounded by the size
its archive declares) to a private temporary file and read by the reader its own
content calls for, recursively. All of it counts against one budget for the dump
(`canary.investigate.limits.nested`): nesting depth, files opened, bytes unpacked; and
each archive is checked (entries, unpacked size, compression ratio) before it is read.
A name inside an archive or a message is never used as a path.
"""

from __future__ import annotations

import email
import email.policy
import logging
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

from canary.errors import InputError
from canary.files import open_private
from canary.investigate import limits
from canary.investigate.limits import Budget
from canary.investigate.office import html_text
from canary.investigate.readers import detect_encoding, printable_text, raw_pieces, read_pieces
from canary.investigate.sniff import Format, detect_file_format

log = logging.getLogger(__name__)

#: Message headers whose values are searched (addresses and names sit there too).
MAIL_HEADERS = ("From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Subject")
COPY_BLOCK = 1 << 20


def zip_pieces(path: Path, fmt: Format, budget: Budget) -> Iterator[str]:
    """Every member of a zip archive, read by its content, recursively."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:  # damaged: search its bytes
        log.warning("%s is not a readable zip archive (%s); scanning its bytes", path.name, exc)
        yield from raw_pieces(path, fmt, budget)
        return
    with zf, tempfile.TemporaryDirectory(prefix="canary-zip-") as tmp:
        members = [i for i in zf.infolist() if not i.is_dir()]
        locked = [i.filename for i in members if i.flag_bits & 0x1]
        if members and len(locked) == len(members):
            raise InputError(
                f"{path.name} is a password-protected archive; give the files it holds"
            )
        for name in locked:
            log.warning("%s: %r is password-protected and was not read", path.name, name[:100])
        for n, info in enumerate(i for i in members if not i.flag_bits & 0x1):
            with limits.nested(budget, path, info.file_size):
                member = Path(tmp) / f"member-{n}"
                try:
                    with zf.open(info) as src, open_private(member, "wb") as dst:
                        shutil.copyfileobj(src, dst, COPY_BLOCK)
                except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                    log.warning("%s: %r is damaged (%s)", path.name, info.filename[:100], exc)
                    continue
                yield from _inner(member, info.filename, budget)
                member.unlink()


def email_pieces(path: Path, fmt: Format, budget: Budget) -> Iterator[str]:
    """A message's headers, its text, and every attachment read by its content."""
    try:
        with path.open("rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        yield from _headers(msg, everyone=True)
        yield from _parts(path, msg, budget)
    except RecursionError as exc:
        raise limits.LimitExceeded(
            f"{path.name}: a message with parts nested too deep to read; the file was not read"
        ) from exc


def _parts(path: Path, msg: Message, budget: Budget) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="canary-mail-") as tmp:
        for n, part in enumerate(msg.walk()):
            if part is not msg:
                yield from _headers(part)  # a forwarded message's own From, To, Subject
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes) or not payload:
                continue
            ctype = part.get_content_type()
            inline = part.get_content_disposition() != "attachment"
            with limits.nested(budget, path, len(payload)):
                if ctype == "text/plain" and inline:
                    yield printable_text(_decode(payload, part)) + "\n"
                elif ctype == "text/html" and inline:
                    yield from html_text([_decode(payload, part)])
                else:
                    member = Path(tmp) / f"part-{n}"
                    with open_private(member, "wb") as dst:
                        dst.write(payload)
                    yield from _inner(member, part.get_filename() or ctype, budget)
                    member.unlink()


def _inner(member: Path, label: str, budget: Budget) -> Iterator[str]:
    """A file found inside another, read as its own content says."""
    fmt = detect_file_format(member)
    log.info("reading %r inside the dump as %s", label[:100], fmt)
    yield from read_pieces(member, fmt, budget)
    yield "\n"


def _headers(msg: Message, everyone: bool = False) -> Iterator[str]:
    """The message's address and subject headers; `everyone`: all its headers (a text
    that only looked like a message keeps every line of its head)."""
    try:
        if everyone:
            pairs: list[tuple[str, object]] = list(msg.items())
        else:
            pairs = [(name, v) for name in MAIL_HEADERS for v in msg.get_all(name) or []]
    except Exception as exc:  # a header the parser chokes on: the headers as written
        log.info("headers read as written (%s)", exc)
        pairs = list(msg.raw_items())
    lines = [f"{name}: {_header_text(value)}\n" for name, value in pairs]
    if lines:
        yield printable_text("".join(lines))


def _header_text(value: object) -> str:
    """A header's value, encoded words (=?utf-8?q?...?=) and raw UTF-8 decoded."""
    try:
        return str(value)
    except Exception:  # a header the parser could not make sense of: skip it
        return ""


def _decode(payload: bytes, part: Message) -> str:
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:  # an unknown charset name: guess as for any file
        return payload.decode(detect_encoding(payload[:65536]), "replace")
