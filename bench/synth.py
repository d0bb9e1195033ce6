"""Synthesis speed: schema inference and canary rows, against plain Faker in the same run.

Baseline: Faker making a bare name + email + phone (what a naive generator would do).
Ours: infer the schema of a demo dataset (scaled to 20,000 rows, the sample size
planting reads), then personas and rows that fit it.
Run: python bench/synth.py
"""

from __future__ import annotations

import csv
import io
import random
import statistics
import time

from faker import Faker

from canary.formats import Sample
from canary.synth.canaries import CanaryFactory
from canary.synth.infer import infer_schema
from canary.synth.profiles import demo_dataset

N = 500
REPEATS = 5


def load(name: str, scale: int) -> Sample:
    raw = demo_dataset(name).read_bytes()
    text = raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else raw.decode("cp1252")
    rows = list(csv.reader(io.StringIO(text)))
    body = (rows[1:] * scale)[:20000]
    return Sample(rows[0], body, True, len(body))


def timed(fn: object) -> float:
    t = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t


def main() -> None:
    fake = Faker("es_MX")
    fake.seed_instance(1)

    def baseline() -> None:
        for _ in range(N):
            _ = (fake.name(), fake.email(), fake.phone_number())

    for name, phone in (("candidatas.csv", "+528445551234"), ("clientes.csv", "+50683124455")):
        sample = load(name, 12)
        infer_t = [timed(lambda s=sample: infer_schema(s)) for _ in range(REPEATS)]
        schema = infer_schema(sample)
        factory = CanaryFactory(
            schema, sample, domains=["a.example.mx", "b.example.com"], rng=random.Random(1)
        )

        def ours(f: CanaryFactory = factory, ph: str = phone) -> None:
            for _ in range(N):
                f.make_row(f.persona(), phone=ph)

        base_t = [timed(baseline) for _ in range(REPEATS)]
        ours_t = [timed(ours) for _ in range(REPEATS)]
        b, o = statistics.median(base_t), statistics.median(ours_t)
        infer_s = statistics.median(infer_t)
        print(
            f"{name}: infer_schema on {len(sample.rows)} rows median {infer_s:.2f} s; "
            f"{N} canaries: ours {o * 1000 / N:.2f} ms each, "
            f"bare Faker {b * 1000 / N:.2f} ms each, ratio {o / b:.1f}x "
            f"(spread ours {min(ours_t):.2f}-{max(ours_t):.2f} s)"
        )


if __name__ == "__main__":
    main()
