"""`canary serve`: every listener and the scheduler in one process, one asyncio loop.

Parts: `smtp` (listeners.smtp), `http` (the public webhooks, listeners.webhooks under
uvicorn), `admin` (listeners.admin under uvicorn) and `scheduler` (canary.ops.scheduler).
Each can be left out (`--only`, `--no-scheduler`), so SMTP can run in a process of
its own when large mail must not stall webhooks.

Stopping (SIGTERM or SIGINT): every listener stops accepting at once, in-flight
requests and SMTP sessions finish and commit, then the process exits 0. A second
signal cuts the wait short. Several processes may serve one PostgreSQL store: hits
are deduplicated by provider message id in the store, so each is recorded once.

The loop is plain asyncio (aiosmtpd's STARTTLS relies on asyncio's own SSL protocol).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn

from canary.config import Config, parse_hostport
from canary.errors import ConfigError
from canary.store.engine import Store
from canary.text import safe_text
from listeners.guards import quiet_resource_errors, raise_open_files_limit
from listeners.httpguard import HttpGuard, HttpLimits, guarded

log = logging.getLogger(__name__)

PARTS = ("smtp", "http", "admin", "scheduler")
#: Seconds in-flight HTTP requests get to finish after a stop signal.
GRACE_SECONDS = 30.0
#: Concurrent HTTP connections per listener past which uvicorn answers 503 (slow
#: clients are cut well before: listeners.httpguard; serve raises its open-files limit).
MAX_CONNECTIONS = 10000


def bind(host: str, port: int, what: str) -> socket.socket:
    """A listening socket for a uvicorn server, or a ConfigError that says what to do."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say so,
    # and without it Nagle plus delayed ACKs add ~40 ms to every response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(2048)
        return sock
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen for {what} on {host}:{port}: {exc.strerror or exc}; "
            f"choose another address with --{what} HOST:PORT or listen.{what}"
        ) from exc


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `serve`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def uvicorn_config(app: Any, **overrides: Any) -> uvicorn.Config:
    """The uvicorn settings every canary HTTP listener (and the benchmark) uses."""
    settings: dict[str, Any] = {
        "lifespan": "off",
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": GRACE_SECONDS,
        "limit_concurrency": MAX_CONNECTIONS,
        "http": "auto",
    }
    settings.update(overrides)
    return uvicorn.Config(app, **settings)


#: Seconds a thread may hold the GIL while another waits (Python's default is 0.005).
SWITCH_INTERVAL = 0.0005


def share_the_interpreter() -> None:
    """Let the commit threads have the GIL back soon after each store call.

    The committer and the attribution worker release the GIL around every SQLite or
    PostgreSQL call and then wait for the event loop to hand it back, which by default
    takes up to 5 ms each time while the loop is busy: a commit of a few statements
    took 10-17 ms under load, most of it waiting. A shorter interval makes commits,
    and so the answers waiting on them, quicker (measured in bench/webhooks.py).
    """
    sys.setswitchinterval(SWITCH_INTERVAL)


@dataclass
class ServeOptions:
    """What to run and where; addresses default to the config's `listen` section."""

    smtp: str | None = None
    http: str | None = None
    admin: str | None = None
    parts: frozenset[str] = frozenset(PARTS)

    @classmethod
    def build(
        cls,
        *,
        smtp: str | None = None,
        http: str | None = None,
        admin: str | None = None,
        only: Iterable[str] = (),
        scheduler: bool = True,
    ) -> ServeOptions:
        chosen = set(only) or set(PARTS)
        unknown = chosen - set(PARTS)
        if unknown:
            raise ConfigError(f"unknown part {sorted(unknown)}; choose from {', '.join(PARTS)}")
        if not scheduler:
            chosen.discard("scheduler")
        if not chosen:
            raise ConfigError("nothing to run: --no-scheduler left no part of --only")
        return cls(smtp=smtp, http=http, admin=admin, parts=frozenset(chosen))


@dataclass
class Running:
    """What `serve` started, handed to the `started` callback (ports as bound)."""

    addresses: dict[str, str] = field(default_factory=dict)


