"""`canary serve` as a real process: start, traffic, SIGTERM, several processes on one store."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from canary.cli import app
from canary.config import parse_hostport
from canary.store.engine import Store, open_store
from canary.store.models import Hit
from listeners.serve import ServeOptions
from tests.alerts_support import add_copy, wait_for
from tests.conftest import free_port, pg_schema_url
from tests.webhooks_support import GENERIC_SECRET, generic_post

CANARY = "+525512345678"

CONFIG = """\
[listen]
public_url = "https://hooks.example.org"
[providers.generic]
secret_env = "TEST_GENERIC_SECRET"
"""


class Serve:
    """A `python -m canary serve` subprocess; stderr collected for its log lines."""

    def __init__(self, tmp: Path, port: int, db_url: str | None = None) -> None:
        cfg = tmp / "canary.toml"
        if not cfg.exists():
            cfg.write_text(CONFIG)
        env = {**os.environ, "CANARY_CONFIG": str(cfg), "TEST_GENERIC_SECRET": GENERIC_SECRET}
        if db_url:
            env["CANARY_DB_URL"] = db_url
        self.port = port
        self.log = tmp / f"serve-{port}.log"
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "canary",
                "serve",
                "--only",
                "http",
                "--http",
                f"127.0.0.1:{port}",
                "--log-json",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
        )
        wait_for(self._started, timeout=60)

    def _started(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"serve exited early:\n{self.log.read_text()}")
        return any(e.get("event") == "start" for e in self.events())

    def events(self) -> list[dict]:
        out = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(90)
        finally:
            self._log_file.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self._log_file.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg_schema_url()


def hit_ids(store: Store) -> list[str]:
    with store.session() as s:
        return [h for h in s.scalars(select(Hit.provider_message_id))]


def test_sigterm_mid_traffic_exits_0_and_keeps_every_acknowledged_hit(tmp_path: Path) -> None:
    db = tmp_path / "canary.db"
    store = open_store(f"sqlite:///{db}")
    try:
        copy_id = add_copy(store, "Vendor A", phones=[CANARY])
        server = Serve(tmp_path, free_port())
        acked: list[str] = []
        lock = threading.Lock()
        go_on = threading.Event()
        go_on.set()

        def sender(worker: int) -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as c:
                i = 0
                while go_on.is_set():
                    msg_id = f"w{worker}-{i}"
                    i += 1
                    try:
                        r = generic_post(c, {"id": msg_id, "to": CANARY, "body": "hola"})
                    except httpx.HTTPError:
                        return  # the server stopped accepting
                    if r.status_code == 200:
                        with lock:
                            acked.append(msg_id)
                    elif r.status_code != 503:
                        raise AssertionError(r.text)

        try:
            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                futures = [pool.submit(sender, w) for w in range(6)]
                wait_for(lambda: len(acked) >= 60, timeout=120)
                rc = server.stop()
                go_on.clear()
                for f in futures:
                    f.result()
        finally:
            server.kill()
        assert rc == 0
        stored = set(hit_ids(store))
        assert acked and set(acked) <= stored
        events = server.events()
        assert [e["event"] for e in events if e.get("event") in ("start", "stop")] == [
            "start",
            "stop",
        ]
        hit_lines = [e for e in events if e.get("event") == "hit"]
        assert len(hit_lines) == len(stored)
        assert all(e["channel"] == "webhook" for e in hit_lines)
        # Attributed after the answers, all of them before the process stopped.
        attributed = [e for e in events if e.get("event") == "attributed"]
        assert sorted(e["hit_id"] for e in attributed) == sorted(e["hit_id"] for e in hit_lines)
        assert all(e["copies"] == [copy_id] for e in attributed)
    finally:
        store.dispose()


@pytest.mark.postgres
def test_two_processes_on_one_postgres_store_record_each_hit_once(
    tmp_path: Path, pg_url: str
) -> None:
    store = open_store(pg_url)
    try:
        copy_id = add_copy(store, "Vendor A", phones=[CANARY])
        servers = [Serve(tmp_path, free_port(), pg_url) for _ in range(2)]
        try:
            clients = [
                httpx.Client(base_url=f"http://127.0.0.1:{s.port}", timeout=60) for s in servers
            ]
            messages = [{"id": f"m{i}", "to": CANARY, "body": f"retry {i}"} for i in range(40)]
            # Every message delivered three times to each process, all at once.
            jobs = [(c, m) for m in messages for c in clients for _ in range(3)]
            with concurrent.futures.ThreadPoolExecutor(12) as pool:
                codes = list(pool.map(lambda job: generic_post(*job).status_code, jobs))
            for c in clients:
                c.close()
            assert codes == [200] * len(jobs)
        finally:
            rcs = [s.stop() for s in servers]
            for s in servers:
                s.kill()
        assert rcs == [0, 0]
        ids = hit_ids(store)
        assert sorted(ids) == sorted(m["id"] for m in messages)
        with store.session() as s:
            for h in s.scalars(select(Hit)):
                assert [c.copy_id for c in h.candidates] == [copy_id]
    finally:
        store.dispose()


def test_serve_rejects_unknown_parts_and_bad_addresses(tmp_path: Path, config) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["serve", "--only", "ftp"])
    assert r.exit_code == 2
    with pytest.raises(Exception, match="must be HOST:PORT"):
        parse_hostport("localhost", "http")
    assert parse_hostport("[::1]:8025", "http") == ("::1", 8025)
    assert ServeOptions.build(only=["http", "scheduler"], scheduler=False).parts == {"http"}


def test_serve_reports_a_port_in_use(tmp_path: Path, config) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "canary",
                "serve",
                "--only",
                "http",
                "--http",
                f"127.0.0.1:{port}",
            ],
            env={**os.environ},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 1
    assert f"cannot listen for http on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_all_parts_in_one_process_mail_and_sms_traced_then_clean_stop(tmp_path: Path) -> None:
    """The newcomer's path: serve everything, mail a canary, send a signed SMS, query."""
    import smtplib
    from email.message import EmailMessage

    from canary.store.register import add_domain

    db = tmp_path / "canary.db"
    (tmp_path / "canary.toml").write_text(CONFIG + f'[store]\nurl = "sqlite:///{db}"\n')
    store = open_store(f"sqlite:///{db}")
    try:
        add_domain(store, "correo-seguro.test")
        copy_id = add_copy(store, "Vendor A", email="ana.ruiz@correo-seguro.test", phones=[CANARY])
    finally:
        store.dispose()
    env = {
        **os.environ,
        "CANARY_CONFIG": str(tmp_path / "canary.toml"),
        "TEST_GENERIC_SECRET": GENERIC_SECRET,
    }
    env.pop("CANARY_DB_URL", None)
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "canary",
            "serve",
            "--smtp",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
            "--log-json",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )

    def start_event() -> dict | None:
        if proc.poll() is not None:
            raise AssertionError((tmp_path / "serve.log").read_text())
        for line in (tmp_path / "serve.log").read_text().splitlines():
            if line.startswith("{") and json.loads(line).get("event") == "start":
                return json.loads(line)
        return None

    try:
        started = wait_for(start_event, timeout=60)
        assert {"smtp", "http", "admin", "scheduler"} <= set(started)
        smtp_host, smtp_port = started["smtp"].rsplit(":", 1)
        msg = EmailMessage()
        msg["From"] = "campana@partido.example"
        msg["To"] = "ana.ruiz@correo-seguro.test"
        msg["Subject"] = "Vota por nosotros"
        msg.set_content("Hola Ana")
        with smtplib.SMTP(smtp_host, int(smtp_port), timeout=60) as smtp:
            smtp.send_message(msg)
        with httpx.Client(base_url="http://" + started["http"], timeout=60) as c:
            r = generic_post(c, {"id": "sms-1", "to": CANARY, "channel": "sms", "body": "hola"})
            assert r.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(90) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        log.close()
    out = subprocess.run(
        [sys.executable, "-m", "canary", "hits", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    got = {h["channel"]: h for h in json.loads(out.stdout)["hits"]}
    assert set(got) == {"smtp", "sms"}
    assert got["smtp"]["copies"] == [copy_id] and got["sms"]["copies"] == [copy_id]
