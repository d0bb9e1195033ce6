"""PDFs and pictures of a copy: the text layer of a PDF, and OCR for what has none.

What turns up of a printed list is a PDF made from it, a scan of the printout, or a
photo of a page. A PDF's text layer is read with pypdf twice: in layout mode, where
the gap between two columns becomes a tab (so a name never runs into the next cell),
and in drawing order, where a cell wrapped over two lines stays whole. A page
without text (a scan) is rendered with poppler's `pdftoppm` and read by Tesseract, as
are images (PNG, JPEG, TIFF, GIF, WebP): both run as their own processes, with a
timeout, never inside ours. Tesseract reads with its Spanish and English models and
keeps each printed line a line (page segmentation mode 4: a table survives, a photo
taken a few degrees askew too); its word boxes put a tab where the gap between two
words is a column's, not a space's.

OCR confuses 0 with O and 1 with l or I inside numbers ("F-OO9871", "(844) l23 4567"),
and at small print reads an address's "@" as G, O, 0 or © ("mj.nunezGcorreo-seguro.test"):
a line holding either is followed, after a tab, by the same line with the run read as
digits and the "@" put back, so both readings are searched. Accents lost, line breaks
inside a row and spaces inside phone numbers are already what the matcher tolerates.

Python packages: pypdf and Pillow (`pip install 'canary-trace[ocr]'`). Debian packages:
tesseract-ocr, tesseract-ocr-spa, poppler-utils. Each missing piece is a clear error
naming what to install, never an empty answer.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from statistics import median
from typing import Any

from canary.errors import InputError
from canary.files import open_private
from canary.investigate import limits
from canary.investigate.limits import Budget, LimitExceeded
from canary.investigate.readers import CELL_SEP, missing_extra, printable_text, raw_pieces
from canary.investigate.sniff import Format

log = logging.getLogger(__name__)

TESSERACT = "tesseract"
PDFTOPPM = "pdftoppm"
#: Tesseract's models: Spanish first (accents, ñ), English beside it ("@" in addresses).
LANGUAGES = "spa+eng"
#: Page segmentation: one column of lines of any size (keeps a table's row one line).
PSM = "4"
TESSERACT_PACKAGES = "tesseract-ocr tesseract-ocr-spa"
POPPLER_PACKAGES = "poppler-utils"
#: Long side of a rendered PDF page, in pixels (A4 at 300 dpi).
PAGE_PIXELS = 3508
#: Images whose long side is shorter are enlarged twice before OCR (photos, screenshots).
SMALL_IMAGE = 1000
#: A PDF page with images and fewer characters of text than this (a scan with a stamp or
#: a page number typed on it) is also read through OCR.
MIN_PAGE_TEXT = 200
#: A gap between two words wider than this many times the line's word height is a column.
COLUMN_GAP = 1.4
#: A page read with fewer words than this may lie sideways: its orientation is checked.
FEW_WORDS = 8
_ROTATE_RE = re.compile(r"^Rotate: (\d+)", re.M)
#: Tesseract with one thread: several only slow it on a busy machine (5x measured).
_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}
#: Spaces in a layout-mode PDF line that stand for a column gap.
_LAYOUT_GAP_RE = re.compile(r" {3,}")
#: A run of digits and the letters OCR mistakes them for; two digits at least.
_CONFUSABLE_RE = re.compile(r"(?<![A-Za-z])[0-9OoIl|]*[0-9][0-9OoIl|]*[0-9][0-9OoIl|]*")
_AS_DIGITS = str.maketrans("OoIl|", "00111")
#: An address whose "@" OCR read as another sign or letter ("mj.nunezGcorreo-seguro.test",
#: "persona0O gmail.com"): a local part, the misread sign, a lower-case domain.
_LOST_AT_RE = re.compile(
    r"(?<![\w.+@-])([A-Za-z0-9._+-]{1,64})[©®GOQ0@]\s?((?:[a-z0-9-]+\.)+[a-z]{2,24})(?![\w.@-])"
)


# --- PDF ------------------------------------------------------------------------------------


def pdf_pieces(path: Path, fmt: Format, budget: Budget) -> Iterator[str]:
    """Each page's text layer; a page with none but images (a scan) through OCR."""
    try:
        import pypdf
    except ImportError as exc:
        raise missing_extra(path, "a PDF", "ocr") from exc
    try:
        reader = pypdf.PdfReader(path, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"{path.name} is a password-protected PDF; give the opened copy")
        count = len(reader.pages)
    except InputError:
        raise
    except Exception as exc:  # a damaged or hostile PDF: search what its bytes hold
        log.warning("%s is not a readable PDF (%s); scanning its bytes", path.name, exc)
        yield from raw_pieces(path, fmt, budget)
        return
    for number in range(count):
        try:
            page = reader.pages[number]
            text = _page_text(page)
        except Exception as exc:
            log.warning("%s: page %d has no readable text (%s)", path.name, number + 1, exc)
            page, text = None, ""
        if text.strip():
            yield text + "\n"
        if len(text.strip()) < MIN_PAGE_TEXT and (page is None or _has_images(page)):
            yield _ocr_pdf_page(path, number + 1, budget) + "\n"