async def serve(
    store: Store,
    config: Config,
    options: ServeOptions,
    *,
    stop: asyncio.Event | None = None,
    started: Callable[[Running], None] | None = None,
) -> None:
    """Run the chosen parts until `stop` is set (or SIGTERM/SIGINT), then stop cleanly."""
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    servers: list[tuple[str, QuietServer, asyncio.Task[None]]] = []
    smtp_listener: Any = None
    webhooks: Any = None
    scheduler: Any = None
    running = Running()
    raise_open_files_limit()
    share_the_interpreter()
    quiet_resource_errors(loop)
    signals = _install_signals(loop, stop, servers)
    try:
        if "http" in options.parts:
            from listeners.webhooks import create_app

            app = create_app(store, config)
            webhooks = app.state.webhooks
            servers.append(_start_http("http", app, options.http or config.listen.http, config))
        if "admin" in options.parts:
            admin_app = _admin_app(store, config)
            if admin_app is not None:
                servers.append(
                    _start_http("admin", admin_app, options.admin or config.listen.admin, config)
                )
        smtp_port = 25
        if "smtp" in options.parts:
            smtp_listener = await _start_smtp(store, config, options.smtp or config.listen.smtp)
            if smtp_listener is not None:
                smtp_port = smtp_listener.port
                running.addresses["smtp"] = f"{smtp_listener.host}:{smtp_listener.port}"
        for name, server, task in servers:
            await _wait_started(name, server, task)
            sock = server.servers[0].sockets[0].getsockname()
            running.addresses[name] = f"{sock[0]}:{sock[1]}"
        if "scheduler" in options.parts:
            scheduler = _start_scheduler(store, config, smtp_port)
            if scheduler is not None:
                running.addresses["scheduler"] = "on"
        settle_heap()
        log.info(
            "canary serve started: %s",
            " ".join(f"{k}={v}" for k, v in running.addresses.items()) or "nothing",
            extra={"event": "start", **running.addresses},
        )
        if started is not None:
            started(running)
        waiters = [asyncio.ensure_future(stop.wait())] + [t for _, _, t in servers]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        waiters[0].cancel()
        for name, _, task in servers:
            if task.done() and not stop.is_set():
                log.error("the %s listener stopped unexpectedly; stopping the rest", name)
    finally:
        await _shutdown(servers, smtp_listener, scheduler)
        if webhooks is not None:
            await webhooks.close()
        for sig in signals:
            loop.remove_signal_handler(sig)
        log.info("canary serve stopped", extra={"event": "stop"})
    for _name, _, task in servers:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def _install_signals(
    loop: asyncio.AbstractEventLoop,
    stop: asyncio.Event,
    servers: list[tuple[str, QuietServer, asyncio.Task[None]]],
) -> list[int]:
    """SIGTERM/SIGINT set `stop`; a second one makes the HTTP servers stop waiting."""
    if threading.current_thread() is not threading.main_thread():
        return []

    def on_signal(sig: int) -> None:
        if stop.is_set():
            log.warning("second %s: cutting in-flight requests short", signal.Signals(sig).name)
            for _, server, _ in servers:
                server.force_exit = True
            return
        log.info("%s received: stopping", signal.Signals(sig).name, extra={"event": "signal"})
        stop.set()

    installed: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig)
            installed.append(sig)
    return installed


def http_limits(config: Config) -> HttpLimits:
    """The slow-client limits of the HTTP listeners, from `[listen]`."""
    c = config.listen
    return HttpLimits(
        header_timeout=c.http_header_timeout,
        min_body_rate=c.http_min_body_rate,
        max_per_peer=c.http_max_connections_per_peer,
    )


def guarded_config(app: Any, name: str, limits: HttpLimits, **overrides: Any) -> uvicorn.Config:
    """uvicorn settings with slow and greedy clients cut (listeners.httpguard)."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    guard = HttpGuard(name, limits)
    cfg = uvicorn_config(app, http=guarded(AutoHTTPProtocol, guard), **overrides)
    cfg.canary_guard = guard  # type: ignore[attr-defined]
    return cfg


def _start_http(
    name: str, app: Any, address: str, config: Config
) -> tuple[str, QuietServer, asyncio.Task[None]]:
    host, port = parse_hostport(address, name)
    sock = bind(host, port, name)
    server = QuietServer(guarded_config(app, name, http_limits(config)))
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    return name, server, task


async def _wait_started(name: str, server: QuietServer, task: asyncio.Task[None]) -> None:
    while not server.started:
        if task.done():
            exc = task.exception()
            raise ConfigError(f"the {name} listener did not start: {exc}")
        await asyncio.sleep(0.01)


def _admin_app(store: Store, config: Config) -> Any:
    from listeners.admin import create_app
    from listeners.admin_pages import warm

    app = create_app(store, config)
    warm(store, config)
    return app


def settle_heap() -> None:
    """Leave what start-up allocated (modules, the app, the dashboard's kept counts) out
    of the garbage collector's full passes: with them, each full pass took 60-70 ms of
    CPU in the admin process, the home page's slowest loads (bench/dashboard_scale.py)."""
    gc.collect()
    gc.freeze()


async def _start_smtp(store: Store, config: Config, address: str) -> Any:
    from listeners.smtp import start_smtp

    host, port = parse_hostport(address, "smtp")
    return await start_smtp(store, config, host, port)


def _start_scheduler(store: Store, config: Config, smtp_port: int) -> Any:
    from canary.ops.scheduler import create_scheduler

    scheduler = create_scheduler(store, config, smtp_port=smtp_port)
    scheduler.start()
    return scheduler


async def _shutdown(
    servers: list[tuple[str, QuietServer, asyncio.Task[None]]],
    smtp_listener: Any,
    scheduler: Any,
) -> None:
    """Stop accepting everywhere at once, let in-flight work commit, then stop jobs."""
    for _, server, _ in servers:
        server.should_exit = True
    closing: list[Any] = [t for _, _, t in servers]
    if smtp_listener is not None:
        closing.append(smtp_listener.close())
    results = await asyncio.gather(*closing, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError):
            log.error("a listener failed while stopping: %s", r)
    if scheduler is not None:
        with contextlib.suppress(Exception):
            scheduler.shutdown(wait=False)


def run(store: Store, config: Config, options: ServeOptions) -> None:
    """Blocking entry point for the CLI: serve until a signal, then return."""
    asyncio.run(serve(store, config, options))


# --- logging ---------------------------------------------------------------------------

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, message and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for k, v in vars(record).items():
            if k not in _STANDARD and not k.startswith("_"):
                doc[k] = v
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


class SafeMessages(logging.Filter):
    """Log messages made inert: whatever a client wrote (a HELO, an address, an error
    that quotes it) reaches the log without control characters or terminal escapes."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: log what there is
            message = f"{record.msg!r} {record.args!r}"
        record.msg = safe_text(message, MAX_LOG_MESSAGE)
        record.args = None
        return True


#: Characters of one log message at most.
MAX_LOG_MESSAGE = 4000


def configure_logging(json_lines: bool = False) -> None:
    """INFO lines on stderr (JSON lines with `json_lines`); chatty libraries kept quiet."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(SafeMessages())
    if json_lines:
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for noisy in ("uvicorn", "uvicorn.error", "apscheduler", "mail.log", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
