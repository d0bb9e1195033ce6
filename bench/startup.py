"""Benchmark: the fixed start-up of `canary issue` and `canary identify`, fresh processes.

Run by hand:  python bench/startup.py [--runs 7] [--baseline DIR] [--no-bytecode]

Each run starts fresh processes of this checkout and, with --baseline, of another
checkout (a git worktree at an older commit: `git worktree add --detach DIR COMMIT`),
alternating which goes first, on the same files and store, and prints medians of:

- bench/plant.py's start-up: imports of what `canary issue` imports, open + sample +
  inference, the canary factory, on a 1,000-row slice (wall and CPU);
- `canary --help`; `canary issue` of the 1,000-row slice to one recipient (the whole
  command: start-up, planting, registering, fsync); `canary identify` of a one-line
  file (start-up, the store's needle index and dataset fingerprints, a tiny scan):
  wall and CPU (user + system) of each process.

The store is made in bench/data/startup/ (SQLite, one domain, 20 numbers) by this
checkout. Python reads each checkout's compiled bytecode when there is some, as an
installed package has; --no-bytecode removes it from both first (then every module of
ours is compiled from source in every process, as with PYTHONDONTWRITEBYTECODE=1 and
no __pycache__). The machine's load is printed with each run: on a shared machine
compare the CPU lines and the ratios.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

print = functools.partial(print, flush=True)

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from plant import STARTUP, generate, slice_rows  # noqa: E402

DATA = ROOT / "data"
WORK = DATA / "startup"


def run(tree: Path, args: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall, CPU of the child, stdout) of `python ARGS` with `tree` on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANARY_")}
    env["PYTHONPATH"] = str(tree)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        raise SystemExit(f"{tree}: {' '.join(args)} failed:\n{out.stderr[-2000:]}")
    cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    return wall, cpu, out.stdout


def bytecode(tree: Path, compiled: bool) -> None:
    for pkg in ("canary", "listeners"):
        for cache in (tree / pkg).rglob("__pycache__"):
            shutil.rmtree(cache)
        if compiled:
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", str(tree / pkg)],
                check=True,
                capture_output=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--baseline", type=Path, help="another checkout to time alongside")
    ap.add_argument("--no-bytecode", action="store_true", help="compile from source each time")
    args = ap.parse_args()
    trees = {"ours": ROOT.parent}
    if args.baseline:
        trees = {"baseline": args.baseline.resolve(), **trees}
    for tree in trees.values():
        bytecode(tree, not args.no_bytecode)
    DATA.mkdir(exist_ok=True)
    src = DATA / "plant-4mb.csv"
    if not src.exists():
        generate(src, 4 << 20)
    small = DATA / "plant-4mb.1000.csv"
    if not small.exists():
        slice_rows(src, small, 1000)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    ours = trees["ours"]
    run(ours, ["-m", "canary", "init"], WORK)
    run(ours, ["-m", "canary", "domain", "add", "canary-mail.mx"], WORK)
    for i in range(20):
        run(ours, ["-m", "canary", "phone", "add", f"+52 844 555 {1000 + i}"], WORK)
    (WORK / "found.csv").write_text("nombre,correo\nAna,ana@example.org\n", encoding="utf-8")

    results: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    loads = []
    for i in range(args.runs):
        loads.append(os.getloadavg()[0])
        order = list(trees.items()) if i % 2 == 0 else list(reversed(trees.items()))
        for name, tree in order:
            got = results[name]
            code = STARTUP.format(root=str(tree), src=str(small))
            _w, _c, out = run(tree, ["-c", code], WORK)
            imp, inf, fac, imp_c, inf_c, fac_c = (float(x) for x in out.split())
            for key, value in (
                ("plant start-up, imports", imp),
                ("plant start-up, open + sample + inference", inf),
                ("plant start-up, factory", fac),
                ("plant start-up, total", imp + inf + fac),
                ("plant start-up, imports CPU", imp_c),
                ("plant start-up, inference CPU", inf_c),
                ("plant start-up, factory CPU", fac_c),
                ("plant start-up, total CPU", imp_c + inf_c + fac_c),
            ):
                got.setdefault(key, []).append(value)
            shutil.rmtree(WORK / "out", ignore_errors=True)
            for label, cmd in (
                ("canary --help", ["--help"]),
                ("canary issue, 1,000 rows", ["issue", str(small), "-r", "A", "-o", "out"]),
                ("canary identify, one line", ["identify", "found.csv"]),
            ):
                wall, cpu, _ = run(tree, ["-m", "canary", *cmd], WORK)
                got.setdefault(f"{label}, wall", []).append(wall)
                got.setdefault(f"{label}, CPU", []).append(cpu)
    mode = "compiled from source" if args.no_bytecode else "bytecode compiled"
    print(
        f"{args.runs} runs each ({mode}), medians; load average {min(loads):.1f}-{max(loads):.1f}"
    )
    names = list(trees)
    print(
        f"{'':46s}" + "".join(f"{n:>10s}" for n in names) + ("   ratio" if len(names) > 1 else "")
    )
    for key in results["ours"]:
        meds = [statistics.median(results[n][key]) for n in names]
        ratio = f"   {meds[-1] / meds[0]:.2f}x" if len(meds) > 1 else ""
        print(f"{key:46s}" + "".join(f"{m:9.3f}s" for m in meds) + ratio)


if __name__ == "__main__":
    main()
