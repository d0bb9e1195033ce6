"""The PDF rendering of the case report (fpdf2, pure Python).

Uses DejaVu Sans (Debian's fonts-dejavu-core) when it is installed so every
character prints; otherwise the PDF core font with text reduced to Latin-1 (accents
kept, anything else replaced by '?'). Values are drawn as text, never interpreted.
Per-hit fields are single lines cut to the page width (fpdf2's line breaking is slow
over thousands of hits); the full values are in hits/NNN.json and report.html.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/local/share/fonts/truetype/dejavu"),
)
MAX_FIELD = 2000


def _font_path() -> Path | None:
    for d in FONT_DIRS:
        p = d / "DejaVuSans.ttf"
        if p.is_file():
            return p
    return None


class _Report(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.set_auto_page_break(True, margin=15)
        font = _font_path()
        self._uni = font is not None
        if font is not None:
            self.add_font("body", "", str(font))
            bold = font.with_name("DejaVuSans-Bold.ttf")
            self.add_font("body", "B", str(bold if bold.is_file() else font))
            self._face = "body"
        else:
            self._face = "helvetica"

    def clean(self, value: Any) -> str:
        text = str(value if value is not None else "")[:MAX_FIELD]
        text = "".join(ch if ch.isprintable() or ch == "\n" else " " for ch in text)
        if not self._uni:
            text = text.encode("latin-1", "replace").decode("latin-1")
        return text

    def para(self, text: Any, size: int = 10, style: str = "") -> None:
        self.set_font(self._face, style, size)
        self.multi_cell(
            0,
            size * 0.5,
            self.clean(text),
            wrapmode=WrapMode.WORD,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def text_line(self, text: Any, size: int = 9, style: str = "") -> None:
        """One line, cut to the page width: cheap, for the many fields of many hits."""
        self.set_font(self._face, style, size)
        t = self.clean(text).replace("\n", " ")[:300]
        ellipsis = "…" if self._uni else "..."
        while t and self.get_string_width(t) > self.epw:
            t = t[: max(1, int(len(t) * self.epw / self.get_string_width(t)) - 2)]
            if self.get_string_width(t + ellipsis) <= self.epw:
                t += ellipsis
                break
        self.cell(0, size * 0.5, t, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def field(self, label: str, value: Any) -> None:
        self.text_line(f"{label}: {self.clean(value)}")


def render_pdf(ctx: dict[str, Any]) -> bytes:
    """The case report as PDF bytes, from the same context as report.html."""
    t, iss = ctx["t"], ctx["issuance"]
    copy = iss["copy"]
    pdf = _Report()
    pdf.add_page()
    pdf.para(t["title"].format(copy=copy["id"]), 16, "B")
    pdf.ln(2)
    pdf.para(t["intro"].format(copy=copy["id"]))
    pdf.ln(2)
    pdf.para(t["issuance"], 13, "B")
    for key in ("id", "recipient", "purpose", "issued_by", "issued_at", "sha256"):
        pdf.field(t["copy"] if key == "id" else t[key], copy[key])
    pdf.field(t["dataset"], iss["dataset"].get("name", ""))
    pdf.ln(2)
    pdf.para(f"{t['canaries']} ({len(iss['canaries'])})", 13, "B")
    for c in iss["canaries"]:
        pdf.text_line(f"#{c['id']}: " + ", ".join(i["value"] for i in c["identifiers"]))
    pdf.ln(2)
    pdf.para(f"{t['hits']} ({len(ctx['hits'])})", 13, "B")
    if not ctx["hits"]:
        pdf.para(t["no_hits"])
    for view in ctx["hits"]:
        h = view["hit"]
        pdf.ln(1)
        pdf.text_line(f"{view['number']}. {h['observed_at']} · {h['channel']}", 10, "B")
        pdf.field(t["identifier"], h["identifier"])
        pdf.field(t["sender"], h["sender"])
        pdf.field(t["summary"], h["summary"])
        if view["raw"]:
            pdf.field(t["evidence"], f"{view['raw']} SHA-256 {h['evidence_sha256']}")
    pdf.ln(2)
    pdf.para(t["chain"], 13, "B")
    pdf.para(t["chain_text"])
    status = (
        t["chain_broken"].format(what=ctx["chain_broken"]) if ctx["chain_broken"] else t["chain_ok"]
    )
    pdf.field(t["chain_status"], status)
    pdf.para(t["generated"].format(when=ctx["generated"]), 9)
    return bytes(pdf.output())
