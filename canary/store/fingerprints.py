"""Fingerprints of a dataset's rows: enough to recognise them in a dump, not to read them.

When copies are issued, a bounded sample of the source's rows (up to `MAX_ROWS`) is
kept as keyed hashes of their distinctive cells (values that occur once in the
sample: names, emails, phone numbers, ids), never as the values themselves. Each
dataset has its own secret key, kept in the store; a digest is the first 8 bytes of
keyed BLAKE2b over the cell's normal form.

The normal form survives the usual reformatting: case, accents, spacing and
punctuation are dropped ("María  Núñez-Peña" = "maria nunez pena" = "MARIA NUNEZ
PENA"), a number keeps its last ten digits (so "+52 1 (844) 123-4567" =
"8441234567"), and cells are compared one by one, so reordering or dropping columns
does not matter. Short values, numbers under nine digits and codes with fewer than
three letters (dates, amounts, postal codes, "F-00017") are left out: any table has
them.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from canary.store.models import DatasetFingerprint, DatasetFingerprintKey
from canary.text import compact

log = logging.getLogger(__name__)

#: Rows of the sample fingerprinted per dataset.
MAX_ROWS = 2000
#: Distinctive cells kept per row.
MAX_CELLS = 6
#: Shortest normal form kept for a value with letters.
MIN_TEXT = 6
#: Shortest digit run kept (dates and amounts are shorter; phones and national ids longer).
MIN_DIGITS = 9
DIGEST_BYTES = 8


def cell_key(value: str) -> str | None:
    """The normal form of a cell, or None when the cell is too common to tell rows apart.

    A value with fewer than three letters is a number or a code ("F-00017", a date, a
    postal code): any table of the kind has the same ones, so it is kept only when it
    has `MIN_DIGITS` digits or more (a phone, a long account number), as its digits.
    """
    if len(value) < MIN_TEXT or len(value) > 400:
        return None
    key = compact(value)
    if is_text(key):
        return key if len(key) >= MIN_TEXT else None
    digits = key.translate(_NO_LETTERS)
    return digits[-10:] if len(digits) >= MIN_DIGITS else None


_NO_DIGITS = str.maketrans("", "", "0123456789")
_NO_LETTERS = str.maketrans("", "", "abcdefghijklmnopqrstuvwxyz")


def is_text(key: str) -> bool:
    """A normal form (lower-case ASCII letters and digits) with three letters or more."""
    return len(key.translate(_NO_DIGITS)) >= 3


def digest(salt: bytes, key: str) -> str:
    """The keyed hash of a normal form, as hex."""
    return hashlib.blake2b(key.encode("utf-8"), key=salt, digest_size=DIGEST_BYTES).hexdigest()


@dataclass
class Fingerprint:
    row: int
    digest: str
    text: bool  # the value had letters (a name, an email), not only digits


def fingerprint_rows(
    rows: Sequence[Sequence[str]], salt: bytes, *, limit: int = MAX_ROWS
) -> list[Fingerprint]:
    """Fingerprints of up to `limit` rows, each with at least two distinctive cells."""
    keyed = [[k for k in dict.fromkeys(cell_key(v) for v in row) if k] for row in rows]
    counts = Counter(k for ks in keyed for k in ks)
    eligible = []
    for ks in keyed:
        own = [k for k in ks if counts[k] == 1]
        if len(own) >= 2 and any(is_text(k) for k in own):
            eligible.append(own)
    if len(eligible) > limit:
        picker = secrets.SystemRandom()
        eligible = picker.sample(eligible, limit)
    out: list[Fingerprint] = []
    for n, own in enumerate(eligible):
        texts = [k for k in own if is_text(k)]
        numbers = [k for k in own if not is_text(k)]
        chosen = (texts + numbers)[:MAX_CELLS]
        out.extend(Fingerprint(n, digest(salt, k), is_text(k)) for k in chosen)
    return out


def store_fingerprints(session: Session, dataset_id: str, rows: Sequence[Sequence[str]]) -> int:
    """Fingerprint a sample of the dataset's rows in the store; returns the rows kept."""
    salt = secrets.token_bytes(32)
    prints = fingerprint_rows(rows, salt)
    kept = len({p.row for p in prints})
    session.add(DatasetFingerprintKey(dataset_id=dataset_id, salt=salt.hex(), rows_sampled=kept))
    if prints:  # one executemany: an ORM object per print cost 0.1 s per 1,000 rows
        session.execute(
            insert(DatasetFingerprint),
            [
                {"dataset_id": dataset_id, "row": p.row, "digest": p.digest, "text": p.text}
                for p in prints
            ],
        )
    log.info("dataset %s: %d rows fingerprinted (%d cells)", dataset_id, kept, len(prints))
    return kept


@dataclass
class DatasetPrints:
    """One dataset's fingerprints, in memory, for matching."""

    id: str
    salt: bytes
    rows_sampled: int
    #: digest -> [(row, is text)]
    prints: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)


def load_fingerprints(session: Session) -> list[DatasetPrints]:
    """Every dataset's key and fingerprints (bounded: MAX_ROWS x MAX_CELLS per dataset)."""
    out: dict[str, DatasetPrints] = {}
    for k in session.scalars(select(DatasetFingerprintKey)):
        out[k.dataset_id] = DatasetPrints(k.dataset_id, bytes.fromhex(k.salt), k.rows_sampled)
    rows = session.execute(
        select(
            DatasetFingerprint.dataset_id,
            DatasetFingerprint.row,
            DatasetFingerprint.digest,
            DatasetFingerprint.text,
        )
    )
    for dataset_id, row, dg, text in rows:
        ds = out.get(dataset_id)
        if ds is not None:
            ds.prints.setdefault(dg, []).append((row, bool(text)))
    return [d for d in out.values() if d.prints]
