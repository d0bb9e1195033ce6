"""The webhook POST routes as plain ASGI apps (`Hook`, `WebhookApp`): the hot path skips
Starlette's Request, routing and middleware, and must answer as the Starlette routes do."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import ClientDisconnect

from canary.hits.record import clip
from canary.store.engine import Store
from canary.text import safe_text
from listeners.webhooks import Incoming, TooLarge, WebhookApp, create_app, read_body
from tests.alerts_support import add_copy
from tests.webhooks_support import count, running, signed_config, twilio_post

CANARY = "+525512345678"


def _scope(path: str, method: str = "POST", headers: Any = (), root_path: str = "") -> dict:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": list(headers),
        "http_version": "1.1",
    }


def _receiver(*messages: dict[str, Any]) -> Any:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    return receive


def _read(limit: int, *messages: dict[str, Any], headers: Any = ()) -> bytes:
    request = Incoming(_scope("/hooks/generic", headers=headers), _receiver(*messages))
    return asyncio.run(read_body(request, limit))


def test_read_body_joins_chunks_and_bounds_them() -> None:
    chunks = [{"type": "http.request", "body": b"ab", "more_body": True}] * 3
    last = {"type": "http.request", "body": b"c", "more_body": False}
    assert _read(100, *chunks, last) == b"abababc"
    assert _read(100, {"type": "http.request", "body": b"whole"}) == b"whole"
    with pytest.raises(TooLarge):
        _read(6, *chunks, last)  # streamed past the limit, whatever was declared
    with pytest.raises(TooLarge):
        _read(100, last, headers=[(b"content-length", b"101")])
    with pytest.raises(ClientDisconnect):
        _read(100, chunks[0], {"type": "http.disconnect"})


def test_incoming_headers_first_of_each_name_as_starlette_reads_them() -> None:
    scope = _scope("/hooks/generic", headers=[(b"x-a", b"1"), (b"x-a", b"2"), (b"x-b", b"\xe9")])
    request = Incoming(scope, _receiver())
    assert request.headers == {"x-a": "1", "x-b": "é"}
    assert request.query_params.get("q") is None


def _answer(app: WebhookApp, scope: dict[str, Any], body: bytes = b"") -> tuple[int, dict]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    receive = _receiver({"type": "http.request", "body": body, "more_body": False})
    asyncio.run(app(scope, receive, send))
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


def test_only_a_post_to_a_hook_path_skips_starlette(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(sqlite_store, signed_config())
    try:
        taken: list[str] = []

        async def fallback(scope: Any, receive: Any, send: Any) -> None:
            taken.append(scope["path"])
            await starlette(scope, receive, send)

        starlette = app.fallback
        monkeypatch.setattr(app, "fallback", fallback)
        assert _answer(app, _scope("/hooks/generic"), b"{}")[0] == 403  # unsigned
        assert taken == []
        assert _answer(app, _scope("/hooks/generic", method="GET"))[0] == 405
        assert _answer(app, _scope("/hooks/nowhere"))[0] == 404
        status, headers = _answer(app, _scope("/hooks/generic/"))
        assert status == 307 and headers["location"].endswith("/hooks/generic")
        # Behind a root path Starlette matches the routes: the same hooks answer.
        assert _answer(app, _scope("/base/hooks/generic", root_path="/base"), b"{}")[0] == 403
        assert taken == [
            "/hooks/generic",
            "/hooks/nowhere",
            "/hooks/generic/",
            "/base/hooks/generic",
        ]
        assert app.state.webhooks is app.webhooks
    finally:
        asyncio.run(app.webhooks.close())


def test_the_shared_twiml_answer_is_sent_to_every_message(sqlite_store: Store) -> None:
    add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    with running(sqlite_store, signed_config()) as client:
        for i in range(3):
            params = {"MessageSid": f"SM{i}", "From": "+5218441234567", "To": CANARY, "Body": "x"}
            r = twilio_post(client, "/hooks/twilio/sms", params)
            assert r.status_code == 200 and r.text == "<Response/>"
            assert r.headers["content-type"] == "text/xml; charset=utf-8"
            assert r.headers["content-length"] == "11"
    assert count(sqlite_store) == 3


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        " padded ",
        "tab\there",
        "line\nbreak",
        "crlf\r\n",
        "\x00nul",
        "é",
        "\u202eltr",
        "x" * 60,
    ],
)
def test_clip_shortcut_agrees_with_safe_text(value: str) -> None:
    for limit in (1, 5, 50, 100):
        assert clip(value, limit) == safe_text(value, limit, keep_lines=True)
