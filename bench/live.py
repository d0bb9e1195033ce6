"""Planting into a live table: time per `canary plant` and `unplant`, and whether it grows
with the table (it should not: reflection, a bounded sample, a few INSERTs by key).

    python bench/live.py                         # SQLite, 20k and 200k rows, 3 reps
    python bench/live.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test --reps 3

Printed, each a median: a baseline that reads the same sample and inserts the same
number of rows with plain SQL, ours (prepare + insert + register), unplant, and the
ratio of ours on the large table to ours on the small one (target <= 1.5x for 10x
the rows).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import drop_schemas, scratch_schema

from canary.config import Config
from canary.issue.live import PlantRequest, plant_live, prepare_plant, unplant
from canary.store import register
from canary.store.engine import open_store

GIVEN = ["María", "José", "Guadalupe", "Juan", "Ana", "Luis", "Rosa", "Carlos", "Elena", "Jorge"]
SURNAMES = ["López", "Hernández", "García", "Martínez", "Rodríguez", "Pérez", "Sánchez"]
CANARIES = 5


def make(url: str, rows: int) -> str:
    """A `clientes` table of `rows` rows (identity key, FK, CHECK, UNIQUE) in a fresh schema."""
    eng = sa.create_engine(url)
    schema = None
    if eng.dialect.name == "postgresql":
        schema = "bench_" + uuid.uuid4().hex[:8]
        eng.dispose()
        url = scratch_schema(url, schema)
        eng = sa.create_engine(url)
    md = sa.MetaData()
    of = sa.Table(
        "oficinas", md, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False)
    )
    t = sa.Table(
        "clientes",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("oficina_id", sa.Integer, sa.ForeignKey("oficinas.id"), nullable=False),
        sa.Column("nombre", sa.String(40), nullable=False),
        sa.Column("apellido", sa.String(40), nullable=False),
        sa.Column("correo", sa.String(80), nullable=False, unique=True),
        sa.Column("celular", sa.String(20)),
        sa.Column("edad", sa.Integer, nullable=False),
        sa.Column("alta", sa.Date, nullable=False),
        sa.CheckConstraint("edad BETWEEN 18 AND 99"),
    )
    rng = random.Random(1)
    with eng.begin() as c:
        md.create_all(c)
        c.execute(sa.insert(of), [{"id": i} for i in range(1, 21)])
        batch = []
        for i in range(rows):
            g, s = GIVEN[i % 10], SURNAMES[(i * 3) % 7]
            batch.append({
                "oficina_id": 1 + i % 20, "nombre": g, "apellido": s,
                "correo": f"{g.lower()}.{s.lower()}{i}@gmail.com",
                "celular": f"844{rng.randint(1000000, 9999999)}", "edad": rng.randint(18, 90),
                "alta": date(2019, 1, 1) + timedelta(days=rng.randint(0, 1500)),
            })  # fmt: skip
            if len(batch) == 20000:
                c.execute(sa.insert(t), batch)
                batch = []
        if batch:
            c.execute(sa.insert(t), batch)
    eng.dispose()
    return url


def baseline(url: str) -> float:
    """Read 5,000 rows and insert CANARIES copies of real rows (new emails), then delete them."""
    eng = sa.create_engine(url)
    t0 = time.perf_counter()
    with eng.begin() as c:
        t = sa.Table("clientes", sa.MetaData(), autoload_with=c)
        rows = [dict(r._mapping) for r in c.execute(sa.select(t).order_by(t.c.id).limit(5000))]
        for r in rows[:CANARIES]:
            r.pop("id")
            r["correo"] = f"x{uuid.uuid4().hex[:10]}@correo-avisos.mx"
            c.execute(sa.insert(t).values(**r))
    took = time.perf_counter() - t0
    with eng.begin() as c:
        c.execute(sa.text("DELETE FROM clientes WHERE correo LIKE '%@correo-avisos.mx'"))
    eng.dispose()
    return took


def ours(url: str, store_dir: Path) -> tuple[float, float]:
    store = open_store(f"sqlite:///{store_dir / f'{uuid.uuid4().hex}.db'}")
    register.add_domain(store, "correo-avisos.mx")
    for i in range(6):
        register.add_phone(store, f"+52 844 555 {1000 + i:04d}", "twilio")
    t0 = time.perf_counter()
    plan = prepare_plant(store, Config(), PlantRequest(url, "clientes", "bench", canaries=CANARIES))
    copy = plant_live(store, Config(), plan)
    planted = time.perf_counter() - t0
    t1 = time.perf_counter()
    unplant(store, copy.id)
    removed = time.perf_counter() - t1
    store.dispose()
    return planted, removed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="", help="a database to create the tables in (else SQLite)")
    ap.add_argument("--small", type=int, default=20_000)
    ap.add_argument("--large", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
    medians: dict[int, float] = {}
    try:
        run(args, tmp, medians)
    finally:
        drop_schemas()
    growth = medians[args.large] / medians[args.small]
    print(f"plant on {args.large} rows / on {args.small} rows: {growth:.2f}x (target <= 1.5x)")


def run(args: argparse.Namespace, tmp: Path, medians: dict[int, float]) -> None:
    for rows in (args.small, args.large):
        url = make(args.url or f"sqlite:///{tmp / f'pv{rows}.db'}", rows)
        base = statistics.median(baseline(url) for _ in range(args.reps))
        runs = [ours(url, tmp) for _ in range(args.reps)]
        plant_t = statistics.median(r[0] for r in runs)
        unplant_t = statistics.median(r[1] for r in runs)
        medians[rows] = plant_t
        print(f"{rows:>8} rows  baseline {base:6.2f} s  plant {plant_t:6.2f} s "
              f"({plant_t / base:5.1f}x baseline)  unplant {unplant_t:6.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
