"""`canary plant` / `canary unplant`: canaries in a live table, in place, on SQLite,
PostgreSQL and MariaDB (each a real database), and the drift check that watches them."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from typer.testing import CliRunner

from canary.cli import app
from canary.config import Config
from canary.formats._values import to_text
from canary.issue.live import PlantRequest, plant_live, prepare_plant
from canary.ops.live import check_live
from canary.store import register as registry
from canary.store.chain import verify_chain
from canary.store.engine import Store, open_store
from canary.store.models import Alert, ChainLink, Copy, Identifier, LiveCopy, LiveRow
from tests.conftest import pg_schema_url
from tests.mariadb_server import mariadb_database, mariadb_server  # noqa: F401

GIVEN = ["María", "José", "Guadalupe", "Juan", "Ana", "Luis", "Rosa", "Carlos", "Elena", "Jorge"]
SURNAMES = ["López", "Hernández", "García", "Martínez", "Rodríguez", "Pérez", "Sánchez", "Ramírez"]
PROVIDERS = ["gmail.com", "hotmail.com", "yahoo.com.mx", "outlook.com"]
ROWS = 80


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def live_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A live database holding `oficinas` and `clientes` (every kind of constraint)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'punto_de_venta.db'}"
        make_tables(url)
        yield url
    elif request.param == "postgresql":
        for url in pg_schema_url():
            make_tables(url)
            yield url
    else:
        base = request.getfixturevalue("mariadb_server")
        for url in mariadb_database(base):
            make_tables(url)
            yield url


def make_tables(url: str) -> None:
    """The lottery's point-of-sale customers: identity key, a foreign key to the branch,
    NOT NULL, CHECKs (one across two columns), UNIQUE email and VARCHAR lengths."""
    eng = sa.create_engine(url)
    pg = eng.dialect.name == "postgresql"
    md = sa.MetaData()
    oficinas = sa.Table(
        "oficinas",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ciudad", sa.String(40), nullable=False),
    )
    key = (
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True)
        if pg
        else sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)
    )
    clientes = sa.Table(
        "clientes",
        md,
        key,
        sa.Column("oficina_id", sa.Integer, sa.ForeignKey("oficinas.id"), nullable=False),
        sa.Column("nombre", sa.String(40), nullable=False),
        sa.Column("apellido", sa.String(40), nullable=False),
        sa.Column("correo", sa.String(80), nullable=False, unique=True),
        sa.Column("celular", sa.String(20)),
        sa.Column("estatus", sa.String(2), nullable=False),
        sa.Column("edad", sa.Integer, nullable=False),
        sa.Column("alta", sa.Date, nullable=False),
        sa.Column("baja", sa.Date),
        sa.Column(
            "creado", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()
        ),
        sa.CheckConstraint("estatus IN ('AC','IN','SU')", name="ck_clientes_estatus"),
        sa.CheckConstraint("edad BETWEEN 18 AND 99", name="ck_clientes_edad"),
        sa.CheckConstraint("baja IS NULL OR baja >= alta", name="ck_clientes_baja"),
    )
    rng = random.Random(7)
    with eng.begin() as c:
        md.create_all(c)
        c.execute(
            sa.insert(oficinas),
            [
                {"id": 10 + i, "ciudad": x}
                for i, x in enumerate(["Saltillo", "Torreón", "Monclova"])
            ],
        )
        rows = []
        for i in range(ROWS):
            given, surname = GIVEN[i % len(GIVEN)], SURNAMES[(i * 3) % len(SURNAMES)]
            alta = date(2019, 1, 1) + timedelta(days=rng.randint(0, 1500))
            rows.append(
                {
                    "oficina_id": 10 + i % 2,  # the third branch has no customers yet
                    "nombre": given,
                    "apellido": surname,
                    "correo": f"{plain(given)}.{plain(surname)}{i}@{PROVIDERS[i % 4]}",
                    "celular": f"844{rng.randint(1000000, 9999999)}",
                    "estatus": ["AC", "AC", "IN", "SU"][i % 4],
                    "edad": rng.randint(18, 80),
                    "alta": alta,
                    "baja": alta + timedelta(days=rng.randint(1, 400)) if i % 4 == 3 else None,
                }
            )
        c.execute(sa.insert(clientes), rows)
    eng.dispose()


def plain(text: str) -> str:
    return text.lower().translate(str.maketrans("áéíóú", "aeiou"))


def table_rows(url: str, table: str = "clientes") -> list[tuple[Any, ...]]:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            t = sa.Table(table, sa.MetaData(), autoload_with=c)
            return [tuple(r) for r in c.execute(select(t).order_by(t.c.id))]
    finally:
        eng.dispose()


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture
def ready(config: Config) -> Store:
    store = open_store(config.store_url)
    registry.add_domain(store, "correo-avisos.mx")
    for i in range(6):
        registry.add_phone(store, f"+52 844 555 {1000 + i:04d}", "twilio")
    return store


def plant(url: str, holder: str, *extra: str) -> dict[str, Any]:
    out = run("plant", url, "--table", "clientes", "--holder", holder, "--yes", "--json", *extra)
    assert out.exit_code == 0, out.output
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc["copies"][0]


def test_plant_and_unplant_round_trip(ready: Store, live_url: str) -> None:
    before = table_rows(live_url)
    copy = plant(live_url, "Proveedor TPV", "--canaries", "4", "--purpose", "punto de venta")
    assert set(copy) == {"id", "recipient", "path", "canaries", "sha256"}
    assert copy["recipient"] == "Proveedor TPV" and copy["canaries"] == 4

    after = table_rows(live_url)
    new = [r for r in after if r not in before]
    assert len(after) == len(before) + 4 and len(new) == 4
    # The database assigned the keys, after every real row; the registered ones are those.
    assert min(r[0] for r in new) > max(r[0] for r in before)
    with ready.session() as s:
        rows = list(s.scalars(select(LiveRow).where(LiveRow.copy_id == copy["id"])))
        assert sorted(int(r.key["id"]) for r in rows) == sorted(r[0] for r in new)
        assert s.get(LiveCopy, copy["id"]).table_name == "clientes"
        emails = set(s.scalars(select(Identifier.value).where(Identifier.kind == "email")))
    for r in new:
        assert r[1] in (10, 11)  # a branch the real customers point at (12 has none)
        assert len(r[2]) <= 40 and len(r[3]) <= 40 and len(r[4]) <= 80
        assert r[6] in ("AC", "IN", "SU") and 18 <= r[7] <= 99
        assert r[9] is None or r[9] >= r[8]
        assert abs((r[10].date() - date.today()).days) <= 1  # stamped by the database: now
        assert r[4].lower() in emails
    # sha256 over the inserted rows, as read back, in the documented row form.
    h = hashlib.sha256()
    for r in sorted(new):
        cells = [None if v is None else to_text(v) for v in r]
        h.update((json.dumps(cells, ensure_ascii=False, separators=(",", ":")) + "\n").encode())
    assert copy["sha256"] == h.hexdigest()

    # The live system goes on: the application's next insert gets its own key.
    eng = sa.create_engine(live_url)
    with eng.begin() as c:
        t = sa.Table("clientes", sa.MetaData(), autoload_with=c)
        c.execute(
            sa.insert(t).values(
                oficina_id=10, nombre="Nueva", apellido="Clienta", correo="nueva@gmail.com",
                estatus="AC", edad=30, alta=date(2025, 1, 1),
            )
        )  # fmt: skip
    eng.dispose()

    out = run("unplant", copy["id"], "--yes", "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert len(result["removed"]) == 4 and result["changed"] == [] and result["missing"] == []
    remaining = table_rows(live_url)
    assert remaining[: len(before)] == before and len(remaining) == len(before) + 1
    with ready.session() as s:
        kinds = [link.kind for link in s.scalars(select(ChainLink).order_by(ChainLink.seq))]
        assert kinds == ["copy", "unplant"]
        assert verify_chain(s) is None
    again = run("unplant", copy["id"], "--yes")
    assert again.exit_code == 1 and "was unplanted" in again.output


def test_dry_run_writes_nothing(ready: Store, live_url: str) -> None:
    before = table_rows(live_url)
    out = run("plant", live_url, "--table", "clientes", "--holder", "TPV", "--dry-run")
    assert out.exit_code == 0, out.output
    assert out.stdout.count("INSERT INTO clientes") == 3 and "nothing was written" in out.stdout
    doc = json.loads(
        run(
            "plant", live_url, "--table", "clientes", "--holder", "TPV", "--dry-run", "--json"
        ).stdout
    )
    assert doc["dry_run"] is True and len(doc["rows"]) == 3
    assert doc["filled_by_database"] == ["id", "creado"]
    assert all("id" not in row for row in doc["rows"])
    assert table_rows(live_url) == before
    with ready.session() as s:
        assert s.scalar(select(sa.func.count()).select_from(Copy)) == 0


def test_without_yes_and_no_terminal_nothing_is_written(ready: Store, live_url: str) -> None:
    before = table_rows(live_url)
    out = run("plant", live_url, "--table", "clientes", "--holder", "TPV")
    assert out.exit_code == 1
    assert "--yes" in out.output and "nothing was written" in out.output
    assert table_rows(live_url) == before
    with ready.session() as s:
        assert s.scalar(select(sa.func.count()).select_from(Copy)) == 0


def test_a_changed_row_is_reported_and_kept(ready: Store, live_url: str) -> None:
    copy = plant(live_url, "TPV", "--canaries", "3")
    with ready.session() as s:
        keys = sorted(int(r.key["id"]) for r in s.scalars(select(LiveRow)))
    eng = sa.create_engine(live_url)
    with eng.begin() as c:
        c.execute(
            sa.text("UPDATE clientes SET nombre = 'Limpiado' WHERE id = :id"), {"id": keys[0]}
        )
    eng.dispose()
    out = run("unplant", copy["id"], "--yes", "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert len(result["removed"]) == 2 and len(result["changed"]) == 1
    ids = [r[0] for r in table_rows(live_url)]
    assert keys[0] in ids and keys[1] not in ids and keys[2] not in ids
    text = run("unplant", copy["id"], "--yes")
    assert text.exit_code == 1


def test_two_live_copies_never_collide(ready: Store, live_url: str) -> None:
    a = plant(live_url, "Proveedor A", "--canaries", "5")
    b = plant(live_url, "Réplica B", "--canaries", "5")
    with ready.session() as s:
        rows = {
            c: list(s.scalars(select(LiveRow).where(LiveRow.copy_id == c)))
            for c in (a["id"], b["id"])
        }
        keys = [{r.key["id"] for r in rows[c]} for c in rows]
        assert not keys[0] & keys[1] and len(keys[0]) == len(keys[1]) == 5
        emails = [{r.values["correo"].lower() for r in rows[c]} for c in rows]
        assert not emails[0] & emails[1]
    out = run("unplant", a["id"], "--yes", "--json")
    assert len(json.loads(out.stdout)["removed"]) == 5
    ids = {str(r[0]) for r in table_rows(live_url)}
    assert keys[1] <= ids and not keys[0] & ids


def test_drift_alert_when_a_live_canary_is_deleted(
    ready: Store, config: Config, live_url: str
) -> None:
    plant(live_url, "TPV", "--canaries", "3")
    assert check_live(ready, config) == []  # all there: no alert
    with ready.session() as s:
        victim = int(next(iter(s.scalars(select(LiveRow)))).key["id"])
    eng = sa.create_engine(live_url)
    with eng.begin() as c:
        c.execute(sa.text("DELETE FROM clientes WHERE id = :id"), {"id": victim})
    eng.dispose()
    alerts = check_live(ready, config)
    assert len(alerts) == 1 and "deleted" in alerts[0]["title"]
    assert alerts[0]["facts"]["Deleted"] == "1"
    with ready.session() as s:
        states = sorted(r.state for r in s.scalars(select(LiveRow)))
        assert states == ["deleted", "present", "present"]
        assert s.scalar(select(sa.func.count()).select_from(Alert).where(Alert.kind == "system"))
    assert check_live(ready, config) == []  # once per change


@pytest.fixture(
    params=[
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A live database on a server that accepts any password (trust, skip-grant-tables)."""
    if request.param == "postgresql":
        for url in pg_schema_url():
            make_tables(url)
            yield url
    else:
        for url in mariadb_database(request.getfixturevalue("mariadb_server")):
            make_tables(url)
            yield url


