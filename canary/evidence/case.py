"""What the case report on a copy says: a typed view of the evidence, rendered to HTML.

`build_case` reads the copy, its issuance and every hit naming it among its candidates,
and sorts the hits into two kinds of evidence:

- exclusive hits: contact to a canary only this copy held; they point at this copy;
- shared (and coded) hits: contact to a canary this copy shares with other copies;
  each is listed with the other candidates, their scores and false-accusation
  probabilities, and is never presented as pointing at this copy.

The opening sentence says what the evidence supports and nothing more, with the
false-accusation probability of blaming this copy on all its hits
(`canary.hits.attribution.copy_attribution`). `render_html` turns the view into
report.html (autoescaped: every value may come from an adversary); canary.evidence.pdf
draws the same view as PDF. Spanish and English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from jinja2 import StrictUndefined
from sqlalchemy.orm import Session

from canary.errors import InputError
from canary.evidence.templating import ItemFirstEnvironment
from canary.hits.attribution import (
    Candidate,
    CopyAttribution,
    coded_canary_ids,
    copy_attribution,
    hit_attribution,
    related_hits,
)
from canary.store.models import Copy, Hit
from canary.vocabulary import Strength

LANGS = ("es", "en")

TEXT: dict[str, dict[str, str]] = {
    "es": {
        "title": "Informe de caso: copia {copy}",
        "scope": "Este informe documenta los contactos recibidos por los registros señuelo "
        "(canarios) de la copia {copy}.",
        "open_none": "No se ha registrado ningún contacto a los canarios de la copia {copy}.",
        "open_exclusive": "{n} contacto(s) llegaron a canarios que solo tenía la copia {copy}: "
        "apuntan a esta copia (probabilidad de acusación falsa {p}).",
        "open_mixed": "{n} contacto(s) llegaron a canarios que solo tenía la copia {copy}: "
        "apuntan a esta copia (probabilidad de acusación falsa {p}). Otros {m} contacto(s) "
        "llegaron a canarios que esta copia comparte con otras copias; se listan aparte y "
        "por sí solos no apuntan a esta copia.",
        "open_shared": "Ningún contacto llegó a un canario exclusivo de la copia {copy}. "
        "{m} contacto(s) llegaron a canarios que comparte con otras copias: no demuestran "
        "que esta copia sea el origen. Culparla con esta evidencia tiene una probabilidad "
        "de acusación falsa de {p}.",
        "issuance": "Emisión de la copia",
        "copy": "Copia",
        "recipient": "Destinatario",
        "purpose": "Finalidad",
        "issued_by": "Emitida por",
        "issued_at": "Fecha de emisión",
        "dataset": "Conjunto de datos",
        "sha256": "SHA-256 de la copia",
        "canaries": "Canarios plantados",
        "hits": "Contactos exclusivos de esta copia",
        "hits_note": "Cada uno llegó a un canario que solo tenía esta copia.",
        "no_hits": "Ningún contacto exclusivo registrado.",
        "shared": "Contactos compartidos con otras copias",
        "shared_note": "Cada uno llegó a un canario que también tenían otras copias. No "
        "apuntan a esta copia: se muestran con todas las copias candidatas, su puntuación "
        "y la probabilidad de acusación falsa de culpar a cada una.",
        "strength": "Fuerza",
        "strength_exclusive": "exclusivo",
        "strength_shared": "compartido",
        "strength_coded": "codificado",
        "score": "Puntuación",
        "p": "Probabilidad de acusación falsa",
        "this_copy": "esta copia",
        "reason": "Motivo",
        "when": "Fecha",
        "channel": "Canal",
        "identifier": "Identificador",
        "sender": "Remitente",
        "summary": "Resumen",
        "evidence": "Evidencia",
        "candidates": "Copias candidatas",
        "chain": "Cadena de integridad",
        "chain_text": "Cada emisión y cada contacto quedó enlazado en una cadena de hashes "
        "SHA-256 en el momento de registrarse. chain.json contiene los eslabones de esta "
        "copia; manifest.json el SHA-256 de cada archivo. Compruébelo con "
        "`canary verify <archivo.zip>`.",
        "chain_status": "Estado de la cadena del almacén al exportar",
        "chain_ok": "íntegra",
        "chain_broken": "ROTA: {what}",
        "generated": "Generado el {when}",
    },
    "en": {
        "title": "Case report: copy {copy}",
        "scope": "This report documents the contacts received by the decoy records "
        "(canaries) of copy {copy}.",
        "open_none": "No contact to the canaries of copy {copy} has been recorded.",
        "open_exclusive": "{n} contact(s) reached canaries that only copy {copy} held: they "
        "point at this copy (false-accusation probability {p}).",
        "open_mixed": "{n} contact(s) reached canaries that only copy {copy} held: they point "
        "at this copy (false-accusation probability {p}). {m} more contact(s) reached "
        "canaries this copy shares with other copies; they are listed apart and on their "
        "own do not point at this copy.",
        "open_shared": "No contact reached a canary held only by copy {copy}. {m} contact(s) "
        "reached canaries it shares with other copies: they do not show that this copy is "
        "the source. Blaming it on this evidence has a false-accusation probability of {p}.",
        "issuance": "Issuance of the copy",
        "copy": "Copy",
        "recipient": "Recipient",
        "purpose": "Purpose",
        "issued_by": "Issued by",
        "issued_at": "Issued at",
        "dataset": "Dataset",
        "sha256": "SHA-256 of the copy",
        "canaries": "Planted canaries",
        "hits": "Contacts exclusive to this copy",
        "hits_note": "Each reached a canary only this copy held.",
        "no_hits": "No exclusive contact recorded.",
        "shared": "Contacts shared with other copies",
        "shared_note": "Each reached a canary other copies held too. They do not point at "
        "this copy: they are shown with every candidate copy, its score and the "
        "false-accusation probability of blaming it.",
        "strength": "Strength",
        "strength_exclusive": "exclusive",
        "strength_shared": "shared",
        "strength_coded": "coded",
        "score": "Score",
        "p": "False-accusation probability",
        "this_copy": "this copy",
        "reason": "Reason",
        "when": "When",
        "channel": "Channel",
        "identifier": "Identifier",
        "sender": "Sender",
        "summary": "Summary",
        "evidence": "Evidence",
        "candidates": "Candidate copies",
        "chain": "Integrity chain",
        "chain_text": "Every issuance and every contact was linked into a SHA-256 hash chain "
        "when it was recorded. chain.json holds this copy's links; manifest.json the SHA-256 "
        "of every file. Check it with `canary verify <file.zip>`.",
        "chain_status": "State of the store's chain at export",
        "chain_ok": "intact",
        "chain_broken": "BROKEN: {what}",
        "generated": "Generated on {when}",
    },
}


@dataclass(frozen=True)
class IdentifierView:
    kind: str
    value: str


@dataclass(frozen=True)
class CanaryView:
    id: int
    identifiers: tuple[IdentifierView, ...]


@dataclass(frozen=True)
class Issuance:
    """Who the copy was issued to, when, for what, and its canaries."""

    copy_id: str
    recipient: str
    purpose: str
    issued_by: str
    issued_at: str
    dataset: str
    sha256: str
    canaries: tuple[CanaryView, ...]


@dataclass(frozen=True)
class HitView:
    """One hit as the report on a copy shows it."""

    number: int
    id: int
    observed_at: str
    channel: str
    identifier: str
    sender: str
    summary: str
    strength: Strength
    #: This copy's candidacy (score, reason, false-accusation probability).
    mine: Candidate
    #: Every candidate, best first (this copy included), for shared hits.
    candidates: tuple[Candidate, ...]
    raw: str | None
    evidence_sha256: str | None


@dataclass(frozen=True)
class CaseReport:
    """Everything report.html and report.pdf say, in one language."""

    lang: str
    t: dict[str, str]
    issuance: Issuance
    attribution: CopyAttribution
    exclusive: tuple[HitView, ...]
    shared: tuple[HitView, ...]
    chain_broken: str | None
    generated: str

    @property
    def title(self) -> str:
        return self.t["title"].format(copy=self.issuance.copy_id)

    @property
    def opening(self) -> str:
        """The opening sentence: what the evidence supports, and nothing more."""
        return opening(self.t, self.issuance.copy_id, self.attribution)

    def strength_label(self, strength: Strength) -> str:
        return self.t.get(f"strength_{strength.value}", strength.value)


def _p(value: float | None) -> str:
    return "?" if value is None else f"{value:.3g}"


def opening(t: dict[str, str], copy_id: str, attr: CopyAttribution) -> str:
    """The report's opening sentence from the copy's attribution (see `CaseReport`)."""
    n, m, p = attr.exclusive_hits, attr.shared_hits, _p(attr.false_accusation_probability)
    head = t["scope"].format(copy=copy_id)
    if n and m:
        body = t["open_mixed"].format(n=n, m=m, copy=copy_id, p=p)
    elif n:
        body = t["open_exclusive"].format(n=n, copy=copy_id, p=p)
    elif m:
        body = t["open_shared"].format(m=m, copy=copy_id, p=p)
    else:
        body = t["open_none"].format(copy=copy_id)
    return f"{head} {body}"


def local_time(dt: datetime, tz: tzinfo = UTC) -> str:
    """`2026-11-29 15:03:11 CST`: a stored time in the organisation's zone (`[console]
    timezone`), to the second, with the zone's name so a reader never guesses it."""
    local = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or "")


def issuance_view(copy: Copy, tz: tzinfo = UTC) -> Issuance:
    return Issuance(
        copy_id=copy.id,
        recipient=copy.recipient,
        purpose=copy.purpose,
        issued_by=copy.issued_by,
        issued_at=local_time(copy.issued_at, tz),
        dataset=copy.dataset.name if copy.dataset else "",
        sha256=copy.sha256,
        canaries=tuple(
            CanaryView(c.id, tuple(IdentifierView(i.kind, i.value) for i in c.identifiers))
            for c in copy.canaries
        ),
    )


def build_case(
    session: Session,
    copy: Copy,
    hits: list[Hit],
    *,
    raw_names: dict[int, str] | None = None,
    lang: str = "es",
    chain_broken: str | None = None,
    generated: str = "",
    tz: tzinfo = UTC,
) -> CaseReport:
    """The report's view of `copy` and the `hits` naming it (numbered in the given order;
    `raw_names`: hit id -> the bundle member holding its raw evidence; times in `tz`)."""
    if lang not in LANGS:
        raise InputError(f"--lang must be one of {', '.join(LANGS)}, not {lang[:10]!r}")
    raw_names = raw_names or {}
    coded = coded_canary_ids(session, hits)
    exclusive: list[HitView] = []
    shared: list[HitView] = []
    for n, hit in enumerate(hits, 1):
        attr = hit_attribution(hit, coded)
        mine = attr.candidate(copy.id)
        if mine is None or attr.strength in (Strength.UNATTRIBUTED, Strength.PENDING):
            continue  # noise (burn-in) or not this copy's: not evidence either way
        view = HitView(
            number=n,
            id=hit.id,
            observed_at=local_time(hit.observed_at, tz),
            channel=hit.channel,
            identifier=hit.identifier,
            sender=hit.sender,
            summary=hit.summary,
            strength=attr.strength,
            mine=mine,
            candidates=attr.candidates,
            raw=raw_names.get(hit.id),
            evidence_sha256=hit.evidence_sha256,
        )
        (exclusive if attr.strength is Strength.EXCLUSIVE else shared).append(view)
    return CaseReport(
        lang=lang,
        t=TEXT[lang],
        issuance=issuance_view(copy, tz),
        attribution=copy_attribution(copy.id, hits, coded, related_hits(session, copy.id, hits)),
        exclusive=tuple(exclusive),
        shared=tuple(shared),
        chain_broken=chain_broken,
        generated=generated,
    )


# Every value in the report may come from an adversary: autoescape, no scripts. Strict:
# a misspelt field is an error in the tests, never an empty cell in a report.
_env = ItemFirstEnvironment(autoescape=True, undefined=StrictUndefined)
_template = _env.from_string(
    (Path(__file__).parent / "templates" / "report.html").read_text(encoding="utf-8")
)


def render_html(report: CaseReport) -> str:
    return _template.render(r=report, t=report.t)