def _page_text(page: Any) -> str:
    """A page's text twice: in layout mode, where a wide gap (a column's) becomes a tab,
    so each printed row is a row of cells; then in the order it was drawn, where a cell
    wrapped over two lines ("María José Núñez / Peña") stays together, which layout mode
    splits around the rest of its row."""
    try:
        layout = str(page.extract_text(extraction_mode="layout"))
    except Exception as exc:  # layout mode gives up on some fonts; plain text does not
        log.info("layout extraction failed (%s); reading the plain text only", exc)
        layout = ""
    lines = (_LAYOUT_GAP_RE.sub(CELL_SEP, ln.strip()) for ln in layout.splitlines())
    cells = "\n".join(ln for ln in lines if ln)
    drawn = str(page.extract_text())
    return printable_text(f"{cells}\n{drawn}" if cells.strip() else drawn)


def _has_images(page: Any, depth: int = 0) -> bool:
    """Whether the page (or a form it draws, two levels down) paints an image."""
    try:
        resources = page.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        if xobjects is None:
            return False
        xobjects = xobjects.get_object()
        for key in list(xobjects)[:100]:
            xobject = xobjects[key].get_object()
            kind = xobject.get("/Subtype")
            if kind == "/Image" or (
                kind == "/Form" and depth < 2 and _has_images(xobject, depth + 1)
            ):
                return True
        return False
    except Exception:  # unsure: OCR it rather than miss it
        return True


def _ocr_pdf_page(path: Path, number: int, budget: Budget) -> str:
    """Page `number` of the PDF rendered to a grey PNG by pdftoppm, then read by OCR."""
    _count_page(path, budget)
    tool = _tool(PDFTOPPM, path, "a scanned PDF", POPPLER_PACKAGES)
    with tempfile.TemporaryDirectory(prefix="canary-ocr-") as tmp:
        out = Path(tmp) / "page"
        pages = ["-f", str(number), "-l", str(number), "-scale-to", str(PAGE_PIXELS)]
        _run([tool, *pages, "-gray", "-png", str(path), str(out)], path, f"rendering page {number}")
        images = sorted(Path(tmp).glob("page*.png"))
        if not images:
            raise InputError(f"{path.name}: page {number} could not be rendered for OCR")
        return ocr_file(images[0], path)


# --- images ---------------------------------------------------------------------------------


def image_pieces(path: Path, fmt: Format, budget: Budget) -> Iterator[str]:
    """Each frame of the image (a multi-page TIFF has several) through OCR: turned the
    way its EXIF says, grey, enlarged when small."""
    try:
        from PIL import Image, ImageOps
    except ImportError as exc:
        raise missing_extra(path, "an image", "ocr") from exc
    _tool(TESSERACT, path, "an image", TESSERACT_PACKAGES)
    lim = limits.active()
    try:
        with Image.open(path) as im:
            width, height = im.size
            if lim.max_image_pixels and width * height > lim.max_image_pixels:
                raise LimitExceeded(
                    f"{path.name}: an image of {width}x{height} pixels is over the limit of "
                    f"{lim.max_image_pixels:,} pixels; the file was not read"
                )
            for frame in range(getattr(im, "n_frames", 1)):
                _count_page(path, budget)
                im.seek(frame)
                page = ImageOps.exif_transpose(im.convert("L")) if frame == 0 else im.convert("L")
                if max(page.size) < SMALL_IMAGE:
                    page = page.resize((page.width * 2, page.height * 2), Image.Resampling.LANCZOS)
                with tempfile.TemporaryDirectory(prefix="canary-ocr-") as tmp:
                    png = Path(tmp) / "page.png"
                    with open_private(png, "wb") as f:
                        page.save(f, format="PNG")
                    yield ocr_file(png, path) + "\n"
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"{path.name} is not a readable image ({exc})") from exc


# --- Tesseract ------------------------------------------------------------------------------


