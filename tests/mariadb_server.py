"""A MariaDB server of the tests' own: Debian's mariadb-server binaries, a temp datadir,
a free port, no grant tables (any user, no password). Started once per test session.

Skipped with the reason when the binaries are missing; with CANARY_REQUIRE_MARIADB set
(CI) that is a failure instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port

SBIN = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")


def _which(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or next(
            (f"{d}/{name}" for d in SBIN if os.access(f"{d}/{name}", os.X_OK)), None
        )
        if found:
            return found
    return None


def _missing(reason: str) -> None:
    if os.environ.get("CANARY_REQUIRE_MARIADB"):
        pytest.fail(f"MariaDB required (CANARY_REQUIRE_MARIADB) but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server's base URL, `mysql+pymysql://root@127.0.0.1:PORT`."""
    try:
        import pymysql
    except ImportError:
        _missing("PyMySQL is not installed (pip install 'canary-trace[mysql]')")
    server = _which("mariadbd", "mysqld")
    install = _which("mariadb-install-db", "mysql_install_db")
    if server is None or install is None:
        _missing("mariadbd / mariadb-install-db not found (apt-get install mariadb-server)")
    assert server is not None and install is not None
    base = tmp_path_factory.mktemp("mariadb")
    data, sock = base / "data", base / "mysqld.sock"
    as_root = ["--user=root"] if os.geteuid() == 0 else []
    done = subprocess.run(
        [install, "--no-defaults", f"--datadir={data}", "--skip-test-db",
         "--auth-root-authentication-method=normal", *as_root],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"mariadb-install-db failed: {done.stderr[-2000:]}")
    port = free_port()
    log = (base / "server.log").open("w")
    proc = subprocess.Popen(
        [server, "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={port}",
         "--bind-address=127.0.0.1", "--skip-grant-tables", "--skip-log-bin",
         "--innodb-buffer-pool-size=16M", f"--pid-file={base / 'mysqld.pid'}", *as_root],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                pymysql.connect(host="127.0.0.1", port=port, user="root").close()
                break
            except pymysql.err.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"MariaDB did not start: {_tail(base / 'server.log')}")
                time.sleep(0.2)
        yield f"mysql+pymysql://root@127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"


def mariadb_database(base_url: str) -> Iterator[str]:
    """A fresh database on the tests' server, dropped afterwards."""
    import pymysql

    name = "t_" + uuid.uuid4().hex[:12]
    port = int(base_url.rsplit(":", 1)[1])
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", autocommit=True)
    try:
        with conn.cursor() as c:
            c.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        yield f"{base_url}/{name}?charset=utf8mb4"
    finally:
        with conn.cursor() as c:
            c.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()
