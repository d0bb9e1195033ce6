"""Benchmark: ten XLSX copies in one pass, against openpyxl loading and saving once.

Run by hand:  python bench/plant_xlsx.py [--rows 200000] [--copies 10]

Generates (or reuses) bench/data/plant-<rows>.xlsx: one sheet of 7 columns (folio,
name, email, phone, town, date, amount; a bold header, dates and amounts with number
formats) and a TOTAL row with =SUM over the amounts; openpyxl writes its text as
inline strings. Then, in the same run, it times:

- openpyxl: load_workbook and save, once (what every copy cost before, plus the
  row insertions);
- ours: open the table (read-only values for the sample) and write `--copies` copies
  with 3 canaries each, in one read of the workbook (canary/formats/_xlsxstream.py),
  SHA-256 of each copy included.

Target: ours, ten copies, in less time than openpyxl's one load and save.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from canary.formats import CopyTarget, Insertion, open_table  # noqa: E402

print = functools.partial(print, flush=True)
DATA = ROOT / "data"
TOWNS = ["Saltillo", "Torreón", "Monclova", "Piedras Negras", "Acuña"]


def generate(path: Path, rows: int) -> None:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    rnd = random.Random(7)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Clientes")
    header = []
    for name in ["folio", "nombre", "correo", "telefono", "municipio", "fecha", "monto"]:
        c = WriteOnlyCell(ws, value=name)
        c.font = Font(bold=True)
        header.append(c)
    ws.append(header)
    for i in range(rows):
        date = WriteOnlyCell(
            ws, value=dt.date(2020, 1, 1) + dt.timedelta(days=rnd.randint(0, 1500))
        )
        date.number_format = "dd/mm/yyyy"
        amount = WriteOnlyCell(ws, value=rnd.randint(100, 999999) / 100)
        amount.number_format = "#,##0.00"
        ws.append(
            [
                2 * i + 2,
                f"Persona {rnd.randint(1, 99999)} {rnd.choice(['García', 'López', 'Pérez'])}",
                f"user{i}@example.com",
                f"844{rnd.randint(1000000, 9999999)}",
                rnd.choice(TOWNS),
                date,
                amount,
            ]
        )
    ws.append(["TOTAL", None, None, None, None, None, f"=SUM(G2:G{rows + 1})"])
    tmp = path.with_suffix(".part")
    wb.save(tmp)
    tmp.rename(path)


def openpyxl_round_trip(src: Path, out: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(src)
    wb.save(out)
    wb.close()


def ours(src: Path, out_dir: Path, copies: int) -> tuple[float, float]:
    """(open, write) seconds."""
    t = time.perf_counter()
    table = open_table(src)
    opened = time.perf_counter() - t
    rnd = random.Random(1)
    targets = []
    for c in range(copies):
        ins = [
            Insertion(
                rnd.random(),
                lambda p, n, c=c, k=k: [
                    str(2 * 10**7 + 10 * c + k),
                    f"Canario {c}.{k}",
                    f"canario.{c}.{k}@canary-mail.mx",
                    f"844555{1000 + c * 3 + k:04d}",
                    "Saltillo",
                    "2024-02-03",
                    "123.45",
                ],
            )
            for k in range(3)
        ]
        targets.append(CopyTarget(out_dir / f"copy{c}.xlsx", ins))
    t = time.perf_counter()
    table.write_copies(targets)
    assert all(len(x.sha256) == 64 for x in targets)
    return opened, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--copies", type=int, default=10)
    args = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    src = DATA / f"plant-{args.rows}.xlsx"
    if not src.exists():
        print(f"generating {src} ...")
        generate(src, args.rows)
    out_dir = DATA / "out-xlsx"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir()
    print(f"source {src.stat().st_size / 1e6:.1f} MB, {args.rows} rows x 7 columns")
    t = time.perf_counter()
    openpyxl_round_trip(src, out_dir / "openpyxl.xlsx")
    base = time.perf_counter() - t
    print(f"openpyxl load + save, once   {base:7.2f} s")
    opened, written = ours(src, out_dir, args.copies)
    total = opened + written
    print(
        f"ours, {args.copies} copies in one pass {total:7.2f} s  (open {opened:.2f}, write "
        f"{written:.2f})  ratio {total / base:.2f}x openpyxl's one load + save (target < 1x)"
    )
    shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
