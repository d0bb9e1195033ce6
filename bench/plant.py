"""Benchmark: planting canaries into a large delimited file, against copyfile and csv.

Run by hand:  python bench/plant.py [--size-mb 1024] [--reps 3]

Generates (or reuses) bench/data/plant-<size>.csv: about 100 bytes a row, some quoted
fields holding the delimiter and some holding line breaks. Then, in the same run and
on the same file, it times (medians of --reps runs):

- shutil.copyfile (the ceiling) and our writer making one copy with 5 canaries;
- ten copies in one pass against ten copyfiles;
- a stdlib csv reader-to-writer round trip (on a slice, extrapolated);
- peak memory (maxrss) of a child process making one copy.

Targets: one copy <= 2x copyfile; >= 10x faster than the csv round trip; ten copies
<= 2x ten copyfiles; peak memory < 200 MB.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from canary.formats import CopyTarget, Insertion, open_table  # noqa: E402

DATA = ROOT / "data"
FIRST = ["María", "José", "Juan", "Ana", "Luis", "Carmen", "Pedro", "Lucía", "Jorge", "Sofía"]
LAST = ["García", "Hernández", "López", "Martínez", "Pérez", "González", "Rodríguez", "Sánchez"]
TOWNS = ["Saltillo", "Torreón", "Monclova", "Piedras Negras", "Acuña", "Ñuñoa", "San José"]


def generate(path: Path, size: int) -> None:
    """A CSV of about `size` bytes; 5% of rows quote a comma, 1% a line break."""
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
            lines = [f"F{i + k:09d},{templates[(i + k) % 5000]}" for k in range(100000)]
            block = "".join(lines)
            f.write(block)
            written += len(block.encode("utf-8"))
            i += 100000
    tmp.rename(path)


def timed(fn, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def make_targets(out_dir: Path, n: int, per_copy: int = 5) -> list[CopyTarget]:
    rnd = random.Random(1)
    targets = []
    for c in range(n):
        ins = []
        needles = []
        for k in range(per_copy):
            email = f"canario.{c}.{k}@canary-mail.mx"
            phone = f"(844) 555-{1000 + rnd.randint(0, 20)}"
            row = [f"Z{c}{k}", "Canario Pérez", email, phone, "Saltillo", "2024-01-01", "1.00", ""]
            ins.append(Insertion(rnd.random(), lambda p, n_, r=row: r))
            needles += [email, phone]
        targets.append(CopyTarget(out_dir / f"copy{c}.csv", ins, needles=needles))
    return targets


def clean(out_dir: Path) -> None:
    for p in out_dir.iterdir():
        p.unlink()


def ours(src: Path, out_dir: Path, n: int) -> None:
    clean(out_dir)
    table = open_table(src)
    table.durable = False  # type: ignore[attr-defined]  # copyfile does not fsync either
    table.write_copies(make_targets(out_dir, n))


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


def main() -> None:
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
    size = src.stat().st_size
    out_dir = DATA / "out"
    out_dir.mkdir(exist_ok=True)
    clean(out_dir)
    print(f"source {size / 1e6:.0f} MB, {args.reps} reps, medians")
    shutil.copyfile(src, out_dir / "warm")  # warm the page cache

    base1 = statistics.median(timed(lambda: copies(src, out_dir, 1), args.reps))
    one = statistics.median(timed(lambda: ours(src, out_dir, 1), args.reps))
    print(f"copyfile x1        {base1:7.2f} s  ({size / base1 / 1e6:.0f} MB/s)")
    print(
        f"ours, 1 copy       {one:7.2f} s  ({size / one / 1e6:.0f} MB/s)  "
        f"ratio {one / base1:.2f}x copyfile (target <= 2x)"
    )

    base10 = statistics.median(timed(lambda: copies(src, out_dir, 10), args.reps))
    ten = statistics.median(timed(lambda: ours(src, out_dir, 10), args.reps))
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

    peak = child_peak(src, out_dir)
    print(f"peak memory, 1 copy child process: {peak:.0f} MB (target < 200 MB)")
    clean(out_dir)


if __name__ == "__main__":
    main()
