"""The admin listener: JSON API and dashboard in one Starlette app, behind login.

`create_app(store, config)` is what `canary serve` mounts on `listen.admin`
(default 127.0.0.1:8026). The API takes the admin bearer token or a dashboard
session; the dashboard takes a login. See admin_auth for sessions, CSRF, roles and
login limits; admin_api for the JSON routes; admin_pages for the pages.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canary.config import Config
from canary.errors import CanaryError, InputError, NotFound, StoreError
from canary.store.engine import Store
from listeners import admin_api, admin_pages
from listeners.admin_auth import (
    SESSION_COOKIE,
    LoginLimiter,
    RotatingSessions,
    SecurityHeaders,
    principal,
)
from listeners.admin_openapi import openapi

log = logging.getLogger(__name__)

#: Request bodies: uploads (identify) up to MAX_UPLOAD and a form's worth; others small.
MAX_BODY = admin_api.MAX_UPLOAD + 1024 * 1024
MAX_FORM_BODY = 64 * 1024
UPLOAD_ROUTES = ("/api/identify", "/identify")
#: Failed logins allowed in LOGIN_WINDOW_S (in memory): per user name and address, per
#: address, and per user name from addresses that user never logged in from.
LOGIN_MAX_PER_USER_AND_IP = 5
LOGIN_MAX_PER_IP = 20
LOGIN_MAX_PER_USER = 50
LOGIN_WINDOW_S = 300.0


class BodyLimit:
    """413 for a request body over its route's limit, whether or not it announced its
    length: `upload_limit` on the upload routes, `limit` everywhere else."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int = MAX_FORM_BODY,
        upload_limit: int = MAX_BODY,
        upload_routes: tuple[str, ...] = UPLOAD_ROUTES,
    ) -> None:
        self.app = app
        self.default = limit
        self.upload_limit = upload_limit
        self.upload_routes = upload_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.upload_limit if path in self.upload_routes else self.default
        for k, v in scope.get("headers", []):
            if k == b"content-length" and v.isdigit() and int(v) > limit:
                await JSONResponse({"error": "request body too large"}, 413)(scope, receive, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, "request body too large")
            return msg

        await self.app(scope, limited, send)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str, headers: Any = None) -> Response:
    if _is_api(request):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    if status in (301, 302, 303, 307):
        return RedirectResponse((headers or {}).get("location", "/"), status_code=status)
    if status == 401:
        return RedirectResponse("/login", status_code=303)
    try:
        who = principal(request, request.app.state.store)
    except Exception:
        who = None
    return admin_pages.render(
        request,
        "error.html",
        {"status": status, "message": message, "detail": None},
        status=status,
        who=who,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(request, exc.status_code, str(exc.detail), exc.headers)


async def _canary_error(request: Request, exc: Exception) -> Response:
    status = 404 if isinstance(exc, NotFound) else 400 if isinstance(exc, InputError) else 503
    if isinstance(exc, StoreError):
        log.error("store error: %s", exc)
    return _error(request, status, str(exc)[:500])


async def _gone(request: Request, exc: Exception) -> Response:
    """The client left mid-request (or was cut as too slow): nobody to answer, no traceback."""
    return Response(status_code=400)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("admin: unexpected error on %s", request.url.path)
    return _error(request, 500, "internal error (logged)")


def create_app(store: Store, config: Config | None = None) -> Starlette:
    """The admin ASGI app over `store` (config reserved for admin settings)."""

    def spec(_request: Request) -> Response:
        return JSONResponse(openapi())

    def healthz(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    limiter_ip = LoginLimiter(LOGIN_MAX_PER_IP, LOGIN_WINDOW_S)
    limiter_user = LoginLimiter(LOGIN_MAX_PER_USER, LOGIN_WINDOW_S)
    limiter_pair = LoginLimiter(LOGIN_MAX_PER_USER_AND_IP, LOGIN_WINDOW_S)
    routes = [
        Route("/api/openapi.json", spec),
        Route("/healthz", healthz),
        *admin_api.routes(store),
        *admin_pages.routes(store, limiter_ip, limiter_user, limiter_pair),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(BodyLimit),
            Middleware(RotatingSessions, store=store, session_cookie=SESSION_COOKIE),
        ],
        exception_handlers={
            HTTPException: _http_error,
            CanaryError: _canary_error,
            ClientDisconnect: _gone,
            Exception: _unexpected,
        },
    )
    app.state.store = store
    app.state.config = config
    app.state.login_limiters = (limiter_ip, limiter_user, limiter_pair)
    return app
