"""Benchmark `canary identify` against `grep -F -i -f` (run by hand).

A store of 100,000 canaries (1,000 copies of 100; each an email, a phone and a
three-word name), built with bulk inserts, and a CSV dump of SIZE bytes (default 1 GB)
of realistic rows (accented names, other people's addresses and numbers) with a few
canaries of five copies spread through it, phones written with separators.

Measured in the same run, each in its own process (so peak memory is its own):

- grep: `LC_ALL=C grep -F -i -c -f NEEDLES` with every identifier of the store written
  as a plain string (address, E.164 number, name), on the dump and on a one-line file;
- identify: `canary.investigate.identify.identify` on the dump and on a one-line file,
  timed inside the process (the one-line run is the fixed start-up: reading the store's
  needle index and building the automaton), with the process's peak RSS;
- the needle index's rebuild, once, before those (what the first identify after a change
  of the register pays; the identify runs then read the stored index).

Per byte is each tool's time on the dump less its time on the one-line file. Prints the
ratio identify/grep per byte, the start-ups, and the peak RSS for the dump and for a
quarter of it (flat memory: the same peak whatever the size).

    python bench/identify.py [SIZE_MB] [CANARIES]
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from canary.store.engine import open_store
from canary.store.models import Canary, Copy, Dataset, Domain, Identifier, name_key

ROOT = str(Path(__file__).resolve().parents[1])
DOMAIN = "correo-seguro.test"
PER_COPY = 100
LEAKED_COPIES = 5


def person(n: int) -> tuple[str, str, str]:
    """(email, E.164 phone, name) of canary number n."""
    return (
        f"canary{n}x{n % 7}@{DOMAIN}",
        f"+52844{n:07d}",
        f"Nombre{n} Apellido{n % 97} Segundo{n % 89}",
    )


def make_store(url: str, canaries: int) -> None:
    store = open_store(url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    copies = canaries // PER_COPY
    with store.engine.begin() as con:
        con.execute(insert(Domain), [{"name": DOMAIN, "added_at": now}])
        con.execute(
            insert(Dataset),
            [{"id": "D1", "name": "x.csv", "source": "x", "format": "csv", "columns": []}],
        )
        con.execute(
            insert(Copy),
            [
                {
                    "id": f"C{i:06d}",
                    "dataset_id": "D1",
                    "recipient": f"recipient {i}",
                    "issued_at": now,
                    "path": "x",
                    "sha256": "0" * 64,
                    "format": "csv",
                    "meta": {},
                }
                for i in range(copies)
            ],
        )
        for lo in range(0, canaries, 50_000):
            hi = min(canaries, lo + 50_000)
            con.execute(
                insert(Canary),
                [
                    {"id": n + 1, "copy_id": f"C{n // PER_COPY:06d}", "dataset_id": "D1"}
                    for n in range(lo, hi)
                ],
            )
            rows: list[dict[str, object]] = []
            for n in range(lo, hi):
                email, phone, name = person(n)
                for kind, value in (("email", email), ("name", name)):
                    rows.append(
                        {
                            "canary_id": n + 1,
                            "kind": kind,
                            "value": value,
                            "raw": value,
                            "national": None,
                            "country_code": None,
                            "region": None,
                            "folded": name_key(value) if kind == "name" else None,
                        }
                    )
                # the parts `phone_parts` gives (a +52 844 number), as plant writes them
                rows.append(
                    {
                        "canary_id": n + 1,
                        "kind": "phone",
                        "value": phone,
                        "raw": phone,
                        "national": phone[3:],
                        "country_code": "52",
                        "region": "MX",
                        "folded": None,
                    }
                )
            con.execute(insert(Identifier), rows)
    store.dispose()


def needles_file(path: Path, canaries: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        for n in range(canaries):
            f.write("\n".join(person(n)) + "\n")


def make_dump(path: Path, size: int, canaries: int) -> None:
    leaked = [
        n
        for c in range(0, canaries // PER_COPY, max(1, canaries // PER_COPY // LEAKED_COPIES))
        for n in (c * PER_COPY, c * PER_COPY + 1)
    ][: 2 * LEAKED_COPIES]
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("folio,nombre,correo,telefono,municipio,notas\n")
        written, i, block = 0, 0, 10_000
        lines_per_leak = max(block, size // 110 // (len(leaked) + 1))
        j = 0
        while written < size:
            rows = [
                f"F-{k:08d},María López Núñez {k},persona{k}@gmail.com,"
                f'"(81) {k % 9000 + 1000} {k % 7000 + 2000}",Monterrey,"nota, con coma {k}"\n'
                for k in range(i, i + block)
            ]
            if i and i % lines_per_leak < block and j < len(leaked):
                email, phone, name = person(leaked[j])
                nsn = phone[3:]
                rows.append(
                    f'F-{i},{name},{email.upper()},"+52 1 ({nsn[:3]}) {nsn[3:6]}-{nsn[6:]}",x,\n'
                )
                j += 1
            text = "".join(rows)
            f.write(text)
            written += len(text.encode())
            i += block


def _child(fn: str, *args: str) -> dict[str, float]:
    """Run one measurement in a fresh process: its figures and its peak RSS."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", fn, *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def child(fn: str, args: list[str]) -> None:
    started = time.perf_counter()
    figures: dict[str, float] = {}
    if fn == "index":  # the first identify after the register changed rebuilds the index
        from canary.investigate import needles

        store = open_store(args[0])
        t, c = time.perf_counter(), time.process_time()
        built = needles.load(store)
        figures["seconds"] = time.perf_counter() - t
        figures["cpu"] = time.process_time() - c
        figures["copies"] = len(built.keys)
    elif fn == "identify":
        from canary.investigate.identify import identify

        imported = time.perf_counter()
        store = open_store(args[0])
        t, c = time.perf_counter(), time.process_time()
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = identify(store, Path(args[1]))
        figures["seconds"] = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # a forked half's CPU too
        figures["cpu"] = (
            time.process_time()
            - c
            + after.ru_utime
            + after.ru_stime
            - kids.ru_utime
            - kids.ru_stime
        )
        figures["imports"] = imported - started
        figures["copies"] = len(result["copies"])
    else:  # grep
        t = time.perf_counter()
        done = subprocess.run(
            ["grep", "-F", "-i", "-c", "-f", args[0], args[1]],
            env={**os.environ, "LC_ALL": "C"},
            capture_output=True,
            check=False,
        )
        figures["seconds"] = time.perf_counter() - t
        child_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        figures["cpu"] = child_usage.ru_utime + child_usage.ru_stime
        figures["copies"] = float(done.stdout.strip() or 0)
    figures["process"] = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if fn == "grep" else resource.RUSAGE_SELF)
    figures["rss_mb"] = usage.ru_maxrss / 1024
    print(json.dumps(figures))


