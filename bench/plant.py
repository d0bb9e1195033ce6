"""Benchmark: planting canaries into a large delimited file, against copyfile and csv.

Run by hand:  python bench/plant.py [--size-mb 1024] [--reps 3]

Generates (or reuses) bench/data/plant-<size>.csv: about 100 bytes a row, some quoted
fields holding the delimiter and some holding line breaks, and a slice of its first
1,000 rows. The needles every copy is checked against are those of 100 recipients'
canaries (16 each, made by the canary factory from the table, phones from a pool of
20 numbers). Then, in the same run and on the same files, it times (medians of
--reps runs):

- shutil.copyfile (the ceiling) and our writer making one copy (its SHA-256
  included), per byte: the big file's time less the 1,000-row slice's;
- ten copies in one pass against ten copyfiles;
- a stdlib csv reader-to-writer round trip (on a slice, extrapolated);
- the fixed start-up of `canary issue` on the 1,000-row slice in a fresh process:
  imports, opening and sampling the table, inferring the schema, building the factory;
- peak memory (maxrss) of a child process making one copy.

Targets: one copy per byte <= 3x copyfile (goal 2x); >= 10x faster than the csv round
trip; ten copies <= 2x ten copyfiles; start-up < 1 s; peak memory < 200 MB.
"""

from __future__ import annotations

import argparse
import csv
import functools
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

print = functools.partial(print, flush=True)

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from canary.formats import CopyTarget, Insertion, open_table  # noqa: E402

DATA = ROOT / "data"
FIRST = ["María", "José", "Juan", "Ana", "Luis", "Carmen", "Pedro", "Lucía", "Jorge", "Sofía"]
LAST = ["García", "Hernández", "López", "Martínez", "Pérez", "González", "Rodríguez", "Sánchez"]
TOWNS = ["Saltillo", "Torreón", "Monclova", "Piedras Negras", "Acuña", "Ñuñoa", "San José"]


def generate(path: Path, size: int) -> None:
    """A CSV of about `size` bytes; 5% of rows quote a comma, 1% a line break. Folios
    are even: a canary's fits between two rows, as in a list with gaps."""
    rnd = random.Random(7)
    templates = []
    for _ in range(5000):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        name = f"{first} {last}"
        if rnd.random() < 0.05:
            name = f'"{last}, {first}"'
        note = "ok"
        if rnd.random() < 0.01:
            note = '"línea uno\nlínea dos, con ""comillas"""'
        email = f"{first[0].lower()}{last.lower()}{rnd.randint(1, 99)}@example.com"
        phone = f"(844) {rnd.randint(100, 999)}-{rnd.randint(1000, 9999)}"
        town = rnd.choice(TOWNS)
        amount = f"{rnd.randint(100, 99999)}.{rnd.randint(0, 99):02d}"
        day = f"2024-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)}"
        templates.append(f"{name},{email},{phone},{town},{day},{amount},{note}\n")
    tmp = path.with_suffix(".part")
    written = 0
    i = 0
    with tmp.open("w", encoding="utf-8", newline="") as f:
        f.write("folio,nombre,correo,telefono,municipio,fecha,monto,nota\n")
        while written < size:
            lines = [f"F{2 * (i + k):09d},{templates[(i + k) % 5000]}" for k in range(100000)]
            block = "".join(lines)
            f.write(block)
            written += len(block.encode("utf-8"))
            i += 100000
    tmp.rename(path)


#: CPU seconds (user + system, this process) of the last `timed` call's repetitions.
CPU: list[float] = []


def timed(fn, reps: int) -> list[float]:
    out = []
    CPU.clear()
    for _ in range(reps):
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        CPU.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return out


RECIPIENTS = 100
PER_COPY = 16
POOL = [f"+52 844 555 {1000 + i:04d}" for i in range(20)]


Maker = Callable[[list[str] | None, list[str] | None], list[str] | None]


def factory_canaries(src: Path) -> tuple[list[list[Maker]], list[str]]:
    """Row makers of 100 recipients' canaries and every needle they bring, as
    `canary issue` makes them (the factory fits each row between its neighbours)."""
    from canary.synth.canaries import CanaryFactory
    from canary.synth.infer import infer_schema

    sample = open_table(src).sample()
    factory = CanaryFactory(
        infer_schema(sample), sample, domains=["canary-mail.mx"], rng=random.Random(3)
    )
    # The folios are gapless, so `canary issue` puts canaries after the last row, where
    # no folio is checked; the needles here take each canary's folio anyway, as "F9..."
    # (beyond any folio of the file).
    last = sample.rows[-1]
    rnd = random.Random(4)
    makers: list[list[Maker]] = []
    needles: list[str] = []
    for _ in range(RECIPIENTS):
        own: list[Maker] = []
        for _k in range(PER_COPY):
            persona, phone = factory.persona(), rnd.choice(POOL)
            own.append(lambda p, n, _p=persona, _ph=phone: factory.make_row(_p, _ph, p, n))
            row = factory.make_row(persona, phone, last, None)
            assert row is not None
            needles += [re.sub(r"^F0", "F9", n) for n in factory.needles(persona, row) if n]
        makers.append(own)
    return makers, needles