def ocr_file(image: Path, source: Path) -> str:
    """The text Tesseract reads in `image` (a page of `source`): lines as printed, a tab
    between columns, and OCR's digit confusions also read as digits. A page that gives
    next to no words is asked its orientation (a scan fed in sideways or upside down),
    turned and read again."""
    tool = _tool(TESSERACT, source, "a scanned page or image", TESSERACT_PACKAGES)
    started = time.monotonic()
    text = _read(tool, image, source)
    if len(text.split()) < FEW_WORDS and (turn := _rotation(tool, image, source)):
        from PIL import Image

        with Image.open(image) as im:
            turned = im.rotate(-turn, expand=True)
        with open_private(image, "wb") as f:
            turned.save(f, format="PNG")
        text = _read(tool, image, source)
        log.info("a page of %s was turned %d degrees to be read", source.name, turn)
    log.info("OCR of a page of %s: %.1f s", source.name, time.monotonic() - started)
    return tolerant(text)


def _read(tool: str, image: Path, source: Path) -> str:
    out = _run(
        [tool, str(image), "stdout", "-l", LANGUAGES, "--psm", PSM, "tsv"],
        source,
        "OCR",
        env=_ENV,
    )
    return tsv_lines(out.decode("utf-8", "replace"))


def _rotation(tool: str, image: Path, source: Path) -> int:
    """Degrees (clockwise) Tesseract's orientation detection says the page needs; 0
    when it is upright or too bare to tell."""
    try:
        out = _run([tool, str(image), "stdout", "--psm", "0"], source, "OCR", env=_ENV)
    except InputError as exc:  # too few characters to tell: leave it as it is
        log.info("orientation of a page of %s unknown (%s)", source.name, exc)
        return 0
    m = _ROTATE_RE.search(out.decode("utf-8", "replace"))
    return int(m.group(1)) % 360 if m else 0


def tsv_lines(tsv: str) -> str:
    """Tesseract's TSV (one row per word, with its box) as text: its lines as lines, a
    tab where two words are a column apart."""
    lines: dict[tuple[str, ...], list[tuple[int, int, int, str]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        try:
            left, width, height = int(cols[6]), int(cols[8]), int(cols[9])
        except ValueError:
            continue
        lines.setdefault(tuple(cols[1:5]), []).append((left, width, height, cols[11]))
    out = []
    for words in lines.values():
        gap = COLUMN_GAP * median(h for _, _, h, _ in words)
        parts = [words[0][3]]
        for (left0, width0, _, _), (left, _, _, word) in itertools.pairwise(words):
            parts.append(CELL_SEP if left - (left0 + width0) > gap else " ")
            parts.append(word)
        out.append("".join(parts))
    return "\n".join(out)


def tolerant(text: str) -> str:
    """Each line as OCR read it and, when OCR may have misread it, a second reading after
    a tab: runs of digits with letters OCR takes for them (O for 0, l/I/| for 1; two
    digits at least) read as digits, and an address's "@" read as another sign restored."""
    out = []
    for line in text.splitlines():
        fixed = _LOST_AT_RE.sub(r"\1@\2", line) if "." in line else line
        fixed = _CONFUSABLE_RE.sub(lambda m: m.group(0).translate(_AS_DIGITS), fixed)
        out.append(line if fixed == line else f"{line}{CELL_SEP}{fixed}")
    return "\n".join(out)


def _count_page(path: Path, budget: Budget) -> None:
    lim = limits.active()
    budget.ocr_pages += 1
    if lim.max_ocr_pages and budget.ocr_pages > lim.max_ocr_pages:
        raise LimitExceeded(
            f"{path.name}: more than {lim.max_ocr_pages} pages or images to read through OCR; "
            "the file was not read (run `canary identify` on it where it is, or split it)"
        )


@functools.cache
def _which(name: str) -> str | None:
    return shutil.which(name)


def _tool(name: str, path: Path, what: str, packages: str) -> str:
    found = _which(name)
    if found is None:
        raise InputError(
            f"{path.name} is {what}; reading it needs the `{name}` program: "
            f"apt-get install {packages}"
        )
    return found


def _run(args: list[str], source: Path, what: str, env: dict[str, str] | None = None) -> bytes:
    """Run one of the OCR tools on a file of the dump, under the per-page time limit."""
    seconds = limits.active().ocr_seconds or None
    try:
        done = subprocess.run(  # noqa: S603 (our tool, our temporary files)
            args, capture_output=True, timeout=seconds, check=False, env=env
        )
    except subprocess.TimeoutExpired as exc:
        raise LimitExceeded(
            f"{source.name}: {what} took longer than the limit of {seconds:.0f} s per page; "
            "the file was not read"
        ) from exc
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace")
        if "Failed loading language" in err:
            raise InputError(
                f"{source.name}: Tesseract has no Spanish model: "
                f"apt-get install {TESSERACT_PACKAGES}"
            )
        last = err.strip().splitlines()[-1][:200] if err.strip() else f"exit {done.returncode}"
        raise InputError(f"{source.name}: {what} failed ({last})")
    return done.stdout