def test_the_password_is_never_printed_or_stored(
    ready: Store, config: Config, server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "S3cr3t-Vendedor-91"
    url = sa.engine.make_url(server_url).set(
        username="postgres" if "postgres" in server_url else "root"
    )
    bare = url.render_as_string(hide_password=False)
    out = run("plant", bare, "--table", "clientes", "--holder", "TPV", "--yes", "--json",
              "--password-env", "TPV_DB_PASSWORD", env={"TPV_DB_PASSWORD": secret})  # fmt: skip
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["copies"][0]["path"] == bare
    # A password in the URL works, with a warning, and is not kept either.
    with_pw = url.set(password=secret).render_as_string(hide_password=False)
    out2 = run("plant", with_pw, "--table", "clientes", "--holder", "TPV 2", "--yes", "--json")
    assert out2.exit_code == 0, out2.output
    assert any("holds a password" in r.getMessage() for r in caplog.records)
    dry = run("plant", with_pw, "--table", "clientes", "--holder", "X", "--dry-run")
    missing = run("plant", bare, "--table", "clientes", "--holder", "X", "--yes",
                  "--password-env", "NOT_SET_ANYWHERE")  # fmt: skip
    assert missing.exit_code == 1 and "$NOT_SET_ANYWHERE is not set" in missing.output
    with ready.session() as s:
        lc = s.scalars(select(LiveCopy).order_by(LiveCopy.planted_at)).all()
        assert [x.password_env for x in lc] == ["TPV_DB_PASSWORD", ""]
        assert all(x.url == bare for x in lc)
    copy_id = json.loads(out.stdout)["copies"][0]["id"]
    gone = run("unplant", copy_id, "--yes", env={"TPV_DB_PASSWORD": secret})
    assert gone.exit_code == 0, gone.output
    check_live(ready, config)
    printed = out.output + out2.output + dry.output + missing.output + gone.output + caplog.text
    assert secret not in printed
    assert secret.encode() not in Path(config.store_url.removeprefix("sqlite:///")).read_bytes()


def test_a_row_the_database_refuses_is_drawn_again(
    ready: Store, config: Config, live_url: str
) -> None:
    """A CHECK the canary breaks: the row is drawn again with the checked columns of a real row."""
    plan = prepare_plant(ready, config, PlantRequest(live_url, "clientes", "TPV", canaries=3))
    plan.rows[1].values["edad"] = 7  # ck_clientes_edad: BETWEEN 18 AND 99
    copy = plant_live(ready, config, plan)
    assert copy.canaries == 3
    ages = [r[7] for r in table_rows(live_url)[ROWS:]]
    assert len(ages) == 3 and all(18 <= a <= 99 for a in ages)


def test_a_check_no_canary_can_meet_is_a_clear_error(ready: Store, live_url: str) -> None:
    eng = sa.create_engine(live_url)
    with eng.begin() as c:
        c.execute(sa.text("CREATE TABLE cerrados (id INTEGER PRIMARY KEY, correo VARCHAR(80) "
                          "NOT NULL, CHECK (id <= 5))"))  # fmt: skip
        for i in range(1, 6):
            c.execute(
                sa.text("INSERT INTO cerrados VALUES (:i, :c)"), {"i": i, "c": f"p{i}@gmail.com"}
            )
    eng.dispose()
    out = run("plant", live_url, "--table", "cerrados", "--holder", "TPV", "--yes")
    assert out.exit_code == 1
    assert "nothing was written" in out.output and "Traceback" not in out.output
    eng = sa.create_engine(live_url)
    with eng.connect() as c:
        assert c.scalar(sa.text("SELECT count(*) FROM cerrados")) == 5
    eng.dispose()
    with ready.session() as s:
        assert s.scalar(select(sa.func.count()).select_from(Copy)) == 0


def test_drift_check_uses_its_own_account_and_says_when_it_cannot(
    ready: Store, config: Config, live_url: str
) -> None:
    """[live] check_url: the drift check's own (read-only) account; an alteration alerts too;
    a database it cannot read alerts once, not at every run."""
    copy = plant(live_url, "TPV", "--canaries", "2")
    with ready.session() as s:
        victim = int(next(iter(s.scalars(select(LiveRow)))).key["id"])
    eng = sa.create_engine(live_url)
    with eng.begin() as c:
        c.execute(sa.text("UPDATE clientes SET nombre = 'Limpiado' WHERE id = :id"), {"id": victim})
    eng.dispose()
    config.live.check_url = live_url
    alerts = check_live(ready, config)
    assert len(alerts) == 1 and "altered" in alerts[0]["title"]
    assert alerts[0]["facts"]["Altered"] == "1" and alerts[0]["facts"]["Copy"] == copy["id"]

    config.live.check_password_env = "CANARY_TEST_UNSET_READER_PASSWORD"
    down = check_live(ready, config)
    assert len(down) == 1 and "cannot be checked" in down[0]["title"]
    assert "is not set" in down[0]["facts"]["Error"]
    assert check_live(ready, config) == []
    with ready.session() as s:
        assert s.get(LiveCopy, copy["id"]).check_state == "unreachable"


def test_a_key_the_database_does_not_assign_follows_the_tables_own_series(
    ready: Store, live_url: str
) -> None:
    """A folio kept by the application (no identity, no sequence): the canary's is one of the
    table's series that no row holds, and unplant finds it by that key."""
    eng = sa.create_engine(live_url)
    with eng.begin() as c:
        c.execute(sa.text("CREATE TABLE socios (folio VARCHAR(12) PRIMARY KEY, "
                          "nombre VARCHAR(60) NOT NULL, correo VARCHAR(80) NOT NULL)"))  # fmt: skip
        c.execute(
            sa.text("INSERT INTO socios VALUES (:f, :n, :c)"),
            [
                {"f": f"SOC-{i * 7:06d}", "n": f"{GIVEN[i % 10]} {SURNAMES[i % 8]}",
                 "c": f"{plain(GIVEN[i % 10])}{i}@{PROVIDERS[i % 4]}"}
                for i in range(1, 60)
            ],
        )  # fmt: skip
    eng.dispose()
    before = set(table_rows_by(live_url, "socios"))
    out = run("plant", live_url, "--table", "socios", "--holder", "TPV", "--yes", "--json")
    assert out.exit_code == 0, out.output
    copy = json.loads(out.stdout)["copies"][0]
    new = set(table_rows_by(live_url, "socios")) - before
    assert len(new) == 3
    assert all(f.startswith("SOC-") and len(f) == 10 for f, _n, _c in new)
    assert not {f for f, _n, _c in new} & {f for f, _n, _c in before}
    out = run("unplant", copy["id"], "--yes", "--json")
    assert len(json.loads(out.stdout)["removed"]) == 3
    assert set(table_rows_by(live_url, "socios")) == before


def table_rows_by(url: str, table: str) -> list[tuple[Any, ...]]:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            t = sa.Table(table, sa.MetaData(), autoload_with=c)
            return [tuple(r) for r in c.execute(select(t))]
    finally:
        eng.dispose()


def test_a_canary_other_rows_point_at_is_kept(ready: Store, live_url: str) -> None:
    """The system took a canary as a customer (an order points at it): deleting it would
    fail or cascade into the application's own rows, so unplant keeps it and says so."""
    copy = plant(live_url, "TPV", "--canaries", "2")
    with ready.session() as s:
        keys = sorted(int(r.key["id"]) for r in s.scalars(select(LiveRow)))
    eng = sa.create_engine(live_url)
    with eng.begin() as c:
        c.execute(sa.text("CREATE TABLE pedidos (id INTEGER PRIMARY KEY, cliente_id INTEGER NOT "
                          "NULL REFERENCES clientes (id) ON DELETE CASCADE)"))  # fmt: skip
        c.execute(sa.text("INSERT INTO pedidos VALUES (1, :c)"), {"c": keys[0]})
    eng.dispose()
    out = run("unplant", copy["id"], "--yes", "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert len(result["referenced"]) == 1 and len(result["removed"]) == 1
    ids = [r[0] for r in table_rows(live_url)]
    assert keys[0] in ids and keys[1] not in ids
    assert table_rows_by(live_url, "pedidos") == [(1, keys[0])]


def on_a_terminal(args: list[str], answer: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """`python -m canary ARGS` with a terminal on stdin and stdout, answering its prompt."""
    import os
    import pty
    import subprocess
    import sys
    import time

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "canary", *args],
        stdin=follower, stdout=follower, stderr=follower, cwd=cwd, env=env, close_fds=True,
    )  # fmt: skip
    os.close(follower)
    seen, answered = b"", False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(leader, answer.encode() + b"\n")
            answered = True
    os.close(leader)
    return proc.wait(timeout=30), seen.decode(errors="replace")


@pytest.mark.parametrize("answer", ["y", "n"])
def test_on_a_terminal_it_shows_the_statements_and_asks(
    ready: Store, config: Config, tmp_path: Path, answer: str
) -> None:
    import os

    url = f"sqlite:///{tmp_path / 'punto_de_venta.db'}"
    make_tables(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANARY_")}
    env["CANARY_CONFIG"] = str(config.path)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    code, shown = on_a_terminal(
        ["plant", url, "--table", "clientes", "--holder", "TPV", "-n", "2"], answer, tmp_path, env
    )
    assert "INSERT INTO clientes" in shown and "Insert 2 canary rows into clientes" in shown
    rows = len(table_rows(url))
    if answer == "y":
        assert code == 0 and rows == ROWS + 2
    else:
        assert code == 1 and "nothing was written" in shown and rows == ROWS


def test_doctor_says_whether_the_drift_check_can_read_each_live_copy(
    ready: Store, config: Config, live_url: str
) -> None:
    from canary.ops.doctor import run_doctor

    copy = plant(live_url, "TPV", "--canaries", "2")
    [ok] = run_doctor(ready, config, checks=("live",)).findings
    assert (ok.level, ok.check) == ("ok", f"live {copy['id']}") and "2 canary rows" in ok.message
    eng = sa.create_engine(live_url)
    with eng.begin() as c:
        c.execute(sa.text("DELETE FROM clientes WHERE correo LIKE '%@correo-avisos.mx'"))
    eng.dispose()
    [gone] = run_doctor(ready, config, checks=("live",)).findings
    assert gone.level == "warn" and "2 of 2" in gone.message
    config.live.check_url = live_url
    config.live.check_password_env = "CANARY_TEST_UNSET_READER_PASSWORD"
    report = run_doctor(ready, config, checks=("live",))
    assert not report.ok and "is not set" in report.findings[0].message


def test_a_second_phone_column_gets_another_of_the_copys_numbers(
    ready: Store, tmp_path: Path
) -> None:
    # Canaries planted into a table with "telefono_casa" and "celular" had the same number
    # in both, which no customer has.
    url = f"sqlite:///{tmp_path / 'contactos.db'}"
    eng = sa.create_engine(url)
    md = sa.MetaData()
    contactos = sa.Table(
        "contactos",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("nombre", sa.String(40), nullable=False),
        sa.Column("apellido", sa.String(40), nullable=False),
        sa.Column("correo", sa.String(80)),
        sa.Column("telefono_casa", sa.String(20)),
        sa.Column("celular", sa.String(20)),
    )
    rng = random.Random(8)
    with eng.begin() as c:
        md.create_all(c)
        c.execute(
            sa.insert(contactos),
            [
                {
                    "nombre": GIVEN[i % len(GIVEN)],
                    "apellido": SURNAMES[(i * 3) % len(SURNAMES)],
                    "correo": f"{plain(GIVEN[i % len(GIVEN)])}{i}@{PROVIDERS[i % 4]}",
                    "telefono_casa": f"844{rng.randint(1000000, 9999999)}",
                    "celular": f"844{rng.randint(1000000, 9999999)}",
                }
                for i in range(ROWS)
            ],
        )
    eng.dispose()
    out = run("plant", url, "--table", "contactos", "--holder", "Call center", "--yes",
              "--json", "--canaries", "4")  # fmt: skip
    assert out.exit_code == 0, out.output
    new = table_rows(url, "contactos")[ROWS:]
    assert len(new) == 4
    mobiles = {r[5] for r in new}
    homes = [(r[4], r[5]) for r in new if r[4]]
    assert homes
    for home, mobile in homes:
        assert home != mobile and home in mobiles, (home, mobile)
