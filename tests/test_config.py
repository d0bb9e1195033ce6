from __future__ import annotations

import dataclasses
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


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[alerts]\ndigest_minutes = "quince"\n', "alerts.digest_minutes", "must be a number"),
        ("[smtp]\nmax_message_bytes = 1.5\n", "smtp.max_message_bytes", "must be a whole number"),
        ('[smtp]\nmx_hosts = "mx1.example.org"\n', "smtp.mx_hosts", "must be a list"),
        ("[smtp]\nmx_hosts = [1]\n", "smtp.mx_hosts[0]", "must be a string"),
        ("[store]\nurl = 5\n", "store.url", "must be a string"),
        ("store = 5\n", "store", "must be a table"),
        ('[plant]\ncontrol_share = "20%"\n', "plant.control_share", "must be a number"),
        (
            '[providers.vonage]\nsignature_method = "sha384"\n',
            "providers.vonage.signature_method",
            "must be one of 'md5hash', 'md5', 'sha1', 'sha256', 'sha512'",
        ),
    ],
)
def test_wrong_type_names_the_key_and_the_type(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    p = tmp_path / "canary.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(p)
    msg = str(info.value)
    assert msg.startswith(f"'{key}' in {p} {expected}"), msg


def test_whole_numbers_are_fine_where_a_number_is_wanted(tmp_path: Path) -> None:
    p = tmp_path / "canary.toml"
    p.write_text("[alerts]\ndigest_minutes = 15\n[plant]\nburn_in_days = 2\n")
    cfg = load_config(p)
    assert cfg.alerts.digest_minutes == 15.0 and cfg.plant.burn_in_days == 2.0


def test_path_is_not_a_setting(tmp_path: Path) -> None:
    p = tmp_path / "canary.toml"
    p.write_text('path = "/etc/passwd"\n')
    with pytest.raises(ConfigError, match="unknown key 'path'"):
        load_config(p)


def test_a_bad_type_is_one_line_at_the_cli_before_anything_runs(tmp_path: Path) -> None:
    from tests.cli_support import canary

    assert canary("init", cwd=tmp_path).returncode == 0
    cfg = tmp_path / "canary.toml"
    cfg.write_text(cfg.read_text().replace("digest_minutes = 15", 'digest_minutes = "quince"'))
    for args in (("hits",), ("serve", "--only", "smtp")):
        r = canary(*args, cwd=tmp_path)
        assert r.returncode == 1
        [line] = r.stderr.strip().splitlines()
        assert line.startswith("error: 'alerts.digest_minutes' in ") and "must be a number" in line


def test_config_written_by_init_is_private_whatever_the_umask(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        assert write_default_config(tmp_path / "new" / "canary.toml")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new" / "canary.toml").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


PLAIN_CASES = [
    "",
    "[store]\nurl = 'sqlite:///x.db'\nmax_evidence_bytes = 5\n",
    "[alerts]\ndigest_minutes = 15\nliveness_minutes = 2.5\n"
    "[[alerts.channels]]\ntype = 'webhook'\nurl = 'https://example.org/h'\nretries = 3\n",
    "[smtp]\nmx_hosts = ['mx1.example.org', 'mx2.example.org']\n",
    "[providers.vonage]\nsignature_method = 'sha256'\n[listen]\nbehind_forwarder = true\n",
    "[plant]\nburn_in_days = 0\ncontrol_share = 0.25\n",
    # pydantic decides (and explains) each of these
    "[store]\nmax_evidence_bytes = 5.0\n",
    "[store]\nmax_evidence_bytes = true\n",
    "[listen]\nbehind_forwarder = 1\n",
    "[providers.vonage]\nsignature_method = 'sha3'\n",
    "[smtp]\nmx_hosts = ['a', 1]\n",
    "[alerts]\nchannels = ['webhook']\n",
    "[alerts]\ndigest_minutes = inf\n",
    "[alerts]\ndigest_minutes = 'soon'\n",
    "[store]\nurll = 'x'\n",
    "store = 'x'\n",
    "[plant]\nissued_by = 1979-05-27\n",
]


@pytest.mark.parametrize("text", PLAIN_CASES)
def test_plain_files_are_read_as_pydantic_reads_them(tmp_path: Path, text: str) -> None:
    """Files that are plainly valid skip pydantic (it costs every command ~0.1 s to
    start); whatever that check accepts, pydantic accepts with the same values, and what
    it declines pydantic still judges."""
    import json
    import tomllib

    from pydantic import ValidationError

    from canary.config import Config, _plain, _validator

    data = json.loads(json.dumps(tomllib.loads(text), default=str))
    plain = _plain(Config, data)
    try:
        checked: Config | None = _validator().validate_json(json.dumps(data))
    except ValidationError:
        checked = None
    if plain is not None:
        assert checked is not None
        assert plain == checked
        assert [type(v) for v in vars(plain.alerts).values()] == [
            type(v) for v in vars(checked.alerts).values()
        ]
    p = tmp_path / "canary.toml"
    p.write_text(text)
    if checked is None:
        with pytest.raises(ConfigError):
            load_config(p)
    else:
        assert load_config(p) == dataclasses.replace(checked, path=p.resolve())


def test_written_defaults_are_read_without_pydantic(tmp_path: Path) -> None:
    import subprocess
    import sys

    p = tmp_path / "canary.toml"
    write_default_config(p)
    code = (
        "import sys\nfrom canary.config import load_config\n"
        f"load_config({str(p)!r})\nprint('pydantic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
