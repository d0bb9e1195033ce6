"""`canary serve --only admin` serves this app with the token `canary init` printed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


def test_serve_admin_with_init_token(tmp_path: Path, port: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANARY_")}
    init = subprocess.run(
        [sys.executable, "-m", "canary", "init"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr
    token = re.search(r"token.*: (\S+)$", init.stdout, re.M).group(1)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "canary",
            "serve",
            "--only",
            "admin",
            "--admin",
            f"127.0.0.1:{port}",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        with httpx.Client(base_url=url, timeout=30) as c:
            while True:
                try:
                    c.get("/healthz")
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, proc.communicate()[1].decode()
                    assert time.monotonic() < deadline, "admin listener did not come up"
                    time.sleep(0.2)
            assert c.get("/api/hits").status_code == 401
            r = c.get("/api/hits", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200 and r.json() == {"hits": []}
            assert c.get("/", follow_redirects=False).headers["location"] == "/login"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