CANARIES: tuple[list[list[Maker]], list[str]] | None = None


def make_targets(src: Path, out_dir: Path, n: int) -> list[CopyTarget]:
    global CANARIES
    if CANARIES is None:
        CANARIES = factory_canaries(src)
    makers, needles = CANARIES
    rnd = random.Random(1)
    targets = []
    for c in range(n):
        ins = [Insertion(rnd.random(), make) for make in makers[c]]
        targets.append(CopyTarget(out_dir / f"copy{c}.csv", ins, needles=list(needles)))
    return targets


def clean(out_dir: Path) -> None:
    for p in out_dir.iterdir():
        p.unlink()


def ours(src: Path, out_dir: Path, n: int) -> None:
    clean(out_dir)
    table = open_table(src)
    table.durable = False  # type: ignore[attr-defined]  # copyfile does not fsync either
    targets = make_targets(src, out_dir, n)
    table.write_copies(targets)
    assert all(len(t.sha256) == 64 for t in targets)


def copies(src: Path, out_dir: Path, n: int) -> None:
    clean(out_dir)
    for c in range(n):
        shutil.copyfile(src, out_dir / f"copy{c}.csv")


def csv_roundtrip(src: Path, out: Path) -> None:
    """The naive way: parse every record and write it again."""
    with (
        src.open(encoding="utf-8", newline="") as f,
        out.open("w", encoding="utf-8", newline="") as g,
    ):
        csv.writer(g, lineterminator="\n").writerows(csv.reader(f))


def child_peak(src: Path, out_dir: Path) -> float:
    clean(out_dir)
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r});"
        + "from plant import ours; from pathlib import Path;"
        + f"ours(Path({str(src)!r}), Path({str(out_dir)!r}), 1)"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, "-c", code], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(after, before) / 1024


STARTUP = """
import sys, time
t0, c0 = time.perf_counter(), time.process_time()
sys.path.insert(0, {root!r})
import random
import canary.issue.plant  # what `canary issue` imports (the store, formats)
from canary.formats import open_table
from canary.synth.canaries import CanaryFactory
from canary.synth.infer import infer_schema
t1, c1 = time.perf_counter(), time.process_time()
table = open_table({src!r})
sample = table.sample()
schema = infer_schema(sample)
t2, c2 = time.perf_counter(), time.process_time()
factory = CanaryFactory(schema, sample, domains=["canary-mail.mx"], rng=random.Random(1))
t3, c3 = time.perf_counter(), time.process_time()
print(t1 - t0, t2 - t1, t3 - t2, c1 - c0, c2 - c1, c3 - c2)
"""


def startup(src: Path) -> tuple[float, ...]:
    """(imports, open + sample + inference, factory) in a fresh process, wall seconds,
    then the same three in CPU seconds of that process (what the machine's load does
    not lengthen)."""
    code = STARTUP.format(root=str(ROOT.parent), src=str(src))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return tuple(float(x) for x in out.stdout.split())


def slice_rows(src: Path, dst: Path, rows: int) -> None:
    """The header and the first `rows` records (records may span lines)."""
    with (
        src.open(encoding="utf-8", newline="") as f,
        dst.open("w", encoding="utf-8", newline="") as g,
    ):
        w = csv.writer(g, lineterminator="\n")
        for i, rec in enumerate(csv.reader(f)):
            if i > rows:
                break
            w.writerow(rec)


