"""`trace` and `copies` on a store built by store_scale.py, this tree against a baseline
tree (run by hand), interleaved: each round runs one process per tree, in alternating
order, on the same store and the same values.

    python bench/trace_copies.py --url sqlite:////DIR/scale.db --baseline /path/to/old/tree
        [--rounds 4] [--repeat 25] [--copies-repeat 2]

Each process traces `repeat` random canaries of the store three ways (the address, the
number in national form, the name in upper case: store_scale.py's values) and lists
every copy (`list_copies`), timing each call's wall and CPU time in process (not
counting the process's start). Printed: p50/p99 of wall and CPU per call and tree, the
ratios new/old, and whether both trees returned the same documents (a SHA-256 of the
JSON of every document, per round).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
HERE = BENCH.parent


def child(url: str, seed: int, repeat: int, copies_repeat: int) -> None:
    """One tree's timings, as JSON on stdout: {call: [[wall ms, cpu ms], ...], digest}."""
    from sqlalchemy import func, select

    sys.path.insert(0, str(BENCH))
    from store_scale import email, name, phone  # type: ignore[import-not-found]

    from canary.investigate.queries import list_copies
    from canary.investigate.trace import trace
    from canary.store.engine import open_store
    from canary.store.models import Canary

    store = open_store(url)
    with store.session() as s:
        canaries = int(s.scalar(select(func.max(Canary.id))) or 0)
    rng = random.Random(seed)
    values = {
        "trace address": email,
        "trace number, national form": lambda n: (lambda p: f"{p[3:6]} {p[6:9]} {p[9:]}")(phone(n)),
        "trace name (upper case)": lambda n: name(n).upper(),
    }
    digest = hashlib.sha256()
    out: dict[str, Any] = {k: [] for k in values}
    for make in values.values():  # warm up: imports, caches, the first connection
        trace(store, make(rng.randrange(canaries)))
    for _ in range(repeat):
        for kind, make in values.items():
            v = make(rng.randrange(canaries))
            t, c = time.perf_counter(), time.process_time()
            doc = trace(store, v)
            out[kind].append(((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000))
            digest.update(json.dumps(doc, sort_keys=False).encode())
    out["copies (list_copies)"] = []
    for i in range(copies_repeat):
        t, c = time.perf_counter(), time.process_time()
        doc = list_copies(store)
        out["copies (list_copies)"].append(
            ((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)
        )
        if i == 0:
            digest.update(json.dumps(doc, sort_keys=False).encode())
        del doc
    out["digest"] = digest.hexdigest()
    store.dispose()
    print(json.dumps(out))


def run(tree: Path, url: str, seed: int, repeat: int, copies_repeat: int) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    args = [sys.executable, __file__, "--child", "--url", url, "--seed", str(seed)]
    args += ["--repeat", str(repeat), "--copies-repeat", str(copies_repeat)]
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{tree}: {done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--baseline", help="a worktree of the old commit (required)")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=25)
    ap.add_argument("--copies-repeat", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", action="store_true")
    a = ap.parse_args()
    if a.child:
        child(a.url, a.seed, a.repeat, a.copies_repeat)
        return
    if not a.baseline:
        ap.error("--baseline is required")
    trees = {"old": Path(a.baseline).resolve(), "new": HERE}
    got: dict[str, dict[str, list[tuple[float, float]]]] = {"old": {}, "new": {}}
    same = True
    for r in range(a.rounds):
        order = ["old", "new"] if r % 2 == 0 else ["new", "old"]
        digests = {}
        for which in order:
            res = run(trees[which], a.url, 1000 + r, a.repeat, a.copies_repeat)
            digests[which] = res.pop("digest")
            for call, pairs in res.items():
                got[which].setdefault(call, []).extend((w, c) for w, c in pairs)
        same = same and digests["old"] == digests["new"]
        print(
            f"  round {r + 1}: load {os.getloadavg()[0]:.1f}; same documents: "
            f"{digests['old'] == digests['new']}",
            flush=True,
        )
    print(
        f"{a.url.split('@')[-1]}: {a.rounds} rounds, load {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores; documents identical old/new: {same}"
    )
    print(
        f"  {'call':30} {'old wall p50/p99':>18} {'new wall p50/p99':>18} "
        f"{'old cpu p50/p99':>17} {'new cpu p50/p99':>17}  cpu p50 new/old"
    )
    for call in got["old"]:
        o, n = got["old"][call], got["new"][call]
        ow, oc = [w for w, _ in o], [c for _, c in o]
        nw, nc = [w for w, _ in n], [c for _, c in n]
        ratio = statistics.median(nc) / max(statistics.median(oc), 1e-9)
        print(
            f"  {call:30} {statistics.median(ow):8.1f}/{pct(ow, 0.99):7.1f} ms "
            f"{statistics.median(nw):8.1f}/{pct(nw, 0.99):7.1f} ms "
            f"{statistics.median(oc):7.1f}/{pct(oc, 0.99):7.1f} ms "
            f"{statistics.median(nc):7.1f}/{pct(nc, 0.99):7.1f} ms  {ratio:5.2f}x (n={len(n)})"
        )


if __name__ == "__main__":
    main()
