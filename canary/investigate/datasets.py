"""Whose rows are these? Matching a dump's cells against the datasets' fingerprints.

Even when every canary was stripped from a dump, its real rows still say which
dataset they come from. At issue time a sample of each dataset's rows was kept as
keyed hashes of their distinctive cells (`canary.store.fingerprints`). Here every
cell of the dump is put in the same normal form and hashed with each dataset's key;
a sampled row counts as found when at least two of its cells, one of them text (a
name, an email), occur in one row of the dump (within a few lines of each other in a
JSON document or free text), whatever the column order and format. A dataset is
named when at least `MIN_ROWS` of its sampled rows are found: one or two coincidences
(a common full name beside a matching address) are what an unrelated table of the
same population can produce; three are not.

Memory is bounded by the fingerprints (a few thousand per dataset) and a few recent
sightings per fingerprinted row; the dump itself is never held.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from canary.investigate.sniff import Format, Kind
from canary.store.engine import Store
from canary.store.fingerprints import DatasetPrints, cell_key, digest, load_fingerprints
from canary.store.models import Copy, Dataset

log = logging.getLogger(__name__)

#: Sampled rows that must be found before a dataset is named.
MIN_ROWS = 3
#: A line longer than this is cut into cells without waiting for its end.
MAX_LINE = 64 * 1024
#: Lines of a JSON document or of free text one record may spread over.
WINDOW_LINES = 40
#: Sightings remembered per sampled row (its cells are at most MAX_CELLS).
MAX_SIGHTINGS = 8

_TEXT_SPLIT = re.compile(r"[\t|;,]")
_JSON_VALUE = re.compile(r'"((?:[^"\\\n]|\\.){0,400})"|(?<![\w."])(-?\d{6,20})(?![\w."])')


@dataclass
class DatasetAnswer:
    id: str
    name: str
    rows_matched: int
    copies: list[dict[str, str]]


@dataclass
class _State:
    prints: DatasetPrints
    #: sampled row -> recent sightings of its cells: (line, digest, is text)
    seen: dict[int, list[tuple[int, str, bool]]] = field(default_factory=dict)
    #: sampled rows found: two cells or more, one of them text, close together
    found: set[int] = field(default_factory=set)


class DatasetMatcher:
    """Feed the dump's text pieces; `result` names the datasets its rows come from."""

    def __init__(self, datasets: list[DatasetPrints], fmt: Format | None = None) -> None:
        self.states = [_State(d) for d in datasets]
        kind = fmt.kind if fmt is not None else Kind.TEXT
        self.json = kind in (Kind.JSON, Kind.JSONL)
        #: Table readers (delimited, XLSX, SQLite) separate cells by tabs.
        self.tabbed = kind in (Kind.DELIMITED, Kind.XLSX, Kind.SQLITE)
        #: Lines a row's cells may be spread over: one record per line in a table or JSON
        #: lines; a pretty-printed JSON record or a pasted text spreads over several.
        self.window = 0 if self.tabbed or kind is Kind.JSONL else WINDOW_LINES
        self._carry = ""
        self._line = 0

    @property
    def empty(self) -> bool:
        return not self.states

    def feed(self, text: str, *, final: bool = False) -> None:
        if self.empty:
            return
        buf = self._carry + text
        cut = len(buf) if final else buf.rfind("\n") + 1
        if not final and cut == 0 and len(buf) > MAX_LINE:
            cut = len(buf)  # one endless line (minified JSON): take it as it is
        self._carry = buf[cut:]
        for line in buf[:cut].splitlines():
            self._line += 1
            self.cells(self._split(line))

    def finish(self) -> None:
        self.feed("", final=True)

    def _split(self, line: str) -> Iterable[str]:
        if self.json:
            for m in _JSON_VALUE.finditer(line):
                if m.group(2) is not None:
                    yield m.group(2)
                else:
                    yield _unjson(m.group(1))
        elif self.tabbed:
            yield from (c.strip().strip('"') for c in line.split("\t"))
        else:
            yield from (c.strip().strip('"') for c in _TEXT_SPLIT.split(line))

    def cells(self, values: Iterable[str]) -> None:
        """Match the cell values of one line against every dataset."""
        keys = {k for k in (cell_key(v) for v in values) if k is not None}
        line, oldest = self._line, self._line - self.window
        for key in keys:
            for st in self.states:
                dg = digest(st.prints.salt, key)
                for row, text in st.prints.prints.get(dg, ()):
                    if row in st.found:
                        continue
                    near = [x for x in st.seen.get(row, ()) if x[0] >= oldest and x[1] != dg]
                    near.append((line, dg, text))
                    if len(near) >= 2 and any(t for _, _, t in near):
                        st.found.add(row)
                        st.seen.pop(row, None)
                    else:
                        st.seen[row] = near[-MAX_SIGHTINGS:]

    def rows_found(self) -> dict[str, int]:
        """Sampled rows found per dataset."""
        return {st.prints.id: len(st.found) for st in self.states}

    def result(self, store: Store) -> list[DatasetAnswer]:
        counts = self.rows_found()
        named = {
            st.prints.id: counts[st.prints.id]
            for st in self.states
            if counts[st.prints.id] >= min(MIN_ROWS, max(st.prints.rows_sampled, 1))
        }
        if not named:
            return []
        out: list[DatasetAnswer] = []
        with store.session() as s:
            for ds in s.scalars(select(Dataset).where(Dataset.id.in_(named))):
                copies = s.scalars(
                    select(Copy).where(Copy.dataset_id == ds.id).order_by(Copy.issued_at, Copy.id)
                )
                out.append(
                    DatasetAnswer(
                        ds.id,
                        ds.name,
                        named[ds.id],
                        [
                            {
                                "id": c.id,
                                "recipient": c.recipient,
                                "issued_at": c.issued_at.isoformat(),
                            }
                            for c in copies
                        ],
                    )
                )
        out.sort(key=lambda d: (-d.rows_matched, d.id))
        for d in out:
            log.info("dump rows match dataset %s (%d sampled rows found)", d.id, d.rows_matched)
        return out


def dataset_matcher(store: Store, fmt: Format | None = None) -> DatasetMatcher:
    with store.session() as s:
        return DatasetMatcher(load_fingerprints(s), fmt)


def _unjson(raw: str) -> str:
    if "\\" not in raw:
        return raw
    try:
        return str(json.loads(f'"{raw}"'))
    except ValueError:
        return raw
