"""The public webhook listener: an ASGI (Starlette) app, one route per provider.

`create_app(store, config)` gives the app `canary serve` runs under uvicorn. Every
POST goes the same way, in this order:

1. read the body, bounded (413 past `max_body`, whatever Content-Length claims);
2. check the provider's signature on the raw bytes (403 when it is missing, wrong,
   stale, or when the provider's secret is not configured: nothing is stored);
3. parse the payload into observations (400 when it cannot be read);
4. commit the hits as pending, with the raw request (group commit in a worker
   thread), and only then answer 2xx. A provider retry with the same message id is
   acknowledged without a second hit;
5. after the answer, the attribution worker (listeners.inbox) attributes the pending
   hits, files their incidents, queues their alerts and links them into the chain.
   Until then `canary hits` shows them with strength "pending".

The whole raw request (request line, headers, body) is kept as the hit's evidence.
Routes and answers are the contract in DESIGN.md ("Webhook routes").

The POST routes are plain ASGI apps (`Hook`) reading the scope and `receive` directly
(`Incoming`), and `WebhookApp` hands a POST to its route's hook before Starlette sees
it: no Request object, no routing or middleware on the path every provider takes.
Everything else (the WhatsApp handshake, other methods, unknown paths) goes through
Starlette, whose routes are the same hooks. The slow- and greedy-client guards sit
below the app, in the HTTP protocol (listeners.httpguard), for either path.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_plus, unquote_to_bytes

from starlette.applications import Starlette
from starlette.datastructures import QueryParams, State
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from canary import signatures
from canary.config import Config
from canary.hits.record import PENDING, Observation, Recorded, receive_in
from canary.store.engine import Store
from listeners import payloads
from listeners.batching import GroupCommitter
from listeners.guards import QuietLog
from listeners.inbox import Attributor
from listeners.payloads import Malformed

log = logging.getLogger(__name__)

#: Largest request body accepted (provider webhooks are a few KB).
MAX_BODY_BYTES = 256 * 1024
MAX_FORM_FIELDS = 1000
#: An escaped `&` or `=` in a form body (which splits differently once unquoted).
_ESCAPED_SEPARATOR = re.compile(rb"%(?:26|3[dD])")
#: Commits of requests in flight at once on PostgreSQL (one on SQLite): a request waits
#: for the flush of the commit before it, not for it to finish first.
CONCURRENT_COMMITS = 3
#: Seconds between two "secret not configured" warnings for one provider.
WARN_EVERY = 60.0

TWIML_EMPTY = "<Response/>"
TWIML_REJECT = '<Response><Reject reason="busy"/></Response>'


class TooLarge(Exception):
    """The body is over the limit."""


def _text(status: int, body: str) -> Response:
    return PlainTextResponse(body + "\n", status_code=status)


def forbidden() -> Response:
    return _text(403, "forbidden")


class Incoming:
    """One webhook request as the routes read it: the ASGI scope, its headers (the first
    of each name, latin-1, as Starlette's `Request.headers.get` gives them), its query
    and its body through `receive`, without building a Starlette Request."""

    __slots__ = ("_query", "form", "headers", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1")
            if key not in headers:
                headers[key] = value.decode("latin-1")
        self.headers = headers
        #: `form_params` of the body, once read (the check and the payload share it).
        self.form: dict[str, list[str]] | None = None
        self._query: QueryParams | None = None

    @property
    def query_params(self) -> QueryParams:
        if self._query is None:
            self._query = QueryParams(self.scope.get("query_string", b""))
        return self._query


async def read_body(request: Incoming, limit: int) -> bytes:
    """The body, at most `limit` bytes; TooLarge past it (streamed, not trusting headers);
    ClientDisconnect when the client goes before it is all in."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await request.receive()
        if message["type"] == "http.request":
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise TooLarge
            if not message.get("more_body", False):
                return b"".join([*chunks, chunk]) if chunks else chunk
            if chunk:
                chunks.append(chunk)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect


def raw_request(request: Incoming, body: bytes) -> bytes:
    """The request as HTTP/1.1-like bytes: request line, headers as received, body."""
    scope = request.scope
    target = scope.get("raw_path") or scope["path"].encode("utf-8")
    if scope.get("query_string"):
        target += b"?" + scope["query_string"]
    version = str(scope.get("http_version", "1.1")).encode("ascii", "replace")
    lines = [scope["method"].encode("ascii", "replace") + b" " + target + b" HTTP/" + version]
    lines += [k + b": " + v for k, v in scope.get("headers", [])]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def form_params(data: bytes) -> dict[str, list[str]]:
    """Form-encoded fields, every value kept (Twilio signs over all of them).

    `urllib.parse.parse_qsl`'s reading (blank values kept, UTF-8 with replacement):
    one unquoting of the whole body when it is ASCII and holds no escaped `&` or `=`
    (a provider's form), else each part's, skipped for the parts without `%` or `+`.
    """
    text = data.decode("utf-8", "replace")
    if text.count("&") >= MAX_FORM_FIELDS:
        raise Malformed("too many form fields")
    out: dict[str, list[str]] = {}
    # No escaped `&` or `=` in an ASCII body: unquoting the whole body at once splits the
    # same (an invalid UTF-8 sequence never takes the ASCII `&` or `=` after it).
    whole = data.isascii() and not _ESCAPED_SEPARATOR.search(data)
    if whole and (b"%" in data or b"+" in data):
        text = unquote_to_bytes(data.replace(b"+", b" ")).decode("utf-8", "replace")
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if not whole:
            if "%" in name or "+" in name:
                name = unquote_plus(name, errors="replace")
            if "%" in value or "+" in value:
                value = unquote_plus(value, errors="replace")
        out.setdefault(name, []).append(value)
    return out


def signs_body(request: Incoming) -> bool:
    """Does the URL carry `bodySHA256` (a Twilio JSON body, signed by its hash)?"""
    return bool(request.scope.get("query_string")) and "bodySHA256" in request.query_params


def _form(request: Incoming, body: bytes) -> dict[str, list[str]]:
    """`form_params` of the request's body, parsed once for the check and the payload."""
    form = request.form
    if form is None:
        form = request.form = form_params(body)
    return form


Handler = Callable[[Incoming], Awaitable[Response]]


class Hook:
    """One POST route as a plain ASGI app: the handler reads an `Incoming`, its answer
    (a Starlette Response, itself an ASGI app) is sent as is."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(Incoming(scope, receive))
        await response(scope, receive, send)


class WebhookApp:
    """The app `create_app` gives: a POST to a webhook path goes straight to its `Hook`;
    anything else to `fallback`, the Starlette app holding the same routes (its 404s,
    405s, redirects and the WhatsApp handshake as before)."""

    def __init__(self, webhooks: Webhooks, hooks: dict[str, Hook], fallback: Starlette) -> None:
        self.webhooks = webhooks
        self.hooks = hooks
        self.fallback = fallback
        self.state: State = fallback.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            hook = self.hooks.get(scope["path"])
            if hook is not None:
                await hook(scope, receive, send)
                return
        await self.fallback(scope, receive, send)


class Webhooks:
    """The routes, sharing the store, the config and one group committer."""

    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        max_body: int = MAX_BODY_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config
        self.max_body = max_body
        self.clock = clock
        self.committer = GroupCommitter(
            store, name="webhook-commit", record=receive_in, concurrent=CONCURRENT_COMMITS
        )
        self.attributor = Attributor(
            store, last_commit=lambda: self.committer.last_commit, name="webhook-attribute"
        )
        self.attributor.start()  # first the hits an earlier run left pending
        self.quiet = QuietLog(log)
        self._warned: dict[str, float] = {}
        # The same answer to every Twilio message and call: built once (sending one
        # changes nothing in it).
        self._twiml_empty = Response(TWIML_EMPTY, media_type="text/xml")
        self._twiml_reject = Response(TWIML_REJECT, media_type="text/xml")

    async def close(self) -> None:
        """Commit what requests have queued, stop the committer (after the server), then
        attribute what is pending (for a while: the rest waits for the next start)."""
        await self.committer.close()
        await asyncio.to_thread(self.attributor.close)

    # -- shared steps ------------------------------------------------------------------

    def secret(self, provider: str, name: str) -> str:
        section = getattr(self.config.providers, provider)
        value = self.config.secret(section, name)
        now = time.monotonic()
        if not value and now - self._warned.get(provider, -WARN_EVERY) >= WARN_EVERY:
            self._warned[provider] = now
            log.warning(
                "refused a %s webhook: providers.%s.%s is not configured; set it (or %s_env) "
                "in canary.toml to accept %s webhooks",
                provider,
                provider,
                name,
                name,
                provider,
            )
        return value

    async def handle(
        self,
        request: Incoming,
        verify: Callable[[bytes], bool],
        parse: Callable[[bytes, bytes], list[Observation]],
        answer: Callable[[list[Recorded]], Response],
    ) -> Response:
        """Body, signature, parse, commit, answer: the one path every POST route takes."""
        try:
            body = await read_body(request, self.max_body)
        except TooLarge:
            return _text(413, "request body too large")
        except ClientDisconnect:  # gone before its body was in (or cut as too slow)
            self.quiet.warning("gone", "webhook client went away before its body was read")
            return _text(400, "incomplete request")
        try:
            if not verify(body):
                return forbidden()
        except Malformed as exc:
            return _text(400, f"malformed request: {exc}")
        evidence = raw_request(request, body)
        try:
            observations = parse(body, evidence)
        except Malformed as exc:
            return _text(400, f"malformed payload: {exc}")
        if not observations:
            return answer([])
        try:
            # No source: lingering for the connections just answered (as SMTP does)
            # makes one big commit alternate with the loop's work instead of two halves
            # overlapping (measured: 1,050 req/s with it, 1,360 without).
            recorded = await self.committer.submit(observations)
        except Exception:
            log.exception("could not commit webhook hits; the provider will retry")
            return _text(503, "temporarily unavailable")
        self.attributor.nudge()
        if log.isEnabledFor(logging.INFO):
            for obs, rec in zip(observations, recorded, strict=True):
                self._log_hit(obs, rec)
        return answer(recorded)

    def _log_hit(self, obs: Observation, rec: Recorded) -> None:
        if rec.duplicate:
            log.info(
                "duplicate %s delivery of hit %d acknowledged",
                obs.provider,
                rec.hit_id,
                extra={"event": "duplicate", "hit_id": rec.hit_id, "provider": obs.provider},
            )
            return
        log.info(
            "hit %d recorded: channel=%s provider=%s (%s)",
            rec.hit_id,
            obs.channel,
            obs.provider,
            rec.classification,
            extra={
                "event": "hit",
                "hit_id": rec.hit_id,
                "channel": obs.channel,
                "provider": obs.provider,
                "classification": rec.classification,
            },
        )

    def fresh(self, timestamp: str) -> bool:
        return signatures.timestamp_fresh(timestamp, self.clock())

    # -- Twilio --------------------------------------------------------------------------

    def _twilio_params(self, request: Incoming, body: bytes) -> dict[str, list[str]]:
        if signs_body(request):
            return payloads.json_params(payloads.loads(body))
        return _form(request, body)

    def _twilio_verify(self, request: Incoming) -> Callable[[bytes], bool]:
        def verify(body: bytes) -> bool:
            token = self.secret("twilio", "auth_token")
            signature = request.headers.get("x-twilio-signature", "")
            if not token or not signature:
                return False
            url = self.public_url(request)
            signed = {} if signs_body(request) else _form(request, body)
            return signatures.check_twilio(
                token,
                url,
                signed,
                signature,
                raw_body=body,
                settings_header=request.headers.get("x-twilio-webhooks-signature-settings", ""),
            )

        return verify

    def public_url(self, request: Incoming) -> str:
        """The URL the provider called: listen.public_url + path (+ query), as signed."""
        base = self.config.listen.public_url.rstrip("/")
        path: str = (request.scope.get("raw_path") or request.scope["path"].encode()).decode(
            "latin-1"
        )
        query = request.scope.get("query_string", b"").decode("latin-1")
        return base + path + (f"?{query}" if query else "")

    async def twilio_sms(self, request: Incoming) -> Response:
        return await self.handle(
            request,
            self._twilio_verify(request),
            lambda body, ev: payloads.twilio_message(self._twilio_params(request, body), ev),
            lambda _: self._twiml_empty,
        )

    async def twilio_voice(self, request: Incoming) -> Response:
        return await self.handle(
            request,
            self._twilio_verify(request),
            lambda body, ev: payloads.twilio_call(self._twilio_params(request, body), ev),
            lambda _: self._twiml_reject,
        )

    # -- Meta WhatsApp ---------------------------------------------------------------------

    async def whatsapp_verify(self, request: Request) -> Response:
        """The subscription handshake: echo hub.challenge when the token matches."""
        q = request.query_params
        configured = self.secret("whatsapp", "verify_token")
        challenge = q.get("hub.challenge", "")
        if (
            q.get("hub.mode") != "subscribe"
            or not signatures.check_verify_token(configured, q.get("hub.verify_token", ""))
            or not challenge
            or len(challenge) > 512
        ):
            return forbidden()
        return PlainTextResponse(challenge, headers={"X-Content-Type-Options": "nosniff"})

    async def whatsapp(self, request: Incoming) -> Response:
        def verify(body: bytes) -> bool:
            secret = self.secret("whatsapp", "app_secret")
            header = request.headers.get("x-hub-signature-256", "")
            return bool(secret and header) and signatures.check_meta(secret, body, header)

        return await self.handle(
            request,
            verify,
            lambda body, ev: payloads.whatsapp(payloads.loads(body), ev),
            lambda _: _text(200, "ok"),
        )

    # -- Vonage ----------------------------------------------------------------------------

    async def vonage(self, request: Incoming) -> Response:
        params: dict[str, str] = {}

        def verify(body: bytes) -> bool:
            params.update(self._vonage_params(request, body))
            secret = self.secret("vonage", "signature_secret")
            method = self.config.providers.vonage.signature_method.lower()
            if not secret:
                return False
            if method not in signatures.VONAGE_METHODS:
                log.warning(
                    "refused a vonage webhook: providers.vonage.signature_method %r is not "
                    "one of %s",
                    method,
                    ", ".join(signatures.VONAGE_METHODS),
                )
                return False
            if not signatures.check_vonage(secret, params, method):
                return False
            ts = params.get("timestamp", "")
            return not ts or self.fresh(ts)

        return await self.handle(
            request,
            verify,
            lambda body, ev: payloads.vonage(params, ev),
            lambda _: Response(status_code=204),
        )

    def _vonage_params(self, request: Incoming, body: bytes) -> dict[str, str]:
        """Query and body parameters together (Vonage sends GET-style, form or JSON)."""
        merged = {k: v for k, v in request.query_params.multi_items()}
        ctype = request.headers.get("content-type", "")
        if body.strip():
            if "json" in ctype:
                fields = payloads.json_params(payloads.loads(body))
            else:
                fields = form_params(body)
            merged.update({k: v[0] for k, v in fields.items()})
        return merged

    # -- Telnyx ----------------------------------------------------------------------------

    async def telnyx(self, request: Incoming) -> Response:
        def verify(body: bytes) -> bool:
            key = self.secret("telnyx", "public_key")
            ts = request.headers.get("telnyx-timestamp", "")
            signature = request.headers.get("telnyx-signature-ed25519", "")
            return (
                bool(key) and self.fresh(ts) and signatures.check_telnyx(key, body, signature, ts)
            )

        return await self.handle(
            request,
            verify,
            lambda body, ev: payloads.telnyx(payloads.loads(body), ev),
            lambda _: _text(200, "ok"),
        )

    # -- generic ---------------------------------------------------------------------------

    async def generic(self, request: Incoming) -> Response:
        def verify(body: bytes) -> bool:
            secret = self.secret("generic", "secret")
            ts = request.headers.get("x-canary-timestamp", "")
            signature = request.headers.get("x-canary-signature", "")
            return (
                bool(secret)
                and self.fresh(ts)
                and signatures.check_generic(secret, body, signature, ts)
            )

        def answer(recorded: list[Recorded]) -> Response:
            hits: list[dict[str, Any]] = [
                {
                    "id": r.hit_id,
                    "duplicate": r.duplicate,
                    "copies": r.copies,  # empty until attributed
                    "pending": r.classification == PENDING,
                }
                for r in recorded
            ]
            return JSONResponse({"hits": hits})

        return await self.handle(
            request,
            verify,
            lambda body, ev: payloads.generic(payloads.loads(body), ev),
            answer,
        )


def create_app(
    store: Store,
    config: Config,
    *,
    max_body: int = MAX_BODY_BYTES,
    clock: Callable[[], float] = time.time,
) -> WebhookApp:
    """The public webhook app (routes per DESIGN.md) over `store`."""
    hooks = Webhooks(store, config, max_body=max_body, clock=clock)
    posts = {
        "/hooks/twilio/sms": Hook(hooks.twilio_sms),
        "/hooks/twilio/voice": Hook(hooks.twilio_voice),
        "/hooks/whatsapp": Hook(hooks.whatsapp),
        "/hooks/vonage/sms": Hook(hooks.vonage),
        "/hooks/telnyx": Hook(hooks.telnyx),
        "/hooks/generic": Hook(hooks.generic),
    }
    routes = [Route(path, hook, methods=["POST"]) for path, hook in posts.items()]
    routes.insert(2, Route("/hooks/whatsapp", hooks.whatsapp_verify, methods=["GET"]))
    fallback = Starlette(routes=routes)
    fallback.state.webhooks = hooks
    return WebhookApp(hooks, posts, fallback)
