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

from canary.evidence.case import CaseReport, HitView

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


def render_pdf(report: CaseReport) -> bytes:
    """The case report as PDF bytes, from the same view as report.html."""
    t, iss = report.t, report.issuance
    pdf = _Report()
    pdf.add_page()
    pdf.para(report.title, 16, "B")
    pdf.ln(2)
    pdf.para(report.opening)
    pdf.ln(2)
    pdf.para(t["issuance"], 13, "B")
    pdf.field(t["copy"], iss.copy_id)
    pdf.field(t["recipient"], iss.recipient)
    pdf.field(t["purpose"], iss.purpose)
    pdf.field(t["issued_by"], iss.issued_by)
    pdf.field(t["issued_at"], iss.issued_at)
    pdf.field(t["sha256"], iss.sha256)
    pdf.field(t["dataset"], iss.dataset)
    pdf.ln(2)
    pdf.para(f"{t['canaries']} ({len(iss.canaries)})", 13, "B")
    for c in iss.canaries:
        pdf.text_line(f"#{c.id}: " + ", ".join(i.value for i in c.identifiers))
    pdf.ln(2)
    pdf.para(f"{t['hits']} ({len(report.exclusive)})", 13, "B")
    pdf.para(t["hits_note"], 9)
    if not report.exclusive:
        pdf.para(t["no_hits"])
    for h in report.exclusive:
        _hit(pdf, report, h)
        pdf.field(t["p"], f"{h.mine.false_accusation_probability:.3g}")
    if report.shared:
        pdf.ln(2)
        pdf.para(f"{t['shared']} ({len(report.shared)})", 13, "B")
        pdf.para(t["shared_note"], 9)
        for h in report.shared:
            _hit(pdf, report, h)
            for cand in h.candidates:
                mark = f" ({t['this_copy']})" if cand.copy == h.mine.copy else ""
                pdf.field(
                    f"{t['candidates']}: {cand.copy}{mark}",
                    f"{t['score']} {cand.score:.3g}, {t['p']} "
                    f"{cand.false_accusation_probability:.3g}",
                )
    pdf.ln(2)
    pdf.para(t["chain"], 13, "B")
    pdf.para(t["chain_text"])
    status = (
        t["chain_broken"].format(what=report.chain_broken) if report.chain_broken else t["chain_ok"]
    )
    pdf.field(t["chain_status"], status)
    pdf.para(t["generated"].format(when=report.generated), 9)
    return bytes(pdf.output())


def _hit(pdf: _Report, report: CaseReport, h: HitView) -> None:
    t = report.t
    pdf.ln(1)
    pdf.text_line(f"{h.number}. {h.observed_at} · {h.channel}", 10, "B")
    pdf.field(t["identifier"], h.identifier)
    pdf.field(t["sender"], h.sender)
    pdf.field(t["summary"], h.summary)
    pdf.field(t["strength"], report.strength_label(h.strength))
    if h.raw:
        pdf.field(t["evidence"], f"{h.raw} SHA-256 {h.evidence_sha256}")
