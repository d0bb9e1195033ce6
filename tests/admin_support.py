"""A live admin app under uvicorn on a real socket, for the API and browser tests."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from canary.config import Config
from canary.store.engine import Store
from listeners.admin import create_app


@contextmanager
def live_admin(store: Store, port: int, config: Config | None = None) -> Iterator[str]:
    """Serve create_app(store, config) on 127.0.0.1:port in a thread; yields the base URL."""
    app = create_app(store, config)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("admin app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert m, "no CSRF token in page"
    return m.group(1)


def login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    """Log in through the form, as a browser does (GET for the CSRF token, then POST)."""
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"csrf": token, "username": username, "password": password})
