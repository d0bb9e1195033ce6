"""Who is asking, and may they: bearer token or session login, roles, CSRF, login limits.

- API clients send `Authorization: Bearer <token>` (the admin token `canary init`
  prints); it carries the admin role and needs no CSRF token (no ambient credential).
- Browsers log in; the signed session cookie (HttpOnly, SameSite=Strict, Secure over
  https) holds the user name, a CSRF token and the id of a session kept in the store
  (canary.store.users): logout, a new password and `canary token rotate --sessions`
  end sessions server-side, at once. The user and role are read from the
  store on every request, so a removed user or a changed role takes effect at once.
- Every POST with a session must carry the session's CSRF token (form field `csrf`
  or header `X-CSRF-Token`).
- Failed logins are limited per user name and client address together, per address,
  and per user name from addresses it never logged in from (a higher bar): someone
  guessing a user's password locks out themselves, not the user at their usual
  address. In memory, per process: a restart forgets them.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

import itsdangerous
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canary.store import users
from canary.store.admin_token import check_admin_token
from canary.store.engine import Store

SESSION_COOKIE = "canary_session"
SESSION_MAX_AGE = 8 * 3600


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user (session) or the API token."""

    name: str
    role: str
    via: str  # "session" | "token"


def bearer(request: Request) -> str | None:
    h = request.headers.get("authorization", "")
    scheme, _, value = h.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def principal(request: Request, store: Store) -> Principal | None:
    """The caller, or None: a valid bearer token wins, else the logged-in session user."""
    token = bearer(request)
    if token is not None:
        return Principal("api-token", "admin", "token") if check_admin_token(store, token) else None
    name = request.session.get("user") if "session" in request.scope else None
    if not isinstance(name, str):
        return None
    # The cookie must name a live server-side session of that user (logout, a new
    # password or `canary token rotate --sessions` end them at once).
    if users.session_user(store, request.session.get("sid")) != name:
        request.session.clear()
        return None
    u = users.get_user(store, name)
    if u is None:
        request.session.clear()
        return None
    return Principal(u.username, u.role, "session")


def require(request: Request, store: Store, role: str = "viewer") -> Principal:
    """The caller if allowed `role`; 401 when unauthenticated, 403 when the role is short."""
    p = principal(request, store)
    if p is None:
        raise HTTPException(401, "log in or send Authorization: Bearer <admin token>")
    if not users.role_at_least(p.role, role):
        raise HTTPException(403, f"needs the {role} role")
    return p


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    tok = request.session.get("csrf")
    if not isinstance(tok, str) or len(tok) < 20:
        tok = secrets.token_urlsafe(32)
        request.session["csrf"] = tok
    return tok


def check_csrf(request: Request, presented: str | None) -> None:
    """403 unless `presented` equals the session's CSRF token (bearer clients are exempt)."""
    if bearer(request) is not None:
        return
    want = request.session.get("csrf")
    got = presented or request.headers.get("x-csrf-token") or ""
    if not isinstance(want, str) or not hmac.compare_digest(want.encode(), got.encode()):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


class RotatingSessions(SessionMiddleware):
    """Starlette's signed-cookie sessions, with the signing key re-read from the store
    every few seconds, so `canary token rotate --sessions` takes effect without a restart."""

    def __init__(
        self,
        app: ASGIApp,
        store: Store,
        session_cookie: str = SESSION_COOKIE,
        max_age: int = SESSION_MAX_AGE,
        refresh_s: float = 1.0,
    ) -> None:
        self._store = store
        self._secret = users.session_secret(store)
        self._refresh_s = refresh_s
        self._checked = time.monotonic()
        super().__init__(
            app,
            secret_key=self._secret,
            session_cookie=session_cookie,
            max_age=max_age,
            same_site="strict",
            https_only=False,  # SecurityHeaders adds Secure when served over https
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        now = time.monotonic()
        if scope["type"] == "http" and now - self._checked > self._refresh_s:
            self._checked = now
            secret = self._store.get_setting(users.SESSION_SECRET_SETTING) or self._secret
            if secret != self._secret:
                self._secret = secret
                self.signer = itsdangerous.TimestampSigner(str(secret))
        await super().__call__(scope, receive, send)


class LoginLimiter:
    """Failed logins per key in a sliding window (in memory, this process only)."""

    def __init__(self, max_failures: int, window_s: float, max_keys: int = 10000) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._fails: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails.get(key)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._recent(key, time.monotonic())) >= self.max_failures

    def fail(self, key: str) -> None:
        with self._lock:
            now = time.monotonic()
            q = self._recent(key, now)
            q.append(now)
            self._fails[key] = q
            self._fails.move_to_end(key)
            while len(self._fails) > self.max_keys:
                self._fails.popitem(last=False)

    def reset(self, key: str) -> None:
        with self._lock:
            self._fails.pop(key, None)


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


class SecurityHeaders:
    """Strict CSP, no framing, no sniffing, no caching; cookies Secure over https."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v + b"; secure" if https and k.lower() == b"set-cookie" else v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"server",)
                ]
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cache-control", b"no-store"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_wrapper)
