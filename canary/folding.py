"""Folding text for name and id matching: no accents, no case, words split on anything else.

"María  LÓPEZ-García" and "maria lopez garcia" fold to the same words, so a canary's
name is found in a chat message, a CSV row (one column per name part) or an XLSX dump.
"""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower case ASCII words separated by single spaces (accents dropped, ß -> ss...)."""
    folded = text.casefold()
    if not folded.isascii():  # decompose, then drop the accents (and anything not Latin)
        folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode("ascii")
    return _NON_WORD.sub(" ", folded).strip()


def contains_words(haystack_folded: str, needle_folded: str) -> bool:
    """True when the folded needle appears in the folded haystack as whole words."""
    if not needle_folded:
        return False
    return f" {needle_folded} " in f" {haystack_folded} "
