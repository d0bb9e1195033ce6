"""How long identify takes on a leak in each form, against the same rows as a CSV.

    python bench/forms.py                 # 3 pages of 45 rows, 3 repetitions
    python bench/forms.py --pages 1 --reps 1

The same table (real-looking rows with one copy's canaries among them) is written as a
CSV (the baseline), a printed PDF, a .docx, an .ods-free zip holding the PDF, the pages
rendered at 300 dpi (a scan: PNG and a PDF of images) and a photo of the first page
(half resolution, 3 degrees askew, JPEG). Each is identified `--reps` times; printed:
the median seconds, seconds per page where OCR runs, the ratio to the CSV, and whether
the right copy was named. Needs the `ocr` extra, python-docx and Debian's
tesseract-ocr, tesseract-ocr-spa and poppler-utils.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fpdf import FPDF
from PIL import Image, ImageFilter

from canary.investigate.identify import identify
from canary.store.engine import open_store
from tests.registry_support import DOMAIN, Person, build

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
ROWS_PER_PAGE = 45
CANARIES = {
    "Partido Azul": [
        Person("María José Núñez Peña", f"mj.nunez@{DOMAIN}", "+52 844 123 4567", "F-009871")
    ],
    "Partido Verde": [
        Person("Rocío Hernández Soto", f"rocio.hs@{DOMAIN}", "+52 844 987 6543", "F-009873"),
        Person("Lucía Fernández Mora", f"lfmora@{DOMAIN}", "+52 844 555 0101", "F-009874"),
    ],
}


def rows(pages: int) -> list[list[str]]:
    out = [
        [f"F-00{1000 + i}", f"Persona{i} Apellido{i} Real", f"p{i}@gmail.com", f"81 {i:04d} 2000"]
        for i in range(pages * ROWS_PER_PAGE - 2)
    ]
    for k, p in enumerate(CANARIES["Partido Verde"]):
        d = "".join(ch for ch in p.phone or "" if ch.isdigit())[-10:]
        out.insert(
            7 + 20 * k, [p.ident or "", p.name, p.email or "", f"({d[:3]}) {d[3:6]}-{d[6:]}"]
        )
    return out


def forms(tmp: Path, pages: int) -> dict[str, tuple[Path, int]]:
    table = rows(pages)
    with (tmp / "copy.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(table)
    pdf = FPDF()
    pdf.add_font("dejavu", "", FONT)
    pdf.set_font("dejavu", size=8)
    pdf.add_page()
    with pdf.table(col_widths=(20, 50, 50, 30), first_row_as_headings=False) as t:
        for values in table:
            r = t.row()
            for v in values:
                r.cell(v)
    pdf.output(str(tmp / "printed.pdf"))
    subprocess.run(
        ["pdftoppm", "-r", "300", "-gray", "-png", tmp / "printed.pdf", tmp / "page"], check=True
    )
    scans = sorted(tmp.glob("page*.png"))
    scan = FPDF()
    for png in scans:
        scan.add_page()
        scan.image(str(png), x=0, y=0, w=210)
    scan.output(str(tmp / "scanned.pdf"))
    with Image.open(scans[0]) as im:
        photo = im.convert("L").resize((im.width // 2, im.height // 2))
    photo.rotate(3, expand=True, fillcolor=225).filter(ImageFilter.GaussianBlur(0.6)).save(
        tmp / "photo.jpg", quality=70
    )
    import docx

    doc = docx.Document()
    t = doc.add_table(rows=len(table), cols=4)
    for i, values in enumerate(table):
        for j, v in enumerate(values):
            t.cell(i, j).text = v
    doc.save(str(tmp / "table.docx"))
    with zipfile.ZipFile(tmp / "pdf.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(tmp / "printed.pdf", "listado.pdf")
    n = len(scans)
    return {
        "csv (baseline)": (tmp / "copy.csv", 0),
        "printed PDF": (tmp / "printed.pdf", 0),
        "zip holding the PDF": (tmp / "pdf.zip", 0),
        "docx table": (tmp / "table.docx", 0),
        "scan, PNG page 1": (scans[0], 1),
        "scanned PDF": (tmp / "scanned.pdf", n),
        "photo, page 1": (tmp / "photo.jpg", 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        store = open_store(f"sqlite:///{tmp / 'canary.db'}")
        reg = build(store, CANARIES)
        want = reg.copies["Partido Verde"]
        base = None
        for label, (path, ocr_pages) in forms(tmp, args.pages).items():
            times = []
            for _ in range(args.reps):
                t0 = time.perf_counter()
                result = identify(store, path)
                times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            base = base or med
            named = bool(result["copies"]) and result["copies"][0]["id"] == want
            per_page = f"  {med / ocr_pages:5.2f} s/page OCR" if ocr_pages else ""
            print(
                f"{label:22s} {med:7.2f} s  x{med / base:7.1f} csv{per_page}"
                f"  names the copy: {'yes' if named else 'NO'}"
            )
        store.dispose()


if __name__ == "__main__":
    main()
