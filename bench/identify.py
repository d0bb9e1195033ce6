"""Benchmark `canary identify` on a large delimited dump (run by hand).

Writes a CSV of N rows (default 1,000,000, about 90 MB) with a few canaries of a
register of 300 copies spread through it, then times, in the same run:

- baseline: reading the file in 1 MB blocks and decoding it (the I/O floor);
- identify: the full scan (emails, phones, names, ids).

Prints the medians, the ratio identify/baseline, and identify's peak memory
(tracemalloc) for two file sizes, to show memory stays flat as the file grows.

    python bench/identify.py [ROWS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from canary.investigate.identify import identify
from canary.store.engine import open_store
from canary.store.models import Canary, Copy, Dataset, Identifier

DOMAIN = "correo-seguro.test"


def make_register(url: str, copies: int = 300) -> dict[str, list[str]]:
    store = open_store(url)
    rows: dict[str, list[str]] = {}
    with store.session() as s:
        s.add(Dataset(id="D1", name="x.csv", source="x", format="csv", columns=[]))
        for i in range(copies):
            cid = f"C{i:04d}"
            s.add(
                Copy(
                    id=cid,
                    dataset_id="D1",
                    recipient=f"recipient {i}",
                    issued_at=datetime(2026, 1, 1, tzinfo=UTC),
                    path="x",
                    sha256="0" * 64,
                    format="csv",
                )
            )
            for k in range(4):
                c = Canary(copy_id=cid, dataset_id="D1", values={})
                s.add(c)
                s.flush()
                email = f"canary{i}x{k}@{DOMAIN}"
                phone = f"+52844{(i * 4 + k):07d}"[:13]
                name = f"Nombre{i} Apellido{k} Segundo{i}"
                for kind, value in (("email", email), ("phone", phone), ("name", name)):
                    s.add(Identifier(canary_id=c.id, kind=kind, value=value))
                rows[cid] = [email, phone[3:], name]
    store.dispose()
    return rows


def make_dump(path: Path, n: int, canaries: list[list[str]]) -> None:
    step = max(1, n // (len(canaries) + 1))
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("folio,nombre,correo,telefono,municipio,notas\n")
        j = 0
        for i in range(n):
            if i % step == step - 1 and j < len(canaries):
                email, phone, name = canaries[j]
                f.write(f'F-{i},{name},{email},"{phone[:3]} {phone[3:6]} {phone[6:]}",Saltillo,\n')
                j += 1
            f.write(
                f'F-{i:08d},María López {i},persona{i}@gmail.com,"(81) {i % 9000 + 1000} '
                f'{i % 7000 + 2000}",Monterrey,"nota, con coma {i}"\n'
            )


def baseline(path: Path) -> None:
    import codecs

    dec = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            dec.decode(block)


def timed(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/canary.db"
        reg = make_register(url)
        leaked = [reg[c][0:3] for c in list(reg)[:5]]
        store = open_store(url)
        try:
            for rows in (n // 4, n):
                path = Path(tmp) / f"dump{rows}.csv"
                make_dump(path, rows, leaked)
                size = path.stat().st_size / 1e6
                base = timed(lambda p=path: baseline(p))
                ident = timed(lambda p=path: identify(store, p))
                tracemalloc.start()
                result = identify(store, path)
                peak = tracemalloc.get_traced_memory()[1] / 1e6
                tracemalloc.stop()
                found = [c["id"] for c in result["copies"]]
                print(
                    f"{rows:>9} rows {size:7.1f} MB: baseline {base:6.2f} s, identify "
                    f"{ident:6.2f} s ({size / ident:5.1f} MB/s), ratio {ident / base:5.1f}x, "
                    f"peak traced memory {peak:6.1f} MB, copies found {found}"
                )
        finally:
            store.dispose()


if __name__ == "__main__":
    main()
