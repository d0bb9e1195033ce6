from __future__ import annotations

from pathlib import Path

import pytest

from canary.config import load_config, write_default_config
from canary.errors import ConfigError


def test_defaults_without_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CANARY_CONFIG", raising=False)
    monkeypatch.delenv("CANARY_DB_URL", raising=False)
    cfg = load_config()
    assert cfg.listen.smtp == "127.0.0.1:2525"
    assert cfg.store_url == f"sqlite:///{tmp_path / 'canary.db'}"


def test_written_defaults_load(tmp_path: Path) -> None:
    p = tmp_path / "canary.toml"
    assert write_default_config(p)
    assert not write_default_config(p)
    cfg = load_config(p)
    assert cfg.providers.vonage.signature_method == "md5hash"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[store]\nurll = 'x'\n", "store.urll"),
        ("[providers.twilio]\nauth_tokn = 'x'\n", "providers.twilio.auth_tokn"),
        ("colour = 1\n", "colour"),
    ],
)
def test_unknown_key_is_named(tmp_path: Path, text: str, key: str) -> None:
    p = tmp_path / "canary.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(p)


def test_env_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "canary.toml"
    p.write_text('[providers.twilio]\nauth_token_env = "TW_TOKEN"\n')
    monkeypatch.setenv("TW_TOKEN", "s3cret")
    monkeypatch.setenv("CANARY_DB_URL", "postgresql://u@h/db")
    cfg = load_config(p)
    assert cfg.secret(cfg.providers.twilio, "auth_token") == "s3cret"
    assert cfg.store_url == "postgresql://u@h/db"


def test_bad_types_and_toml(tmp_path: Path) -> None:
    p = tmp_path / "canary.toml"
    p.write_text("[smtp]\nmax_message_bytes = 'big'\n")
    with pytest.raises(ConfigError, match="smtp.max_message_bytes"):
        load_config(p)
    p.write_text("[smtp\n")
    with pytest.raises(ConfigError):
        load_config(p)
