"""Folding text for name and id matching: no accents, no case, words split on anything else.

"María  LÓPEZ-García" and "maria lopez garcia" fold to the same words, so a canary's
name is found in a chat message, a CSV row (one column per name part) or an XLSX dump.
"""

from __future__ import annotations

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
