"""identify's start-up against a needle index of N canaries, built without the store.

Building a store of 10 million canaries and then its needle index through
`needles.build` needs about 3 GB of memory per million canaries (a dict of every
needle): more than this machine has at ten million. This script makes the index that
`build` would make for store_scale.py's canaries (an address, a number and a
three-word name each: five needles with the name's word orders) straight from their
values, sorted in one list, and keeps it as `needles.load` keeps it: the meta row in
a SQLite store (empty register, the index's generation the store's) and the mapped
file beside it. Then, in fresh processes, the start-up `identify` pays before it reads
a dump (`load_index` and the automaton), split into reading the index, the rest of
`load_index`, and the engine; with the process's peak RSS.

    python bench/needles_scale.py --canaries 10000000 --dir DIR [--runs 3] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from array import array
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
SPLIT = """
import json, resource, sys, time
from canary.investigate import needles, identify as ident
from canary.store.engine import open_store
store = open_store(sys.argv[1], migrate_schema=False)
marks = {}
real = needles.load
def timed(s):
    t, c = time.perf_counter(), time.process_time()
    r = real(s)
    marks["index"] = (time.perf_counter() - t, time.process_time() - c)
    return r
ident.needle_index.load = timed
t, c = time.perf_counter(), time.process_time()
idx = ident.load_index(store)
w1, c1 = time.perf_counter() - t, time.process_time() - c
t, c = time.perf_counter(), time.process_time()
engine = ident.Scanner(idx).engine
w2, c2 = time.perf_counter() - t, time.process_time() - c
print(json.dumps({
    "index_wall": marks["index"][0], "index_cpu": marks["index"][1],
    "rest_wall": w1 - marks["index"][0], "rest_cpu": c1 - marks["index"][1],
    "engine_wall": w2, "engine_cpu": c2, "wall": w1 + w2, "cpu": c1 + c2,
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "needles": len(idx.needles.keys), "prefixes": len(engine), "anchor": idx.needles.anchor,
    "mapped": idx.needles.file is not None,
}))
"""


def make(url: str, canaries: int) -> None:
    from canary.investigate import needles
    from canary.investigate.scan import prefix_groups, serialized
    from canary.store.engine import open_store
    from canary.text import compact

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from store_scale import email, name, phone  # the same canaries

    store = open_store(url)
    t = time.perf_counter()
    tagged: list[bytes] = []  # needle, NUL, identifier id: sorts as the needles do
    for n in range(canaries):
        base = 3 * n + 1
        tagged.append(b"%s\0%d" % (compact(email(n)).encode(), base))
        tagged.append(b"%s\0%d" % (phone(n)[3:].encode(), base + 1))
        w = tuple(word.encode() for word in name(n).lower().split())
        for k in range(3):
            tagged.append(b"%s\0%d" % (b"".join(w[k:] + w[:k]), base + 2))
    print(f"  {len(tagged):,} needles made in {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    tagged.sort()
    print(f"  sorted in {time.perf_counter() - t:.0f} s", flush=True)
    keys: list[bytes] = []
    starts, ids = array("q", [0]), array("q")
    for item in tagged:
        key, _, ident = item.partition(b"\0")
        keys.append(key)
        ids.append(int(ident))
        starts.append(len(ids))
    del tagged
    t = time.perf_counter()
    anchor = needles.anchor_length(keys)
    prefixes, group = prefix_groups(keys, anchor)
    print(
        f"  anchor {anchor} bytes, {len(prefixes):,} prefixes in {time.perf_counter() - t:.0f} s",
        flush=True,
    )
    t = time.perf_counter()
    automaton = serialized(prefixes)
    print(f"  automaton built in {time.perf_counter() - t:.0f} s", flush=True)
    with store.engine.connect() as conn:
        gen = needles.generation(conn)
    index = needles.NeedleIndex(
        gen,
        needles.Keys.of(keys),
        starts,
        ids,
        {10},
        {"52"},
        max(len(k) for k in keys),
        b"\n".join(prefixes),
        array("q", group),
        automaton,
        anchor,
        os.urandom(16).hex(),
    )
    del keys, prefixes
    t = time.perf_counter()
    sections = needles._sections(index)
    meta = needles._header_meta(index)
    meta["table_sha256"] = (
        __import__("hashlib").sha256(needles.needle_file.digest_table(sections)).hexdigest()
    )
    from sqlalchemy import delete, insert

    from canary.store.models import NeedleIndexPart

    with store.engine.begin() as conn:  # the meta row only: the parts are in the file
        conn.execute(delete(NeedleIndexPart))
        conn.execute(
            insert(NeedleIndexPart),
            {"part": "meta", "seq": 0, "generation": gen, "data": json.dumps(meta).encode()},
        )
    kept = needles._keep_file(store, index, meta)
    size = needles.index_path(store).stat().st_size
    print(
        f"  file {size / 1e9:.2f} GB written in {time.perf_counter() - t:.0f} s "
        f"(mapped: {kept.file is not None})",
        flush=True,
    )
    store.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--canaries", type=int, default=10_000_000)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--reuse", action="store_true")
    a = ap.parse_args()
    where = Path(a.dir)
    where.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{where / 'needles.db'}"
    if not a.reuse:
        t = time.perf_counter()
        make(url, a.canaries)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"index of {a.canaries:,} canaries in {time.perf_counter() - t:.0f} s, {peak:.0f} MB")
    env = {**os.environ, "PYTHONPATH": ROOT}
    for _ in range(a.runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", SPLIT, url], env=env, capture_output=True, text=True, check=True
        )
        wall = time.perf_counter() - t
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
        f = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"  start-up wall {f['wall']:.2f} s, CPU {f['cpu']:.2f} s (index "
            f"{f['index_wall']:.2f}/{f['index_cpu']:.2f}, rest {f['rest_wall']:.2f}/"
            f"{f['rest_cpu']:.2f}, engine {f['engine_wall']:.2f}/{f['engine_cpu']:.2f}); "
            f"peak RSS {f['rss_mb']:.0f} MB; {f['needles']:,} needles, {f['prefixes']:,} "
            f"prefixes of {f['anchor']} bytes, mapped {f['mapped']}; whole process "
            f"{wall:.2f} s, CPU {cpu:.2f} s; load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
