"""Folding text for name and id matching: no accents, no case, words split on anything else.

"María  LÓPEZ-García" and "maria lopez garcia" fold to the same words, so a canary's
name is found in a chat message, a CSV row (one column per name part) or an XLSX dump.
"""

from __future__ import annotations

import re
import unicodedata

#: ASCII letters and digits kept (upper case lowered), every other byte a space.
_TABLE = bytes(
    c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122) else 32 for c in range(256)
)


def words(text: str) -> list[str]:
    """The folded words of `text`: lower case ASCII letters and digits."""
    folded = text.casefold()
    if folded.isascii():
        raw = folded.encode("ascii")
    else:  # decompose, then drop the accents (and anything not Latin)
        raw = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore")
    return raw.translate(_TABLE).decode("ascii").split()


_LOWER = bytes(c + 32 if 65 <= c <= 90 else c for c in range(256))
_NOT_ALNUM = bytes(c for c in range(256) if not (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122))


def compact(text: str) -> str:
    """The folded words of `text` run together: "Núñez-Peña, María" -> "nunezpenamaria"."""
    if text.isascii():
        raw = text.encode("ascii")
    else:
        raw = unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore")
    return raw.translate(_LOWER, _NOT_ALNUM).decode("ascii")


def fold(text: str) -> str:
    """Lower case ASCII words separated by single spaces (accents dropped, ß -> ss...)."""
    return " ".join(words(text))


def contains_words(haystack_folded: str, needle_folded: str) -> bool:
    """True when the folded needle appears in the folded haystack as whole words."""
    if not needle_folded:
        return False
    return f" {needle_folded} " in f" {haystack_folded} "


# --- hostile text shown to people -----------------------------------------------------
#
# Whatever a sender writes (an SMTP client's HELO, a message's Subject, a webhook's
# body) may end up on a terminal, in the log, in an alert or on a page. This is the one
# place that makes it safe to show: every character that could move a cursor, change
# colours, rewrite a title bar, reorder text (bidi overrides) or hide itself
# (zero-width) goes; line breaks and tabs become spaces unless the caller keeps them.

#: C0 and C1 controls, DEL, zero-width and bidi formatting characters, line and
#: paragraph separators, the BOM. Line feed and tab are handled apart.
_HOSTILE = (
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
_HOSTILE_RE = re.compile(_HOSTILE)
_BREAKS_RE = re.compile("\r\n|[\n\r\t\x0b\x0c\x85\u2028\u2029]")
#: The Latin-1 characters `str.isprintable` accepts (a quick test for the common case).
_PRINTABLE_LATIN1 = bytes(c for c in range(256) if chr(c).isprintable())


def printable(s: str) -> bool:
    """`s.isprintable()`, 3-4x quicker for text within Latin-1 (most of it)."""
    try:
        return not s.encode("latin-1").translate(None, _PRINTABLE_LATIN1)
    except UnicodeEncodeError:
        return s.isprintable()


def _kept_break(m: re.Match[str]) -> str:
    return {"\r\n": "\n", "\r": "\n", "\n": "\n", "\t": "\t"}.get(m.group(0), " ")


def safe_text(value: object, limit: int = 1000, *, keep_lines: bool = False) -> str:
    """Hostile text made safe to show: bounded, no control or invisible characters.

    Line breaks and tabs become spaces (kept as newlines and tabs with `keep_lines`),
    undecodable bytes and lone surrogates become U+FFFD, every other control, bidi or
    zero-width character is dropped. At most `limit` characters ("…" marks a cut).
    """
    if value.__class__ is str and len(value) <= limit and value.isascii() and value.isprintable():
        return value if keep_lines else value.strip()  # the common case, as below, at once
    if value is None:
        return ""
    try:
        s = value if isinstance(value, str) else str(value)
    except Exception:
        return ""
    s = s[: limit * 4]
    if not printable(s):
        if keep_lines:
            s = _BREAKS_RE.sub(_kept_break, s)
        else:
            s = _BREAKS_RE.sub(" ", s)
        try:
            s = s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:  # surrogates outside the escaped-byte range
            s = s.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        s = _HOSTILE_RE.sub("", s)
    s = s if keep_lines else s.strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"
