"""The bearer token that guards the admin API (created by `canary init`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from canary.store.engine import Store

SETTING = "admin_token_sha256"


def ensure_admin_token(store: Store) -> str | None:
    """Create a token when none exists; returns it (only then), else None."""
    if store.get_setting(SETTING):
        return None
    return rotate_admin_token(store)


def rotate_admin_token(store: Store) -> str:
    token = secrets.token_urlsafe(32)
    store.set_setting(SETTING, hashlib.sha256(token.encode()).hexdigest())
    return token


def check_admin_token(store: Store, presented: str) -> bool:
    want = store.get_setting(SETTING)
    if not want or not presented:
        return False
    got = hashlib.sha256(presented.encode()).hexdigest()
    return hmac.compare_digest(want, got)
