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
        "identify_hint": "Suba un archivo encontrado (tabla, JSON, texto, chat exportado).",
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
        "identify_hint": "Upload a file you found (table, JSON, text, chat export).",
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


#: The console's layout, charts, copies filters and alerts page.
TEXT["es"].update(
    {
        "skip": "Saltar al contenido",
        "nav": "Navegación principal",
        "home": "Inicio",
        "login_intro": "Consola del equipo de seguridad. Inicie sesión para ver incidentes, "
        "contactos y copias.",
        "tz_org": "Horas en la zona de la organización: {tz}.",
        "tz_viewer": "Horas en su zona horaria: {tz}.",
        "other": "otros",
        "day": "Día",
        "period": "Periodo",
        "total": "Total",
        "age": "Antigüedad",
        "age_day": "< 1 día",
        "age_week": "1–7 días",
        "age_month": "7–30 días",
        "age_older": "> 30 días",
        "chart_age": "Incidentes abiertos por antigüedad y atribución",
        "chart_age_desc": "Barras por antigüedad desde que se abrió el incidente; exclusivos "
        "(algún contacto señala solo a la copia) y compartidos (todos los contactos los "
        "tenían también otras copias).",
        "chart_channel": "Contactos por día y canal (últimos 30 días)",
        "chart_channel_desc": "Barras apiladas: contactos por día, un color por canal.",
        "chart_copy": "Contactos por día y copia (últimos 30 días)",
        "chart_copy_desc": "Barras apiladas: contactos por día, un color por copia "
        "(destinatario y copia).",
        "chart_copy_hits": "Contactos de esta copia por día y canal",
        "chart_copy_hits_desc": "Barras apiladas desde la emisión de la copia: contactos por "
        "día, un color por canal.",
        "chart_timeline": "Cronología de los contactos",
        "chart_timeline_desc": "Cada punto es un contacto, en la fila de su canal; el color "
        "dice su atribución. La tabla de abajo da los mismos contactos.",
        "chart_canaries": "Canarios de la copia",
        "chart_canaries_desc": "{hit} de {total} canarios recibieron contacto. La tabla de "
        "canarios da lo mismo como texto.",
        "contacted": "contactado",
        "not_contacted": "sin contacto",
        "chart_empty": "Todavía no hay datos que dibujar.",
        "chart_table": "Ver los datos como tabla",
        "filter": "Filtrar",
        "all": "Todos",
        "issued_from": "Emitida desde",
        "issued_until": "Emitida hasta",
        "clear": "Quitar filtros",
        "shown_of": "{n} de {total} copias.",
        "bundle_short": "Expediente",
        "alerts_title": "Alertas",
        "channels": "Canales de alerta",
        "channel_type": "Tipo",
        "state_sent": "enviada",
        "state_pending": "pendiente",
        "state_failed": "fallida",
        "state_waiting": "esperando un canal",
        "n_sent": "Enviadas",
        "n_pending": "Pendientes",
        "n_failed": "Fallidas",
        "last_sent": "Último envío",
        "last_error": "Último error",
        "attempts": "Intentos",
        "subject": "Asunto",
        "all_channels": "todos los canales",
        "no_channels": "No hay ningún canal de alertas configurado: {n} alertas esperan en "
        "la bandeja de salida y nadie se entera de ellas.",
        "no_channels_fix": "Añada una tabla [[alerts.channels]] a canary.toml (type = "
        '"email", "webhook", "slack", "teams", "syslog" o "jsonl"), '
        "reinicie canary serve y compruebe el envío con canary alerts test. Las alertas en "
        "espera saldrán entonces por cada canal.",
        "channels_error": "La configuración de las alertas tiene un error:",
        "channel_ok": "entregando",
        "channel_failing": "con fallos",
        "channel_idle": "sin alertas todavía",
        "recent_alerts": "Alertas recientes",
        "status_open": "abierto",
        "status_investigating": "en investigación",
        "status_closed": "cerrado",
        "no_canary": "Ningún canario sobrevivió en este archivo.",
        "dataset_answer": "Aun así, las filas vienen de estos conjuntos de datos; cualquiera "
        "de sus destinatarios pudo filtrarlas:",
        "contacted_col": "Contactos",
        "identifiers_found": "Identificadores hallados",
        "file": "Archivo",
        "more": "más",
        "kind_first": "primer contacto",
        "kind_digest": "resumen",
        "kind_unattributed": "sin atribuir",
        "kind_test": "prueba",
        "kind_system": "sistema",
    }
)
TEXT["en"].update(
    {
        "skip": "Skip to content",
        "nav": "Main navigation",
        "home": "Home",
        "login_intro": "The security team's console. Log in to see incidents, hits and copies.",
        "tz_org": "Times in the organisation's time zone: {tz}.",
        "tz_viewer": "Times in your time zone: {tz}.",
        "other": "other",
        "day": "Day",
        "period": "Period",
        "total": "Total",
        "age": "Age",
        "age_day": "< 1 day",
        "age_week": "1–7 days",
        "age_month": "7–30 days",
        "age_older": "> 30 days",
        "chart_age": "Open incidents by age and attribution",
        "chart_age_desc": "Bars by age since the incident opened; exclusive (a hit names the "
        "copy alone) and shared (other copies held every canary it reached).",
        "chart_channel": "Hits per day and channel (last 30 days)",
        "chart_channel_desc": "Stacked bars: hits per day, one colour per channel.",
        "chart_copy": "Hits per day and copy (last 30 days)",
        "chart_copy_desc": "Stacked bars: hits per day, one colour per copy (recipient and copy).",
        "chart_copy_hits": "This copy's hits per day and channel",
        "chart_copy_hits_desc": "Stacked bars since the copy was issued: hits per day, one "
        "colour per channel.",
        "chart_timeline": "Timeline of the hits",
        "chart_timeline_desc": "Each dot is a hit, in its channel's row; its colour is its "
        "attribution. The table below lists the same hits.",
        "chart_canaries": "The copy's canaries",
        "chart_canaries_desc": "{hit} of {total} canaries were contacted. The canaries table "
        "says the same as text.",
        "contacted": "contacted",
        "not_contacted": "not contacted",
        "chart_empty": "Nothing to draw yet.",
        "chart_table": "Show the numbers as a table",
        "filter": "Filter",
        "all": "All",
        "issued_from": "Issued from",
        "issued_until": "Issued until",
        "clear": "Clear filters",
        "shown_of": "{n} of {total} copies.",
        "bundle_short": "Bundle",
        "alerts_title": "Alerts",
        "channels": "Alert channels",
        "channel_type": "Type",
        "state_sent": "sent",
        "state_pending": "pending",
        "state_failed": "failed",
        "state_waiting": "waiting for a channel",
        "n_sent": "Sent",
        "n_pending": "Pending",
        "n_failed": "Failed",
        "last_sent": "Last sent",
        "last_error": "Last error",
        "attempts": "Attempts",
        "subject": "Subject",
        "all_channels": "all channels",
        "no_channels": "No alert channel is configured: {n} alerts wait in the outbox and "
        "nobody hears of them.",
        "no_channels_fix": "Add an [[alerts.channels]] table to canary.toml (type = "
        '"email", "webhook", "slack", "teams", "syslog" or "jsonl"), '
        "restart canary serve and check delivery with canary alerts test. The waiting "
        "alerts then go out through each channel.",
        "channels_error": "The alerts configuration has an error:",
        "channel_ok": "delivering",
        "channel_failing": "failing",
        "channel_idle": "no alerts yet",
        "recent_alerts": "Recent alerts",
        "status_open": "open",
        "status_investigating": "investigating",
        "status_closed": "closed",
        "no_canary": "No canary survived in this file.",
        "dataset_answer": "Still, the rows come from these datasets; any of their recipients "
        "may have leaked them:",
        "contacted_col": "Hits",
        "identifiers_found": "Identifiers found",
        "file": "File",
        "more": "more",
        "kind_first": "first hit",
        "kind_digest": "digest",
        "kind_unattributed": "unattributed",
        "kind_test": "test",
        "kind_system": "system",
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
