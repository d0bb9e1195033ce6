"""Dashboard wording in Spanish and English, chosen by the browser's Accept-Language."""

from __future__ import annotations

LANGS = ("es", "en")
DEFAULT = "es"

TEXT: dict[str, dict[str, str]] = {
    "es": {
        "app": "canary-trace",
        "login": "Iniciar sesión",
        "logout": "Cerrar sesión",
        "username": "Usuario",
        "password": "Contraseña",
        "bad_login": "Usuario o contraseña incorrectos.",
        "too_many": "Demasiados intentos fallidos; espere unos minutos.",
        "incidents": "Incidentes",
        "alerts": "Alertas",
        "recent_hits": "Contactos recientes",
        "copies": "Copias",
        "copy": "Copia",
        "search": "Buscar",
        "search_hint": "correo, teléfono, CURP, folio, nombre o remitente",
        "identify": "Identificar un volcado",
        "identify_hint": "Suba un archivo encontrado (tabla, JSON, texto, chat exportado, PDF, "
        "foto o escaneo, Word, correo, zip).",
        "upload": "Analizar",
        "users": "Usuarios",
        "hit": "Contacto",
        "when": "Fecha",
        "channel": "Canal",
        "identifier": "Identificador",
        "sender": "Remitente",
        "summary": "Resumen",
        "recipient": "Destinatario",
        "purpose": "Finalidad",
        "issued_at": "Emitida",
        "issued_by": "Emitida por",
        "dataset": "Conjunto",
        "canaries": "Canarios",
        "hits": "Contactos",
        "status": "Estado",
        "last_hit": "Último contacto",
        "details": "Detalles de la evidencia",
        "body": "Texto del mensaje",
        "candidates": "Copias candidatas",
        "raw": "Descargar evidencia original",
        "bundle": "Descargar expediente (zip)",
        "classification": "Clasificación",
        "none": "Nada todavía.",
        "role": "Rol",
        "add_user": "Añadir usuario",
        "remove": "Eliminar",
        "forbidden": "No tiene permiso para ver esta página.",
        "not_found": "No encontrado.",
        "error": "Error",
        "matched": "Coincidencias",
        "unmatched": "Direcciones de dominios canario sin canario",
        "results": "Resultados",
        "kind": "Tipo",
        "state": "Estado",
        "live": "Se actualiza sola cada pocos segundos.",
        "incident": "Incidente",
        "opened": "Abierto",
        "senders": "Remitentes",
        "timeline": "Cronología",
        "strength": "Atribución",
        "strength_exclusive": "exclusiva",
        "strength_shared": "compartida",
        "strength_coded": "codificada",
        "strength_unattributed": "sin atribuir",
        "strength_pending": "pendiente",
        "score": "puntuación",
        "p": "Probabilidad de acusación falsa",
        "reason": "Motivo",
        "exclusive_hits": "Contactos exclusivos",
        "shared_hits": "Contactos compartidos",
        "exclusive_hits_title": "Contactos exclusivos de esta copia",
        "shared_hits_title": "Contactos compartidos con otras copias",
        "shared_hint": "Llegaron a un canario que también tenían otras copias: no apuntan "
        "a esta copia por sí solos.",
    },
    "en": {
        "app": "canary-trace",
        "login": "Log in",
        "logout": "Log out",
        "username": "User name",
        "password": "Password",
        "bad_login": "Wrong user name or password.",
        "too_many": "Too many failed attempts; wait a few minutes.",
        "incidents": "Incidents",
        "alerts": "Alerts",
        "recent_hits": "Recent hits",
        "copies": "Copies",
        "copy": "Copy",
        "search": "Search",
        "search_hint": "email, phone, national id, id, name or sender",
        "identify": "Identify a dump",
        "identify_hint": "Upload a file you found (table, JSON, text, chat export, PDF, photo or "
        "scan, Word, e-mail, zip).",
        "upload": "Analyse",
        "users": "Users",
        "hit": "Hit",
        "when": "When",
        "channel": "Channel",
        "identifier": "Identifier",
        "sender": "Sender",
        "summary": "Summary",
        "recipient": "Recipient",
        "purpose": "Purpose",
        "issued_at": "Issued",
        "issued_by": "Issued by",
        "dataset": "Dataset",
        "canaries": "Canaries",
        "hits": "Hits",
        "status": "Status",
        "last_hit": "Last hit",
        "details": "Evidence details",
        "body": "Message text",
        "candidates": "Candidate copies",
        "raw": "Download original evidence",
        "bundle": "Download case bundle (zip)",
        "classification": "Classification",
        "none": "Nothing yet.",
        "role": "Role",
        "add_user": "Add user",
        "remove": "Remove",
        "forbidden": "You are not allowed to see this page.",
        "not_found": "Not found.",
        "error": "Error",
        "matched": "Matches",
        "unmatched": "Canary-domain addresses matching no canary",
        "results": "Results",
        "kind": "Kind",
        "state": "State",
        "live": "Updates itself every few seconds.",
        "incident": "Incident",
        "opened": "Opened",
        "senders": "Senders",
        "timeline": "Timeline",
        "strength": "Attribution",
        "strength_exclusive": "exclusive",
        "strength_shared": "shared",
        "strength_coded": "coded",
        "strength_unattributed": "unattributed",
        "strength_pending": "pending",
        "score": "score",
        "p": "False-accusation probability",
        "reason": "Reason",
        "exclusive_hits": "Exclusive hits",
        "shared_hits": "Shared hits",
        "exclusive_hits_title": "Hits exclusive to this copy",
        "shared_hits_title": "Hits shared with other copies",
        "shared_hint": "They reached a canary other copies held too: on their own they do "
        "not point at this copy.",
    },
}


#: The identify page's words (strength of the evidence, explained copies, datasets).
TEXT["es"].update(
    {
        "strength": "Solidez",
        "p_wrong": "P(acusación errónea)",
        "strength_exclusive": "exclusiva",
        "strength_shared": "compartida",
        "strength_coded": "codificada",
        "explained": "copias más comparten solo identificadores que ya tienen las copias de arriba "
        "(explicadas, no son evidencia)",
        "datasets_found": "Conjuntos de datos de los que vienen las filas",
        "rows_matched": "Filas de muestra halladas",
        "issued_to": "Entregado a",
    }
)
TEXT["en"].update(
    {
        "strength": "Strength",
        "p_wrong": "P(false accusation)",
        "strength_exclusive": "exclusive",
        "strength_shared": "shared",
        "strength_coded": "coded",
        "explained": "more copies hold only identifiers the copies above hold too "
        "(explained, not evidence)",
        "datasets_found": "Datasets the rows come from",
        "rows_matched": "Sampled rows found",
        "issued_to": "Issued to",
    }
)


def pick_lang(accept_language: str | None) -> str:
    """The best of our languages for an Accept-Language header (q-values honoured)."""
    best, best_q = DEFAULT, -1.0
    for i, part in enumerate((accept_language or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        lang = tag.strip().lower()[:2]
        score = q - i * 1e-6  # earlier wins ties
        if lang in LANGS and q > 0 and score > best_q:
            best, best_q = lang, score
    return best
