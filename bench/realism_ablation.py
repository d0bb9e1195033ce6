# ruff: noqa: E501
"""Which columns, and which kinds of feature, carry what the realism bench's classifier finds.

The bench's classifier adds many weak differences; a single feature's own AUC says little
about what it adds. For one table and seed this pools the copies' features as
bench/realism.py does (its `collect`) and reports, per column:

- `without`: the 5-fold AUC with that column's features removed (its own features, the
  joint features it takes part in, the email's agreement with the names for the email
  column);
- `only`: the AUC with that column's features alone;
- `perm`: the permutation importance of the column, all its features permuted together
  in the test fold of a model trained on every feature (the drop in AUC, averaged over
  folds and repeats);

and then the same permutation importance per feature family (value_freq, mask_freq,
diff_prev, joint...) over all columns, and per single feature (the strongest ten).

Run: python bench/realism_ablation.py --only us_voters [--seed 0] [--copies 24]
     [--by-place] [--no-seq] [--cache /tmp/x.npz]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).parent))

import realism


def owners(fname: str, columns: list[str]) -> set[str]:
    """The columns a pooled feature is computed from."""
    if fname in ("position", "filled_share"):
        return {f"({fname})"}
    if fname.startswith("joint:"):
        a, b = fname[len("joint:") :].split("|", 1)
        a = a.rsplit("/", 1)[0]
        return {c for c in columns if c[:18] in (a, b)}
    head = fname.rsplit(":", 1)[0]
    return {c for c in columns if c[:18] == head}


def family(fname: str) -> str:
    if fname.startswith("joint:"):
        return "joint:" + fname.split("|", 1)[0].rsplit("/", 1)[1]
    return fname.rsplit(":", 1)[-1]


def fit_folds(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int
) -> list[tuple[object, np.ndarray]]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedGroupKFold

    out = []
    folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    for train, test in folds.split(X, y, groups):
        model = HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, class_weight="balanced", random_state=seed
        )
        model.fit(X[train], y[train])
        out.append((model, test))
    return out


def oof_auc(models: list[tuple[object, np.ndarray]], X: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    scores = np.zeros(len(y))
    for model, test in models:
        scores[test] = model.predict_proba(X[test])[:, 1]  # type: ignore[attr-defined]
    return float(roc_auc_score(y, scores))


def permuted_drop(
    models: list[tuple[object, np.ndarray]],
    X: np.ndarray,
    y: np.ndarray,
    cols: list[int],
    base: float,
    rng: np.random.Generator,
    repeats: int = 3,
) -> float:
    drops = []
    for _ in range(repeats):
        Xp = X.copy()
        for _model, test in models:
            perm = rng.permutation(test)
            Xp[np.ix_(test, cols)] = X[np.ix_(perm, cols)]
        drops.append(base - oof_auc(models, Xp, y))
    return float(np.mean(drops))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--copies", type=int, default=24)
    ap.add_argument("--rows", type=int, default=400)
    ap.add_argument(
        "--by-place", action="store_true", help="folds by place (the bench's second figure)"
    )
    ap.add_argument(
        "--no-seq", action="store_true", help="without the numbering column and position"
    )
    ap.add_argument("--cache", help="save the pooled features here, or read them if present")
    ap.add_argument("--no-ablation", action="store_true", help="permutation importance only")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    name = next(n for n in realism.TABLES if args.only in n)
    if args.cache and Path(args.cache).exists():
        z = np.load(args.cache, allow_pickle=True)
        pooled = realism.Pooled(z["X"], z["y"], z["groups"], z["places"], list(z["names"]))
    else:
        pooled = realism.collect(name, args.seed, args.copies, args.rows, False)
        if args.cache:
            np.savez(args.cache, X=pooled.X, y=pooled.y, groups=pooled.groups,
                     places=pooled.places, names=np.array(pooled.names, dtype=object))  # fmt: skip
    X, y, names = pooled.X, pooled.y, pooled.names
    groups = pooled.places if args.by_place else pooled.groups
    if args.no_seq and name in realism.SEQUENCE:
        seq = realism.SEQUENCE[name]
        keep = [j for j, f in enumerate(names) if f != "position" and seq not in owners(f, [seq])]
        X, names = X[:, keep], [names[j] for j in keep]
    header = sorted({c for f in names for c in owners(f, _columns(names))})
    by_col = {c: [j for j, f in enumerate(names) if c in owners(f, header)] for c in header}
    models = fit_folds(X, y, groups, args.seed)
    base = oof_auc(models, X, y)
    print(
        f"{name} seed {args.seed}: AUC {base:.3f} ({int(y.sum())} canaries, {len(y)} rows, {len(names)} features)"
    )
    rng = np.random.default_rng(args.seed)
    print(f"\n{'column':<24} {'feats':>5} {'without':>8} {'only':>6} {'perm':>7}")
    rows = []
    for c, cols in by_col.items():
        perm = permuted_drop(models, X, y, cols, base, rng)
        if args.no_ablation:
            without = only = float("nan")
        else:
            rest = [j for j in range(len(names)) if j not in set(cols)]
            without = realism.cv_auc(X[:, rest], y, groups, args.seed)
            only = realism.cv_auc(X[:, cols], y, groups, args.seed)
        rows.append((c, len(cols), without, only, perm))
    for c, k, without, only, perm in sorted(rows, key=lambda r: -r[4]):
        print(f"{c[:24]:<24} {k:>5} {without:8.3f} {only:6.3f} {perm:+7.3f}")
    fams: dict[str, list[int]] = {}
    for j, f in enumerate(names):
        fams.setdefault(family(f), []).append(j)
    print(f"\n{'family':<24} {'feats':>5} {'perm':>7}")
    fam_rows = [
        (fa, len(cols), permuted_drop(models, X, y, cols, base, rng)) for fa, cols in fams.items()
    ]
    for fa, k, perm in sorted(fam_rows, key=lambda r: -r[2]):
        print(f"{fa[:24]:<24} {k:>5} {perm:+7.3f}")
    single = [(names[j], permuted_drop(models, X, y, [j], base, rng, 2)) for j in range(len(names))]
    print("\nstrongest single features (permutation)")
    for f, perm in sorted(single, key=lambda r: -r[1])[:12]:
        print(f"  {f:<50} {perm:+.3f}")


def _columns(names: list[str]) -> list[str]:
    """The column prefixes the feature names hold (a column's own features name it)."""
    cols = set()
    for f in names:
        if f.startswith("joint:") or f in ("position", "filled_share"):
            continue
        cols.add(f.rsplit(":", 1)[0])
    return [*sorted(cols), "(position)", "(filled_share)"]


if __name__ == "__main__":
    main()
