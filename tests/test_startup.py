"""What a command imports before it does its work (issue 13: start-up under 1 s).

Each test runs the real command line in a child process and lists the modules it
imported: the listeners, the alert channels, Alembic on an up-to-date store and
SQLAlchemy's PostgreSQL dialect on a SQLite store are start-up time a command that
does not use them should not pay. (pydantic is Typer's: it coerces every parameter.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_support import canary

#: Imported at exit, as the command left them: the top-level package names and every
#: module of ours and SQLAlchemy's.
PROBE = """
import atexit, json, sys
def _dump():
    ours = ("canary.", "sqlalchemy.", "listeners")
    names = sorted(m for m in sys.modules if "." not in m or m.startswith(ours))
    with open({out!r}, "w") as f:
        json.dump(names, f)
atexit.register(_dump)
sys.argv = ["canary", *{args!r}]
from canary.cli import main
main()
"""

#: Never needed to issue copies or identify a dump.
NOT_FOR_ISSUE_OR_IDENTIFY = {
    "aiosmtpd",
    "starlette",
    "uvicorn",
    "listeners",
    "httpx",
    "nacl",
    "openpyxl",
    "alembic",
    "sqlalchemy.dialects.postgresql",
    "canary.alerts.channels",
    "canary.evidence",
    "canary.cli.listen",
    "canary.cli.case",
    "canary.cli.demo",
}


def imported(tmp_path: Path, *args: str) -> set[str]:
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANARY_")}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(out=str(out), args=list(args))],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(out.read_text()))


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    for args in (
        ("init",),
        ("domain", "add", "avisos.example.mx"),
        *(("phone", "add", f"+52 844 123 45{i:02d}") for i in range(4)),
    ):
        assert canary(*args, cwd=tmp_path).returncode == 0
    rows = ["folio,nombre,correo,telefono"]
    names = ["Ana López", "José Pérez", "María García", "Juan Hernández", "Lucía Sánchez"]
    for i in range(60):
        name = names[i % 5]
        rows.append(f"F{2 * i:05d},{name},c{i}@example.com,(844) 555-{1000 + i}")
    (tmp_path / "registro.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return tmp_path


def test_issue_imports_only_what_issuing_needs(store_dir: Path) -> None:
    mods = imported(store_dir, "issue", "registro.csv", "-r", "Proveedor SA", "-o", "out")
    assert "canary.issue.plant" in mods  # the probe sees the command's own imports
    assert (store_dir / "out").is_dir()
    assert mods & NOT_FOR_ISSUE_OR_IDENTIFY == set()


def test_identify_imports_only_what_identifying_needs(store_dir: Path) -> None:
    assert canary("issue", "registro.csv", "-r", "A", "-o", "out", cwd=store_dir).returncode == 0
    (store_dir / "found.csv").write_text("nombre,correo\nAna,x@example.org\n", encoding="utf-8")
    # options before the command: the entry point still finds the command's module
    mods = imported(
        store_dir, "-v", "--config", str(store_dir / "canary.toml"), "identify", "found.csv"
    )
    assert "canary.investigate.identify" in mods
    assert mods & (NOT_FOR_ISSUE_OR_IDENTIFY | {"faker", "canary.synth", "canary.issue"}) == set()


def test_help_of_one_command_loads_its_module_only(tmp_path: Path) -> None:
    mods = imported(tmp_path, "issue", "--help")
    assert "canary.cli.issue" in mods
    assert mods & {"canary.cli.query", "canary.cli.listen", "canary.cli.case", "httpx"} == set()
    assert mods & {"aiosmtpd", "starlette", "uvicorn", "listeners"} == set()


def test_every_command_is_mapped_to_its_module() -> None:
    """The entry point finds a command's module in `COMMANDS`: a command missing there
    would be missing from `canary NAME` (and `canary --help` lists them all)."""
    import typer.main

    from canary.cli import COMMANDS, app

    assert sorted(typer.main.get_command(app).commands) == sorted(COMMANDS)  # type: ignore[attr-defined]


def test_the_whole_help_lists_every_command(tmp_path: Path) -> None:
    from canary.cli import COMMANDS

    out = canary("--help", cwd=tmp_path)
    assert out.returncode == 0
    listed = {line.split()[1] for line in out.stdout.splitlines() if line.startswith("│ ")}
    assert set(COMMANDS) <= listed


def test_up_to_date_store_opens_without_alembic(tmp_path: Path) -> None:
    """The revision read from the migration files is Alembic's head, and a store at it
    opens without importing Alembic."""
    from alembic.script import ScriptDirectory

    from canary.store.engine import alembic_config, make_engine, open_store, script_head

    url = f"sqlite:///{tmp_path / 'c.db'}"
    open_store(url).dispose()
    engine = make_engine(url)
    assert script_head() == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    engine.dispose()
    code = (
        "import sys\nfrom canary.store.engine import open_store\n"
        f"open_store({url!r}).dispose()\nprint('alembic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
