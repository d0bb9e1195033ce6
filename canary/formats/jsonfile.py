"""JSON (an array of objects) and JSON Lines (one object per line).

JSON is read whole (`json.load`) and written back with the source's indentation,
separators and ASCII escaping, keys in their order. JSON Lines is streamed line by
line: untouched lines are copied byte for byte and canary objects are written with
the separators of the first line. A canary's text is written as the type the column
holds (a number column gets numbers, booleans stay booleans, null stays null).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any

from canary.errors import InputError
from canary.formats._files import Outputs, sha256_file
from canary.formats._needles import NeedleScanner
from canary.formats._nested import build, flat_paths, get, header_names
from canary.formats._values import (
    RawFloat,
    as_written,
    column_kind,
    dumps,
    from_text,
    loads,
    place_rows,
    share,
    to_text,
    whole_floats,
)
from canary.formats.table import CopyTarget, Progress, Sample

log = logging.getLogger(__name__)

SMALL_BYTES = 64 << 20


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 (bad byte at offset {exc.start}); JSON must be UTF-8"
        ) from None


class JsonTable:
    """A .json file holding an array of objects."""

    format = "json"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.source = str(path)
        raw = self.path.read_bytes()
        if not raw.strip():
            raise InputError(f"{self.path} is empty: it must hold an array of objects")
        self._size = len(raw)
        text = _decode(raw, self.path)
        elements = _elements(text)
        try:
            data = elements[0] if elements is not None else loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{self.path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
        if not isinstance(data, list) or not all(isinstance(o, dict) for o in data):
            raise InputError(f"{self.path} must hold an array of objects ([{{...}}, ...])")
        if not data:
            raise InputError(f"{self.path} holds an empty array: there are no rows")
        self.objs: list[dict[str, Any]] = data
        self.paths = flat_paths(data)
        self.header = header_names(self.paths)
        columns = [[get(o, p) for o in data] for p in self.paths]
        self.kinds = {h: column_kind(c) for h, c in zip(self.header, columns, strict=True)}
        self.nulls = {
            h: any(v is None for v in c) for h, c in zip(self.header, columns, strict=True)
        }
        self.floats = {h for h, c in zip(self.header, columns, strict=True) if whole_floats(c)}
        self.style = _json_style(text, raw)
        self.bom = raw.startswith(b"\xef\xbb\xbf")
        self._source = text
        self._spans = elements[1] if elements is not None else None

    def size(self) -> int:
        return len(self.objs)

    def source_sha256(self) -> str | None:
        return sha256_file(self.path)

    def _text(self, i: int) -> list[str]:
        return [to_text(get(self.objs[i], p)) for p in self.paths]

    def sample(self, limit: int = 20000) -> Sample:
        rows = [self._text(i) for i in range(min(limit, len(self.objs)))]
        return Sample(
            header=list(self.header),
            rows=rows,
            complete=len(rows) == len(self.objs),
            row_count=len(self.objs),
            info={"encoding": "utf-8", **{k: str(v) for k, v in self.style.items()}},
        )

    def write_copies(self, targets: list[CopyTarget], progress: Progress | None = None) -> None:
        scanner = NeedleScanner([n for t in targets for n in t.needles], "utf-8")
        scanner.scan_text(json.dumps(self.objs, ensure_ascii=False))
        with Outputs([t.path for t in targets], self.path) as outputs:
            for k, (t, tmp) in enumerate(zip(targets, outputs.temps, strict=True)):
                placed = place_rows(t, len(self.objs), self._text)
                if self._spans is not None:
                    data = self._spliced([(at, self._object(row)) for at, row in placed])
                else:
                    objs = list(self.objs)
                    for at, row in reversed(placed):
                        objs.insert(at, self._object(row))
                    data = self._dump(objs)
                tmp.write_bytes(data)
                t.sha256 = hashlib.sha256(data).hexdigest()
                if progress:
                    progress(share(len(self.objs), len(targets), k))
            outputs.commit()

    def _object(self, row: list[str]) -> dict[str, Any]:
        values = [
            as_written(
                from_text(v, self.kinds[h], nullable=self.nulls[h] or self.kinds[h] != "str"),
                h in self.floats,
            )
            for h, v in zip(self.header, row, strict=False)
        ]
        return build(self.paths, values)

    def _spliced(self, placed: list[tuple[int, dict[str, Any]]]) -> bytes:
        """The source's own text with each canary object written into it before the
        element at its place (after the last for the end), in the style of the element
        beside it: every real element, and everything between them, as the source has
        it. Written back whole in a guessed style, an array of one object per line came
        out indented over several lines, every real row changed."""
        text, spans = self._source, self._spans
        assert spans is not None
        out: list[str] = []
        at = 0
        for k, obj in placed:
            if k < len(spans):
                start = spans[k][0]
                # the separator after element k ("," and what follows) goes after the canary
                sep = text[spans[k][1] : spans[k + 1][0]] if k + 1 < len(spans) else None
                if sep is None:
                    sep = text[spans[k - 1][1] : start] if k > 0 else ",\n"
                out.append(text[at:start])
                out.append(_styled(obj, text, spans[k], self.style) + sep)
                at = start
            else:
                end = spans[-1][1]
                sep = text[spans[-2][1] : spans[-1][0]] if len(spans) > 1 else ",\n"
                out.append(text[at:end])
                out.append(sep + _styled(obj, text, spans[-1], self.style))
                at = end
        out.append(text[at:])
        data = "".join(out).encode("utf-8")
        return (b"\xef\xbb\xbf" + data) if self.bom else data

    def _dump(self, objs: list[dict[str, Any]]) -> bytes:
        s = self.style
        text = dumps(
            objs,
            indent=s["indent"],
            separators=(str(s["item_sep"]), str(s["key_sep"])),
            ensure_ascii=bool(s["ensure_ascii"]),
        )
        if s["trailing_newline"]:
            text += "\n"
        data = text.encode("utf-8")
        return (b"\xef\xbb\xbf" + data) if self.bom else data


_SPACE = re.compile(r"\s*")
#: A JSON string literal.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _elements(text: str) -> tuple[list[Any], list[tuple[int, int]]] | None:
    """The elements of the top-level array in `text` and where each starts and ends,
    read in one pass; None where the text is not one plain array (then read it whole)."""
    decoder = json.JSONDecoder(parse_float=RawFloat)
    i = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("[", i):
        return None
    i += 1
    objs: list[Any] = []
    spans: list[tuple[int, int]] = []
    while True:
        i = _SPACE.match(text, i).end()  # type: ignore[union-attr]
        if text.startswith("]", i) and not spans:
            break
        try:
            obj, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            return None
        objs.append(obj)
        spans.append((i, end))
        i = _SPACE.match(text, end).end()  # type: ignore[union-attr]
        if text.startswith(",", i):
            i += 1
            continue
        if text.startswith("]", i) and not text[i + 1 :].strip():
            break
        return None
    return objs, spans


def _styled(obj: dict[str, Any], text: str, span: tuple[int, int], style: dict[str, Any]) -> str:
    """`obj` written as the source writes the element at `span`: on one line with its
    separators, or over several lines indented as it is."""
    element = text[span[0] : span[1]]
    bare = _STRING.sub('""', element)  # separators read outside strings ("Doe, John")
    key_sep = ": " if re.search(r'"\s*:\s', bare) else ":"
    ascii_only = bool(style["ensure_ascii"]) or "\\u" in element
    if "\n" not in element:
        item_sep = ", " if re.search(r",\s", bare) else ","
        return dumps(obj, separators=(item_sep, key_sep), ensure_ascii=ascii_only)
    line_start = text.rfind("\n", 0, span[0]) + 1
    base = text[line_start : span[0]]
    inner = re.search(r"\n([ \t]*)\S", element)
    step = inner.group(1)[len(base) :] if inner else "  "
    indent: int | str = step if step.startswith("\t") or not step else len(step)
    body = dumps(obj, indent=indent, separators=(",", key_sep), ensure_ascii=ascii_only)
    return body.replace("\n", "\n" + base)


def _json_style(text: str, raw: bytes) -> dict[str, Any]:
    """Indentation, separators and escaping, read roughly from the source text."""
    body = text.lstrip()
    indent: int | str | None = None
    m = re.match(r"\[\s*?\n([ \t]+)\S", body)
    if m:
        ws = m.group(1)
        indent = "\t" * len(ws) if ws.startswith("\t") else len(ws)
    elif re.match(r"\[\s*\n", body):
        indent = 0
    key_sep = ": " if re.search(r'"\s*:\s', body[:4096]) else ":"
    item_sep = "," if indent is not None or not re.search(r",\s", body[:4096]) else ", "
    ascii_only = all(b < 0x80 for b in raw)
    return {
        "indent": indent,
        "key_sep": key_sep,
        "item_sep": item_sep,
        "ensure_ascii": ascii_only and "\\u" in text,
        "trailing_newline": text.endswith("\n"),
    }


class JsonlTable:
    """A .jsonl file: one JSON object per line, streamed."""

    format = "jsonl"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.source = str(path)
        self._size = self.path.stat().st_size
        if self._size == 0:
            raise InputError(f"{self.path} is empty: there are no rows")
        first = None
        with self.path.open("rb") as f:
            for lineno, line in enumerate(f, 1):
                if line.strip():
                    first = self._parse(line, lineno)
                    self._first_line = line
                    break
        if first is None:
            raise InputError(f"{self.path} is empty: there are no rows")
        ft = self._first_line.decode("utf-8", errors="replace")
        self.key_sep = ": " if re.search(r'"\s*:\s', ft) else ":"
        self.item_sep = ", " if re.search(r",\s*\"", ft) and ", " in ft else ","
        self.ensure_ascii = "\\u" in ft
        self.newline = b"\r\n" if self._first_line.endswith(b"\r\n") else b"\n"
        self._sample: Sample | None = None

    def _parse(self, line: bytes, lineno: int) -> dict[str, Any]:
        try:
            obj = loads(_decode(line, self.path))
        except json.JSONDecodeError as exc:
            raise InputError(f"{self.path}: line {lineno} is not valid JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise InputError(f"{self.path}: line {lineno} is not a JSON object")
        return obj

    def size(self) -> int:
        return self._size

    def source_sha256(self) -> str | None:
        return sha256_file(self.path)

    def sample(self, limit: int = 20000) -> Sample:
        objs: list[dict[str, Any]] = []
        complete = True
        read = 0
        with self.path.open("rb") as f:
            for lineno, line in enumerate(f, 1):
                read += len(line)
                if not line.strip():
                    continue
                if len(objs) >= limit and self._size > SMALL_BYTES:
                    complete = False
                    break
                objs.append(self._parse(line, lineno))
        self.paths = flat_paths(objs)
        header = self.header = header_names(self.paths)
        self.kinds = {
            h: column_kind([get(o, p) for o in objs])
            for h, p in zip(header, self.paths, strict=True)
        }
        self.floats = {
            h
            for h, p in zip(header, self.paths, strict=True)
            if whole_floats([get(o, p) for o in objs])
        }
        rows = [[to_text(get(o, p)) for p in self.paths] for o in objs]
        count = len(rows) if complete else int(self._size / max(read / max(len(rows), 1), 1))
        self._sample = Sample(header, rows, complete, count, {"encoding": "utf-8"})
        return self._sample

    def _row_text(self, line: bytes) -> list[str]:
        obj = loads(line.decode("utf-8-sig"))
        return [to_text(get(obj, p)) for p in self.paths]

    def write_copies(self, targets: list[CopyTarget], progress: Progress | None = None) -> None:
        """One streamed pass; a canary goes before the first line at or after its offset."""
        if self._sample is None:
            self.sample()
        scanner = NeedleScanner([n for t in targets for n in t.needles], "utf-8")
        with Outputs([t.path for t in targets], self.path) as outputs:
            files = [p.open("wb") for p in outputs.temps]
            hashes = [hashlib.sha256() for _ in targets]
            # A fraction >= 1.0 is past every line start: it is only tried at the end.
            pending = [
                sorted(
                    ((int(min(i.fraction, 1.0) * self._size), i) for i in t.insertions),
                    key=lambda p: p[0],
                )
                for t in targets
            ]
            placed: list[list[tuple[int, list[str]]]] = [[] for _ in targets]
            #: Per target, the canary just written before the current line (the `prev`
            #: of the next canary at the same boundary); None after a source line.
            before: list[list[str] | None] = [None for _ in targets]
            placed_here = False

            def put(ti: int, row: list[str], at_end: bool) -> None:
                data = self._dump_row(row)
                if at_end and not last.endswith(b"\n"):
                    data = self.newline + data[: -len(self.newline)]
                files[ti].write(data)
                hashes[ti].update(data)
                placed[ti].append((row_index, row))
                before[ti] = row
                nonlocal placed_here
                placed_here = True

            try:
                prev: bytes | None = None
                last = b""
                row_index = 0
                offset = 0
                with self.path.open("rb") as src:
                    for line in src:
                        scanner.scan(line)
                        if prev is not None and line.strip():
                            for ti, pend in enumerate(pending):
                                while pend and pend[0][0] <= offset:
                                    p_row = before[ti] or self._row_text(prev)
                                    made = pend[0][1].make_row(p_row, self._row_text(line))
                                    if made is None:
                                        break  # try again before the next line
                                    pend.pop(0)
                                    put(ti, [str(v) for v in made], False)
                        for f, h in zip(files, hashes, strict=True):
                            f.write(line)
                            h.update(line)
                        if line.strip():
                            prev = line if line.endswith(b"\n") else line + self.newline
                            row_index += 1
                            if placed_here:
                                before = [None for _ in targets]
                                placed_here = False
                        offset += len(line)
                        last = line
                        if progress:
                            progress(len(line))
                for ti, pend in enumerate(pending):  # offsets past the last line start
                    while pend and prev is not None:
                        p_row = before[ti] or self._row_text(prev)
                        made = pend.pop(0)[1].make_row(p_row, None)
                        if made is None:
                            log.warning(
                                "%s: a canary found no place (make_row refused at the end)",
                                targets[ti].path,
                            )
                            continue
                        put(ti, [str(v) for v in made], True)
                for f in files:
                    f.flush()
            finally:
                for f in files:
                    f.close()
            for t, h, pl in zip(targets, hashes, placed, strict=True):
                t.sha256 = h.hexdigest()
                t.positions = [k + j for j, (k, _) in enumerate(pl)]
                t.rows = [r for _, r in pl]
            outputs.commit()

    def _dump_row(self, row: list[str]) -> bytes:
        obj = build(
            self.paths,
            [
                as_written(from_text(v, self.kinds.get(h, "str")), h in self.floats)
                for h, v in zip(self.header, row, strict=False)
            ],
        )
        text = dumps(obj, separators=(self.item_sep, self.key_sep), ensure_ascii=self.ensure_ascii)
        return text.encode("utf-8") + self.newline
