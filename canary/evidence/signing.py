"""The installation's Ed25519 key: it signs evidence bundles so nobody else can make one.

The private key is 32 random bytes (the Ed25519 seed), kept base64 in the file named by
`[evidence] key_file` (default `canary.key` beside the config, created 0600 whatever the
umask) or given base64 in `$CANARY_SIGNING_KEY`. `canary init` makes it once and keeps an
existing one. The public key is what a verifier needs; its fingerprint (hex SHA-256 of the
32 raw public key bytes) is the short form to publish and compare.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import os
import secrets
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from canary.config import Config
from canary.errors import ConfigError, InputError
from canary.files import open_private_fd, private_dir

log = logging.getLogger(__name__)

SIGNING_KEY_ENV = "CANARY_SIGNING_KEY"
KEY_BYTES = 32
SIGNATURE_BYTES = 64
MAX_KEY_TEXT = 4096  # a key file or --key file is a few dozen bytes; never read more


def fingerprint(public_key: bytes) -> str:
    """Hex SHA-256 of the 32 raw public key bytes."""
    return hashlib.sha256(public_key).hexdigest()


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key, as `canary key` shows it and `canary verify --key` takes it."""

    raw: bytes

    @property
    def base64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.raw)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when `signature` is this key's Ed25519 signature of exactly `message`."""
        if len(signature) != SIGNATURE_BYTES:
            return False
        try:
            VerifyKey(self.raw).verify(message, signature)
        except (BadSignatureError, ValueError):
            return False
        return True

    def as_dict(self) -> dict[str, str]:
        return {"public_key": self.base64, "fingerprint": self.fingerprint}


class Signer:
    """The private half: signs bundle manifests."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != KEY_BYTES:
            raise ValueError("an Ed25519 private key is 32 bytes")
        self._key = SigningKey(seed)
        self.public = PublicKey(bytes(self._key.verify_key))

    @classmethod
    def generate(cls) -> Signer:
        return cls(secrets.token_bytes(KEY_BYTES))

    def sign(self, message: bytes) -> bytes:
        """The 64-byte detached Ed25519 signature of `message`."""
        return bytes(self._key.sign(message).signature)

    def private_base64(self) -> str:
        return base64.b64encode(bytes(self._key)).decode("ascii")


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _seed_from_text(text: str) -> bytes | None:
    """A private key from base64: the 32-byte seed, or NaCl's 64-byte seed+public form."""
    raw = _b64(text)
    if raw is None:
        return None
    if len(raw) == KEY_BYTES:
        return raw
    if len(raw) == 2 * KEY_BYTES and bytes(SigningKey(raw[:KEY_BYTES]).verify_key) == raw[32:]:
        return raw[:KEY_BYTES]
    return None


def key_path(cfg: Config) -> Path:
    """Where the private key file is (or would be): `[evidence] key_file`, beside the config."""
    return (cfg.base_dir / Path(cfg.evidence.key_file).expanduser()).resolve()


def _from_env() -> Signer | None:
    value = os.environ.get(SIGNING_KEY_ENV, "")
    if not value:
        return None
    seed = _seed_from_text(value)
    if seed is None:
        raise ConfigError(
            f"${SIGNING_KEY_ENV} is not a base64 Ed25519 private key (32 bytes, as in canary.key)"
        )
    return Signer(seed)


def _read_key_file(path: Path) -> Signer:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_KEY_TEXT + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the signing key {path}: {exc.strerror or exc}") from exc
    seed = _seed_from_text(data[:MAX_KEY_TEXT].decode("ascii", "replace"))
    if seed is None or len(data) > MAX_KEY_TEXT:
        raise ConfigError(f"{path} is not a base64 Ed25519 private key (32 bytes)")
    return Signer(seed)


def load_signer(cfg: Config) -> Signer:
    """The installation's signing key: $CANARY_SIGNING_KEY, else the key file."""
    signer = _from_env()
    if signer is not None:
        return signer
    path = key_path(cfg)
    if not path.exists():
        raise ConfigError(
            f"no signing key at {path} (nor in ${SIGNING_KEY_ENV}): run `canary init`, "
            "which makes one and keeps everything else"
        )
    return _read_key_file(path)


def find_signer(cfg: Config) -> Signer | None:
    """The installation's signing key, or None when there is none (a bad one still raises)."""
    signer = _from_env()
    if signer is not None:
        return signer
    path = key_path(cfg)
    return _read_key_file(path) if path.exists() else None


class KeyState(Enum):
    CREATED = "created"
    KEPT = "kept"
    FROM_ENV = "from-env"


def _write_new_private_file(path: Path, data: bytes) -> bool:
    """Write `data` to a new file at `path`, 0600 whatever the umask; False if one is there.

    The bytes go to a private temporary file first and are linked into place only when
    complete, so a crash never leaves a half-written key and an existing key is never
    replaced (link fails when the name is taken, also against a concurrent `init`).
    """
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = open_private_fd(tmp, os.O_WRONLY | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0))
    try:
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def ensure_key(cfg: Config) -> tuple[KeyState, Path, PublicKey]:
    """Make the installation's key pair unless there is one (idempotent)."""
    path = key_path(cfg)
    signer = _from_env()
    if signer is not None:
        return KeyState.FROM_ENV, path, signer.public
    if path.exists():
        return KeyState.KEPT, path, _read_key_file(path).public
    new = Signer.generate()
    if not _write_new_private_file(path, (new.private_base64() + "\n").encode("ascii")):
        return KeyState.KEPT, path, _read_key_file(path).public
    log.info("made the signing key %s (fingerprint %s)", path, new.public.fingerprint)
    return KeyState.CREATED, path, new.public


def parse_public_key(text: str) -> PublicKey:
    """A public key as `canary key` prints it: the base64 key, its output, or its JSON."""
    text = text.strip()
    candidates: list[str] = []
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("public_key"), str):
            candidates.append(doc["public_key"])
    else:
        candidates += [w for w in text.replace(":", " ").split() if len(w) == 44]
    for c in candidates:
        raw = _b64(c)
        if raw is not None and len(raw) == KEY_BYTES:
            return PublicKey(raw)
    if len(text) == 64 and all(ch in "0123456789abcdefABCDEF" for ch in text):
        raise InputError(
            "that is a fingerprint; --key needs the public key itself (`canary key` prints both)"
        )
    raise InputError("not an Ed25519 public key: pass the base64 key `canary key` prints")


def public_key_arg(value: str) -> PublicKey:
    """--key: the key itself, or a file holding it (as `canary key` or `canary key --json`)."""
    candidate = Path(value).expanduser()
    text = value
    if len(value) < 4096 and candidate.is_file():
        try:
            with candidate.open("rb") as f:
                data = f.read(MAX_KEY_TEXT + 1)
        except OSError as exc:
            raise InputError(f"--key: cannot read {value[:200]}: {exc.strerror or exc}") from exc
        if len(data) > MAX_KEY_TEXT:
            raise InputError(f"--key: {value[:200]} is too large to be a public key")
        text = data.decode("utf-8", "replace")
    try:
        return parse_public_key(text)
    except InputError as exc:
        raise InputError(f"--key: {exc}") from exc
