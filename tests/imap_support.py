"""A real IMAP server for the tests: Dovecot (Debian's dovecot-imapd) in the foreground,
with its whole configuration, state and mail in a temporary folder, on a free loopback
port. Test mail is delivered with IMAP APPEND, as a provider's MTA would file it."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dovecot:
    root: Path
    port: int = field(default_factory=_free_port)
    users: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    #: (certificate, key) files: serve IMAP over TLS only (imaps)
    tls: tuple[Path, Path] | None = None

    def configure(self) -> None:
        for d in ("run", "state", "mail"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        (self.root / "passwd").write_text(
            "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.users.items())
        )
        if os.geteuid() == 0:  # Dovecot never serves mail as root: use its own account
            account = pwd.getpwnam("dovecot")
            uid, gid = account.pw_uid, account.pw_gid
            os.chown(self.root / "mail", uid, gid)
            login_user, internal_user = "dovenull", "dovecot"
        else:
            uid, gid = os.getuid(), os.getgid()
            login_user = internal_user = pwd.getpwuid(uid).pw_name
        ssl = "ssl = no"
        if self.tls:
            ssl = f"ssl = required\nssl_cert = <{self.tls[0]}\nssl_key = <{self.tls[1]}"
        (self.root / "dovecot.conf").write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 1
default_login_user = {login_user}
default_internal_user = {internal_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.root}/mail/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  mailbox Spam {{
    special_use = \\Junk
    auto = create
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {0 if self.tls else self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port if self.tls else 0}
  }}
}}
service anvil {{
  chroot =
}}
"""
        )

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if self.tls or s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not start; see {self.root / 'dovecot.log'}")

    def close(self) -> None:
        self.stop()
        if self.root.name.startswith("canary-dovecot-"):
            shutil.rmtree(self.root, ignore_errors=True)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            c.login(user, self.users[user])
            typ, data = c.append(f'"{folder}"', None, None, raw)
            assert typ == "OK", data
        finally:
            c.logout()

    def flags(self, user: str, folder: str = "INBOX") -> list[bytes]:
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            c.login(user, self.users[user])
            c.select(f'"{folder}"', readonly=True)
            _typ, data = c.fetch("1:*", "(FLAGS)")
            return [d for d in data if isinstance(d, bytes)]
        finally:
            c.logout()


def make_ca_and_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a certificate for 127.0.0.1 signed by it (openssl): (ca, cert, key)."""
    folder.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=canary test CA",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (folder / "san.ext").write_text("subjectAltName = IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    )
    for name in ("ca.pem", "server.pem", "server.key"):
        (folder / name).chmod(0o644)
    return folder / "ca.pem", folder / "server.pem", folder / "server.key"


def dovecot_server(
    root: Path, users: dict[str, str], tls: tuple[Path, Path] | None = None
) -> Dovecot:
    """Dovecot serving `users` ({name: password}); `root` is a fresh folder it may use.

    As root, Dovecot's own unprivileged account must reach the folder, so it lives in
    a folder of its own under the system's temporary folder (pytest's are 0700)."""
    if not Path(DOVECOT).exists():
        pytest.skip("Dovecot is not installed (.ci/system-deps installs dovecot-imapd)")
    if os.geteuid() == 0:
        root = Path(tempfile.mkdtemp(prefix="canary-dovecot-"))
        root.chmod(0o711)
    server = Dovecot(root, users=users, tls=tls)
    server.configure()
    server.start()
    return server


class Proxy:
    """A TCP relay to the server that the test can cut, like a server or a network that
    drops the connection in the middle of a session."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = int(self.listener.getsockname()[1])
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def drop(self) -> None:
        """Cut every open connection (new ones still go through)."""
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets = []

    def close(self) -> None:
        self.listener.close()
        self.drop()