def median(fn: str, args: list[str], repeat: int) -> dict[str, float]:
    runs = [_child(fn, *args) for _ in range(repeat)]
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    size = int(float(sys.argv[1]) * 1e6) if len(sys.argv) > 1 else 1_000_000_000
    canaries = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    repeat = 3 if size <= 300_000_000 else 1
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        url = f"sqlite:///{tmp}/canary.db"
        t = time.perf_counter()
        make_store(url, canaries)
        print(f"store of {canaries:,} canaries built in {time.perf_counter() - t:.1f} s")
        needles = Path(tmp) / "needles.txt"
        needles_file(needles, canaries)
        one = Path(tmp) / "one.csv"
        one.write_text("folio,nombre,correo\n", encoding="utf-8")
        dumps = []
        for part in (size // 4, size):
            dump = Path(tmp) / f"dump{part}.csv"
            make_dump(dump, part, canaries)
            dumps.append(dump)
        mb = dumps[1].stat().st_size / 1e6
        ix = median("index", [url], 1)
        g0 = median("grep", [str(needles), str(one)], repeat)
        g1 = median("grep", [str(needles), str(dumps[1])], repeat)
        i0 = median("identify", [url, str(one)], repeat)
        iq = median("identify", [url, str(dumps[0])], 1)
        i1 = median("identify", [url, str(dumps[1])], repeat)
        grep_byte = max(g1["seconds"] - g0["seconds"], 1e-3)
        ident_byte = i1["seconds"] - i0["seconds"]
        grep_cpu = max(g1["cpu"] - g0["cpu"], 1e-3)
        ident_cpu = i1["cpu"] - i0["cpu"]
        print(f"dump {mb:,.0f} MB, {canaries:,} canaries ({3 * canaries:,} needles)")
        print(
            f"grep:     one line {g0['seconds']:.2f} s, dump {g1['seconds']:.2f} s, per byte "
            f"{grep_byte:.2f} s ({mb / grep_byte:,.0f} MB/s), peak RSS {g1['rss_mb']:.0f} MB"
        )
        print(
            f"identify: start-up {i0['seconds']:.2f} s in process ({i0['process']:.2f} s with "
            f"imports), dump {i1['seconds']:.2f} s, per byte {ident_byte:.2f} s "
            f"({mb / ident_byte:,.0f} MB/s), copies found {i1['copies']:.0f}"
        )
        print(
            f"index rebuilt (once after the register changed): {ix['seconds']:.2f} s, "
            f"{ix['cpu']:.2f} s CPU, {ix['copies']:,.0f} needles"
        )
        print(
            f"identify peak RSS: one line {i0['rss_mb']:.0f} MB, quarter dump "
            f"{iq['rss_mb']:.0f} MB, dump {i1['rss_mb']:.0f} MB"
        )
        print(
            f"ratio identify/grep per byte, wall: {ident_byte / grep_byte:.1f}x (target <= 2x; "
            "identify scans a dump of 64 MB or more in two processes, grep uses one core)"
        )
        print(
            f"ratio identify/grep per byte, CPU time (both processes): {ident_cpu:.2f} s / "
            f"{grep_cpu:.2f} s = {ident_cpu / grep_cpu:.1f}x; start-up CPU {i0['cpu']:.2f} s"
        )
        print(f"ratio identify/grep whole run: {i1['process'] / g1['seconds']:.1f}x")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
    else:
        main()
