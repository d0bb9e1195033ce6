"""Identify reads a leak in whatever form it turns up: printed to PDF, scanned, photographed,
retyped into Word or a spreadsheet, put on a web page, mailed, zipped.

Each test makes the form from one copy's rows (the registry's real rows with that
copy's canaries among them), saves it under a name that says nothing of its format,
and checks that identify names that copy, with exclusive evidence. The OCR tests run
Tesseract (Debian: tesseract-ocr, tesseract-ocr-spa) and pdftoppm (poppler-utils).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image, ImageFilter
from typer.testing import CliRunner

from canary.cli import app
from canary.config import Config
from canary.errors import InputError
from canary.investigate import ocr
from canary.investigate.identify import identify, identify_text
from canary.investigate.limits import SERVER_LIMITS, bounded_identify
from canary.store.engine import Store, open_store
from tests.registry_support import DOMAIN, Register, build
from tests.test_identify import CANARIES, COLUMNS, copy_rows, ids, values

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@pytest.fixture
def reg(sqlite_store: Store) -> Register:
    return build(sqlite_store, CANARIES)


def table(recipient: str) -> list[list[str]]:
    return [COLUMNS, *copy_rows(recipient)]


def printed_pdf(path: Path, recipient: str, widths: tuple[int, ...] = (18, 42, 48, 26, 20)) -> Path:
    """The copy as a custodian prints it: a one-page table in a Unicode font."""
    pdf = FPDF()
    pdf.add_font("dejavu", "", FONT)
    pdf.set_font("dejavu", size=8)
    pdf.add_page()
    with pdf.table(col_widths=widths, first_row_as_headings=False) as t:
        for values_ in table(recipient):
            row = t.row()
            for v in values_:
                row.cell(v)
    pdf.output(str(path))
    return path


def rendered_page(pdf: Path, out: Path) -> Path:
    """Page 1 of `pdf` as a 300 dpi grey PNG (what a scanner gives)."""
    subprocess.run(["pdftoppm", "-r", "300", "-gray", "-png", "-singlefile", pdf, out], check=True)
    return out.with_suffix(".png")


def assert_names(result: dict, reg: Register, recipient: str, *kinds: str) -> None:
    copy_id = reg.copies[recipient]
    assert ids(result)[0] == copy_id, result
    first = result["copies"][0]
    assert first["strength"] == "exclusive"
    found = {i["kind"] for i in first["identifiers"]}
    assert set(kinds) <= found, found


def test_copy_printed_to_pdf(sqlite_store: Store, reg: Register, tmp_path: Path) -> None:
    path = printed_pdf(tmp_path / "listado", "Partido Verde")
    result = identify(sqlite_store, path)
    verde = reg.copies["Partido Verde"]
    assert ids(result) == [verde]
    assert {
        f"rocio.hs@{DOMAIN}",
        "+528449876543",
        "Rocío Hernández Soto",
        "F-009873",
        f"lfmora@{DOMAIN}",
        "Lucía Fernández Mora",
    } <= values(result, verde)


def test_rows_wrapped_over_two_lines_in_a_printed_pdf(
    sqlite_store: Store, reg: Register, tmp_path: Path
) -> None:
    # Narrow columns: "María José Núñez / Peña" and "(844) 123- / 4567" each take two lines.
    path = printed_pdf(tmp_path / "angosto", "Partido Azul", widths=(18, 24, 48, 16, 20))
    result = identify(sqlite_store, path)
    azul = reg.copies["Partido Azul"]
    assert ids(result)[0] == azul
    assert {"María José Núñez Peña", "+528441234567", f"mj.nunez@{DOMAIN}"} <= values(result, azul)


def test_printed_page_scanned_to_an_image(
    sqlite_store: Store, reg: Register, tmp_path: Path
) -> None:
    pdf = printed_pdf(tmp_path / "listado.pdf", "Consultora XYZ")
    png = rendered_page(pdf, tmp_path / "escaneo")
    png.rename(tmp_path / "IMG_0412")
    result = identify(sqlite_store, tmp_path / "IMG_0412")
    assert_names(result, reg, "Consultora XYZ", "email", "phone", "name")
    assert f"sofi.rl@{DOMAIN}" in values(result, reg.copies["Consultora XYZ"])


def test_scanned_pdf_without_a_text_layer(
    sqlite_store: Store, reg: Register, tmp_path: Path
) -> None:
    png = rendered_page(printed_pdf(tmp_path / "a.pdf", "Partido Azul"), tmp_path / "scan")
    scan = FPDF()
    scan.add_page()
    scan.image(str(png), x=0, y=0, w=210)
    scan.set_font("helvetica", size=8)
    scan.text(10, 292, "CONFIDENCIAL - escaneado el 12/03/2026 - pag. 1 de 1")  # a stamp
    scan.output(str(tmp_path / "escaneado.pdf"))
    result = identify(sqlite_store, tmp_path / "escaneado.pdf")
    assert_names(result, reg, "Partido Azul", "email", "phone", "name")


def test_a_photo_of_the_page(sqlite_store: Store, reg: Register, tmp_path: Path) -> None:
    """Taken by hand: a few degrees askew, half the resolution, soft, JPEG-compressed."""
    png = rendered_page(printed_pdf(tmp_path / "a.pdf", "Partido Verde"), tmp_path / "scan")
    with Image.open(png) as im:
        photo = im.convert("L").resize((im.width // 2, im.height // 2))
    photo = photo.rotate(3, expand=True, fillcolor=225).filter(ImageFilter.GaussianBlur(0.6))
    photo.save(tmp_path / "WhatsApp Image 2026-03-12", format="JPEG", quality=70)
    result = identify(sqlite_store, tmp_path / "WhatsApp Image 2026-03-12")
    assert_names(result, reg, "Partido Verde", "phone", "name")


def test_a_page_scanned_sideways(sqlite_store: Store, reg: Register, tmp_path: Path) -> None:
    png = rendered_page(printed_pdf(tmp_path / "a.pdf", "Partido Azul"), tmp_path / "scan")
    with Image.open(png) as im:
        im.rotate(90, expand=True).save(tmp_path / "de lado.png")
    result = identify(sqlite_store, tmp_path / "de lado.png")
    assert_names(result, reg, "Partido Azul", "email", "phone", "name")


def test_ocr_misreadings_are_searched_both_ways(sqlite_store: Store, reg: Register) -> None:
    # What Tesseract makes of small print: 0 as O, 1 as l, the "@" as a G.
    line = "F-OO9871  Maria Jose Nunez Pena  mj.nunezGcorreo-seguro.test  (844) l23 4567"
    assert ocr.tolerant(line) == (
        f"{line}\tF-009871  Maria Jose Nunez Pena  mj.nunez@correo-seguro.test  (844) 123 4567"
    )
    assert ocr.tolerant("Saltillo, Coahuila. persona2@gmail.com") == (
        "Saltillo, Coahuila. persona2@gmail.com"
    )
    result = identify_text(sqlite_store, ocr.tolerant(line))
    assert ids(result) == [reg.copies["Partido Azul"]]
    assert values(result, reg.copies["Partido Azul"]) == {
        "F-009871",
        f"mj.nunez@{DOMAIN}",
        "+528441234567",
        "María José Núñez Peña",
    }


def test_word_table(sqlite_store: Store, reg: Register, tmp_path: Path) -> None:
    import docx

    doc = docx.Document()
    doc.add_paragraph("Padrón de apoyo — capturado del listado impreso")
    rows = table("Partido Azul")
    t = doc.add_table(rows=len(rows), cols=len(COLUMNS))
    for r, values_ in enumerate(rows):
        for c, v in enumerate(values_):
            t.cell(r, c).text = v
    doc.save(str(tmp_path / "captura"))
    result = identify(sqlite_store, tmp_path / "captura")
    assert_names(result, reg, "Partido Azul", "email", "phone", "name", "id")


def test_opendocument_spreadsheet(sqlite_store: Store, reg: Register, tmp_path: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    sheet = Table(name="Hoja1")
    for values_ in table("Consultora XYZ"):
        tr = TableRow()
        for v in values_:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=v))
            tr.addElement(cell)
        sheet.addElement(tr)
    doc.spreadsheet.addElement(sheet)
    doc.save(str(tmp_path / "hoja"))
    result = identify(sqlite_store, tmp_path / "hoja")
    assert_names(result, reg, "Consultora XYZ", "email", "phone", "name", "id")


def test_opendocument_text_with_a_list_typed_in(
    sqlite_store: Store, reg: Register, tmp_path: Path
) -> None:
    from odf.opendocument import OpenDocumentText
    from odf.text import LineBreak, P, S, Span

    doc = OpenDocumentText()
    doc.text.addElement(P(text="Contactos para la reunión:"))
    for p in CANARIES["Partido Verde"]:
        para = P()
        para.addElement(Span(text=p.name))
        para.addElement(S(c=3))  # spaces as OpenDocument writes them
        para.addElement(Span(text=p.email or ""))
        para.addElement(LineBreak())
        para.addText(f"cel. {p.phone}")
        doc.text.addElement(para)
    doc.save(str(tmp_path / "minuta"))
    result = identify(sqlite_store, tmp_path / "minuta")
    assert_names(result, reg, "Partido Verde", "email", "phone", "name")


def test_old_excel_workbook(sqlite_store: Store, reg: Register, tmp_path: Path) -> None:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Padron")
    for r, values_ in enumerate(table("Partido Verde")):
        for c, v in enumerate(values_):
            digits = v.replace("(", "").replace(")", "").replace("-", "").replace(" ", "")
            # Retyped by hand: phone numbers entered as numbers.
            sheet.write(r, c, int(digits) if c == 3 and digits.isdigit() else v)
    book.save(str(tmp_path / "base"))
    result = identify(sqlite_store, tmp_path / "base")
    assert_names(result, reg, "Partido Verde", "email", "phone", "name", "id")
    assert "+528449876543" in values(result, reg.copies["Partido Verde"])


def test_web_page_table(sqlite_store: Store, reg: Register, tmp_path: Path) -> None:
    cells = "".join(
        "<tr>" + "".join(f"<td>{v}</td>" for v in values_) + "</tr>\n"
        for values_ in table("Partido Azul")
    )
    page = (
        "<!DOCTYPE html><html><head><title>Simpatizantes</title>"
        "<script>var x = 'mj.nunez@correo-seguro.test';</script></head><body>"
        f"<table>{cells}</table></body></html>"
    )
    # Written with entities, as editors do: "Mar&iacute;a", "N&uacute;&ntilde;ez".
    page = page.replace("í", "&iacute;").replace("ú", "&uacute;").replace("ñ", "&ntilde;")
    (tmp_path / "pagina").write_text(page, encoding="utf-8")
    result = identify(sqlite_store, tmp_path / "pagina")
    assert_names(result, reg, "Partido Azul", "email", "phone", "name", "id")
    assert "María José Núñez Peña" in values(result, reg.copies["Partido Azul"])


def test_mail_with_the_copy_attached(sqlite_store: Store, reg: Register, tmp_path: Path) -> None:
    msg = EmailMessage()
    msg["From"] = "Luis <luis@gmail.com>"
    msg["To"] = "coordinacion@gmail.com"
    msg["Subject"] = "la base que pediste"
    msg.set_content("Va la lista en PDF. Saludos")
    pdf = printed_pdf(tmp_path / "lista.pdf", "Consultora XYZ").read_bytes()
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="lista.pdf")
    (tmp_path / "mensaje").write_bytes(bytes(msg))
    result = identify(sqlite_store, tmp_path / "mensaje")
    assert_names(result, reg, "Consultora XYZ", "email", "phone", "name", "id")


def test_text_that_only_looks_like_a_mail_keeps_every_line(
    sqlite_store: Store, reg: Register, tmp_path: Path
) -> None:
    note = (
        "Date: 12 mar 2026\nFrom: luis@gmail.com\nTelefono: 844 123 4567\n"
        "Nombre: María José Núñez Peña\n\nllamar mañana\n"
    )
    (tmp_path / "nota").write_text(note, encoding="utf-8")
    result = identify(sqlite_store, tmp_path / "nota")
    assert values(result, reg.copies["Partido Azul"]) == {"+528441234567", "María José Núñez Peña"}


def test_a_mail_nested_too_deep_is_refused(sqlite_store: Store, tmp_path: Path) -> None:
    head = "From: a@b.mx\nTo: c@d.mx\nSubject: x\nMIME-Version: 1.0\n"
    opens = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(3000)
    )
    closes = "".join(f"--b{i}--\n" for i in reversed(range(3000)))
    (tmp_path / "m").write_text(head + opens + "Content-Type: text/plain\n\nhola\n" + closes)
    with pytest.raises(InputError, match="nested too deep"):
        identify(sqlite_store, tmp_path / "m")


def zipped(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_holding_a_pdf(sqlite_store: Store, reg: Register, tmp_path: Path) -> None:
    pdf = printed_pdf(tmp_path / "x.pdf", "Partido Verde").read_bytes()
    inner = zipped(tmp_path / "inner.zip", {"docs/listado.pdf": pdf, "leeme.txt": b"hola"})
    outer = zipped(tmp_path / "paquete", {"respaldo.zip": inner.read_bytes()})
    for result in (identify(sqlite_store, outer), bounded_identify(sqlite_store, outer)):
        assert_names(result, reg, "Partido Verde", "email", "phone", "name", "id")


def test_archives_nested_too_deep_are_refused(sqlite_store: Store, tmp_path: Path) -> None:
    data = b"nada"
    for level in range(SERVER_LIMITS.max_depth + 2):
        data = zipped(tmp_path / f"z{level}.zip", {"z.zip": data}).read_bytes()
    (tmp_path / "matrioska").write_bytes(data)
    with pytest.raises(InputError, match="nested more than 4 levels"):
        bounded_identify(sqlite_store, tmp_path / "matrioska")


def test_a_zip_bomb_is_refused_by_its_compression_ratio(
    sqlite_store: Store, tmp_path: Path
) -> None:
    bomb = zipped(tmp_path / "bomb", {"a.csv": b"\x00" * (40 << 20)})
    assert bomb.stat().st_size < 100_000
    with pytest.raises(InputError, match="compression ratio"):
        bounded_identify(sqlite_store, bomb)
    # A bomb inside an archive is refused when its turn comes.
    many = zipped(tmp_path / "many", {f"{i}.zip": bomb.read_bytes() for i in range(2)})
    with pytest.raises(InputError, match="compression ratio"):
        bounded_identify(sqlite_store, many)


def test_files_inside_files_share_one_budget(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from canary.investigate import limits

    text = os.urandom(1_500_000).hex().encode()  # 3 MB that hardly compresses
    inner = zipped(tmp_path / "i.zip", {"a.txt": text, "b.txt": text})
    outer = zipped(tmp_path / "o.zip", {f"{i}.zip": inner.read_bytes() for i in range(3)})
    monkeypatch.setattr(limits, "_active", replace(limits.CLI_LIMITS, max_unzipped_bytes=10 << 20))
    with pytest.raises(InputError, match="unpacked size of the files inside it"):
        identify(sqlite_store, outer)


def test_ocr_is_bounded_in_pages_and_pixels(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from canary.investigate import limits

    Image.new("L", (7000, 7000), 255).save(tmp_path / "huge.png")  # 49 Mpx, a few KB
    with pytest.raises(InputError, match="over the limit of 40,000,000 pixels"):
        bounded_identify(sqlite_store, tmp_path / "huge.png")
    Image.new("L", (300, 300), 255).save(tmp_path / "blank.png")
    scan = FPDF()
    for _ in range(3):
        scan.add_page()
        scan.image(str(tmp_path / "blank.png"), x=0, y=0, w=50)
    scan.output(str(tmp_path / "scans.pdf"))
    monkeypatch.setattr(limits, "_active", replace(limits.CLI_LIMITS, max_ocr_pages=2))
    with pytest.raises(InputError, match="more than 2 pages or images to read through OCR"):
        identify(sqlite_store, tmp_path / "scans.pdf")


def cli_identify(config: Config, path: Path) -> tuple[int, str, str]:
    store = open_store(config.store_url)
    try:
        build(store, CANARIES)
    finally:
        store.dispose()
    result = CliRunner().invoke(app, ["identify", str(path), "--json"])
    return result.exit_code, result.stdout, result.stderr


def test_without_the_pdf_reader_identify_says_which_extra_to_install(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = printed_pdf(tmp_path / "listado.pdf", "Partido Verde")
    monkeypatch.setitem(sys.modules, "pypdf", None)  # import pypdf now fails
    code, out, err = cli_identify(config, path)
    assert (code, out) == (1, "")
    assert "pip install 'canary-trace[ocr]'" in err and "listado.pdf is a PDF" in err


def test_without_xlrd_an_old_workbook_names_the_office_extra(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xlwt

    book = xlwt.Workbook()
    book.add_sheet("a").write(0, 0, f"mj.nunez@{DOMAIN}")
    book.save(str(tmp_path / "viejo.xls"))
    monkeypatch.setitem(sys.modules, "xlrd", None)
    code, _, err = cli_identify(config, tmp_path / "viejo.xls")
    assert code == 1 and "pip install 'canary-trace[office]'" in err


def test_without_tesseract_identify_names_the_debian_packages(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    img = Image.new("L", (400, 100), 255)
    img.save(tmp_path / "foto.png")
    monkeypatch.setattr(ocr, "TESSERACT", "tesseract-not-installed")
    code, _, err = cli_identify(config, tmp_path / "foto.png")
    assert code == 1
    assert "apt-get install tesseract-ocr tesseract-ocr-spa" in err


def test_dump_formats_are_told_by_content(tmp_path: Path) -> None:
    from canary.investigate.sniff import Kind, detect_file_format

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@b.mx", "c@d.mx", "hola"
    msg.set_content("texto")
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, format="PNG")
    samples = {
        "mail": bytes(msg),
        "page": b"<!doctype html><html><body><table><tr><td>a</td></tr></table>",
        "png": buf.getvalue(),
        "notes": b"Subject: this is just text\nand more text\n",
        "json": json.dumps([{"a": 1}]).encode(),
    }
    kinds = {}
    for name, data in samples.items():
        (tmp_path / name).write_bytes(data)
        kinds[name] = detect_file_format(tmp_path / name).kind
    assert kinds == {
        "mail": Kind.EMAIL,
        "page": Kind.HTML,
        "png": Kind.IMAGE,
        "notes": Kind.TEXT,
        "json": Kind.JSON,
    }


def test_uploads_over_the_admin_api_are_read_in_every_form(tmp_path: Path, port: int) -> None:
    """The dashboard and the API read an upload the same way, in their bounded worker."""
    import httpx

    from canary.store.admin_token import rotate_admin_token
    from tests.admin_support import live_admin

    store = open_store(f"sqlite:///{tmp_path / 'canary.db'}")
    try:
        reg = build(store, CANARIES)
        token = rotate_admin_token(store)
        pdf = printed_pdf(tmp_path / "lista.pdf", "Partido Verde").read_bytes()
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "a@gmail.com", "b@gmail.com", "base"
        mail.set_content("adjunto")
        mail.add_attachment(pdf, maintype="application", subtype="pdf", filename="lista.pdf")
        with live_admin(store, port) as url, httpx.Client(base_url=url, timeout=120) as c:
            auth = {"Authorization": f"Bearer {token}"}
            r = c.post("/api/identify", files={"file": ("x", bytes(mail))}, headers=auth)
            assert r.status_code == 200, r.text
            assert ids(r.json())[0] == reg.copies["Partido Verde"]
    finally:
        store.dispose()


def test_an_issued_copy_printed_and_scanned_names_its_recipient(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """End to end with real canaries: issue three copies of a registry, print one to PDF
    as the custodian would, scan the printout; the PDF and the scan each name it."""
    import csv

    from canary.issue.plant import IssueRequest, issue_copies
    from canary.store import register as registry

    registry.add_domain(sqlite_store, "correo-avisos.mx")
    for i in range(6):
        registry.add_phone(sqlite_store, f"+52 844 555 {1000 + i:04d}", "twilio")
    src = tmp_path / "registro.csv"
    with src.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["folio", "nombre", "apellido_paterno", "correo", "celular"])
        for i in range(70):
            w.writerow(
                [
                    f"F-{i + 1:05d}",
                    ["María", "José", "Ana", "Juan"][i % 4],
                    ["López", "García", "Hernández"][i % 3],
                    f"persona{i}@gmail.com",
                    f"(844) {100 + i:03d}-{1000 + i:04d}",
                ]
            )
    issued = issue_copies(
        sqlite_store,
        Config(),
        IssueRequest(str(src), ["Azul", "Verde", "XYZ"], out_dir=tmp_path / "out", seed=5),
    )
    leaked = next(c for c in issued if c.recipient == "Verde")
    with open(leaked.path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    pdf = FPDF()
    pdf.add_font("dejavu", "", FONT)
    pdf.set_font("dejavu", size=8)
    pdf.add_page()
    with pdf.table(col_widths=(20, 30, 30, 60, 40), first_row_as_headings=False) as t:
        for values_ in rows:
            row = t.row()
            for v in values_:
                row.cell(v)
    pdf.output(str(tmp_path / "impreso.pdf"))
    subprocess.run(
        ["pdftoppm", "-r", "300", "-gray", "-png", tmp_path / "impreso.pdf", tmp_path / "hoja"],
        check=True,
    )
    scan = FPDF()
    for png in sorted(tmp_path.glob("hoja*.png")):
        scan.add_page()
        scan.image(str(png), x=0, y=0, w=210)
    scan.output(str(tmp_path / "escaneo.pdf"))
    for path in (tmp_path / "impreso.pdf", tmp_path / "escaneo.pdf"):
        result = identify(sqlite_store, path)
        assert ids(result)[0] == leaked.id, (path.name, result)
        assert result["copies"][0]["strength"] == "exclusive"