def main() -> None:
    global CANARIES
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--csv-slice-mb", type=int, default=64)
    args = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    src = DATA / f"plant-{args.size_mb}mb.csv"
    if not src.exists():
        print(f"generating {src} ...", flush=True)
        generate(src, args.size_mb << 20)
    small = DATA / f"plant-{args.size_mb}mb.1000.csv"
    if not small.exists():
        slice_rows(src, small, 1000)
    size, small_size = src.stat().st_size, small.stat().st_size
    out_dir = DATA / "out"
    out_dir.mkdir(exist_ok=True)
    clean(out_dir)
    t = time.perf_counter()
    CANARIES = factory_canaries(src)
    print(
        f"source {size / 1e6:.0f} MB, {args.reps} reps, medians; {len(CANARIES[1])} needles "
        f"({RECIPIENTS} recipients x {PER_COPY} canaries, made in {time.perf_counter() - t:.1f} s)"
    )
    shutil.copyfile(src, out_dir / "warm")  # warm the page cache

    def med(fn) -> float:
        return statistics.median(timed(fn, args.reps))

    base1 = med(lambda: copies(src, out_dir, 1))
    base1_cpu = statistics.median(CPU)
    base1_small = med(lambda: copies(small, out_dir, 1))
    base1_small_cpu = statistics.median(CPU)
    one = med(lambda: ours(src, out_dir, 1))
    one_cpu = statistics.median(CPU)
    one_small = med(lambda: ours(small, out_dir, 1))
    one_small_cpu = statistics.median(CPU)
    per_base = (base1 - base1_small) / (size - small_size)
    per_ours = (one - one_small) / (size - small_size)
    print(
        f"copyfile x1        {base1:7.2f} s  ({size / base1 / 1e6:.0f} MB/s; CPU {base1_cpu:.2f} s)"
    )
    print(
        f"ours, 1 copy       {one:7.2f} s  ({size / one / 1e6:.0f} MB/s, 1,000 rows in "
        f"{one_small:.3f} s)  per byte {per_ours / per_base:.2f}x copyfile (target <= 3x, goal 2x)"
    )
    print(
        f"  CPU (user + system, all threads) {one_cpu:.2f} s, 1,000 rows {one_small_cpu:.2f} s: "
        f"{(one_cpu - one_small_cpu) / size * 1e9:.2f} s per GB on one core; with two cores "
        f"free, per byte {(one_cpu - one_small_cpu) / 2 / (size - small_size) / per_base:.2f}x "
        "copyfile at best"
    )
    # By CPU against copyfile's CPU: what the machine's load does not lengthen.
    base_cpu = base1_cpu - base1_small_cpu
    cpu_ratio = (one_cpu - one_small_cpu) / max(base_cpu, 1e-3)
    print(
        f"  per byte by CPU {cpu_ratio:.2f}x copyfile's CPU ({base_cpu / size * 1e9:.2f} s "
        f"per GB); with two cores free {cpu_ratio / 2:.2f}x"
    )

    base10 = med(lambda: copies(src, out_dir, 10))
    ten = med(lambda: ours(src, out_dir, 10))
    print(f"copyfile x10       {base10:7.2f} s")
    print(
        f"ours, 10 copies    {ten:7.2f} s  ratio {ten / base10:.2f}x ten copyfiles (target <= 2x)"
    )
    clean(out_dir)

    slice_bytes = min(size, args.csv_slice_mb << 20)
    tmp_slice = out_dir / "slice.csv"
    with src.open("rb") as f, tmp_slice.open("wb") as g:
        g.write(f.read(slice_bytes))
        g.write(f.readline())
    rt = statistics.median(timed(lambda: csv_roundtrip(tmp_slice, out_dir / "rt.csv"), args.reps))
    rt_full = rt * size / tmp_slice.stat().st_size
    print(
        f"csv round trip     {rt_full:7.2f} s  (measured on {tmp_slice.stat().st_size / 1e6:.0f} MB"
        f" in {rt:.2f} s, extrapolated)  ours is {rt_full / one:.1f}x faster (target >= 10x)"
    )
    clean(out_dir)

    runs = [startup(small) for _ in range(args.reps)]
    imp, inf, fac, imp_c, inf_c, fac_c = (statistics.median(r[i] for r in runs) for i in range(6))
    print(
        f"start-up, 1,000 rows {imp + inf + fac:5.2f} s  (imports {imp:.2f}, open + sample + "
        f"inference {inf:.2f}, factory {fac:.2f}; target < 1 s)  CPU {imp_c + inf_c + fac_c:.2f} s "
        f"({imp_c:.2f}, {inf_c:.2f}, {fac_c:.2f})"
    )
    big = startup(src)
    print(
        f"start-up, {size / 1e6:.0f} MB   {sum(big[:3]):5.2f} s  (imports {big[0]:.2f}, "
        f"open + sample + inference {big[1]:.2f}, factory {big[2]:.2f})  CPU {sum(big[3:]):.2f} s"
    )

    peak = child_peak(src, out_dir)
    print(f"peak memory, 1 copy child process: {peak:.0f} MB (target < 200 MB)")
    clean(out_dir)


if __name__ == "__main__":
    main()
