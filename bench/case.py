"""Evidence bundle and chain verification: time against a bare baseline, same run.

    python bench/case.py [HITS]

- bundle: `canary.evidence.bundle.write_bundle` for one copy with HITS mail hits, against a
  bare zip of the same raw messages (the floor: bytes in, deflate, bytes out); and
  `verify_bundle` on it, against reading the bare zip back.
- verify: `canary.store.chain.verify_chain` over every link, against hashing each hit's
  record once with no chain and no row re-derivation.
Prints the median of 5 runs of each and the ratio.
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from canary.evidence import bundle as bundles
from canary.evidence.signing import Signer
from canary.evidence.verify import verify_bundle
from canary.hits.record import Observation, record
from canary.store import chain
from canary.store.engine import open_store
from canary.store.models import Blob, Hit
from tests.case_support import RAW_MAIL, make_copy


def median_time(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as d:
        store = open_store(f"sqlite:///{d}/canary.db")
        copy_id = make_copy(store, "Bench", ["bench@canary.example"])
        for start in range(0, n, 200):
            record(
                store,
                [
                    Observation(
                        channel="smtp",
                        identifier="bench@canary.example",
                        sender="x@y.example",
                        summary=f"msg {i}",
                        provider="smtp",
                        provider_message_id=f"b{i}",
                        evidence=RAW_MAIL + f"\r\n{i}".encode() + b"x" * 2000,
                        evidence_type="message/rfc822",
                    )
                    for i in range(start, min(n, start + 200))
                ],
            )
        out = Path(d) / "case.zip"

        def bare_zip() -> None:
            with (
                store.session() as s,
                zipfile.ZipFile(Path(d) / "bare.zip", "w", zipfile.ZIP_DEFLATED) as zf,
            ):
                for i, blob in enumerate(s.scalars(select(Blob))):
                    zf.writestr(f"{i}.eml", blob.data)

        signer = Signer.generate()

        def bundle() -> None:
            bundles.write_bundle(store, copy_id, out, signer, lang="en")

        def bare_read() -> None:
            with zipfile.ZipFile(Path(d) / "bare.zip") as zf:
                for name in zf.namelist():
                    hashlib.sha256(zf.read(name))

        def check_bundle() -> None:
            assert verify_bundle(out, signer.public).ok

        def bare_hash() -> None:
            with store.session() as s:
                for h in s.scalars(select(Hit).options(selectinload(Hit.candidates))):
                    hashlib.sha256(chain.canonical(chain.hit_record(h))).hexdigest()

        def verify() -> None:
            with store.session() as s:
                assert chain.verify_chain(s) is None

        b0, b1 = median_time(bare_zip), median_time(bundle)
        c0, c1 = median_time(bare_read), median_time(check_bundle)
        v0, v1 = median_time(bare_hash), median_time(verify)
        print(f"hits: {n}")
        print(f"bundle: bare zip {b0:.3f}s, write_bundle {b1:.3f}s, ratio {b1 / b0:.1f}x")
        print(f"check: bare read {c0:.3f}s, verify_bundle {c1:.3f}s, ratio {c1 / c0:.1f}x")
        print(
            f"verify: bare hashing {v0:.3f}s, verify_chain {v1:.3f}s, ratio {v1 / v0:.1f}x "
            f"({n / v1:.0f} links/s)"
        )
        store.dispose()


if __name__ == "__main__":
    main()
