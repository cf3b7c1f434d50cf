"""Time cohort_stats on synthetic cohorts (a plain script, not a test).

Builds cohorts whose scores lie on the lattice a 12-question-per-category bank produces (category score
= sum of levels / 12), as real submissions do, and times the full ``cohort_stats`` -- 10,000 bootstrap
resamples per score and the permutation tests (Kendall tau-b and Spearman, both bands x composite and
four categories) with the requested 9,999 permutations, cut to ``permutation_count(n)`` for large n.
Each figure is the median of ``--repeats`` runs. The split is measured, not estimated: the same call
with only the bootstrap, with only the permutations and with neither; bootstrap part = bootstrap-only
minus neither, permutation part = permutations-only minus neither. Prints a table and one JSON line.

    .venv/bin/python benchmarks/bench_cohort_stats.py --sizes 17 100 1000 10000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

from medcyber.benchmark.models import EMPLOYEE_BANDS, REGIONS, REVENUE_BANDS, OrgProfile, Submission
from medcyber.benchmark.stats import PERMUTATIONS, cohort_stats, permutation_count
from medcyber.maturity.bank import CATEGORY_IDS


def synthetic_cohort(n: int, seed: int = 0, questions: int = 12) -> list[Submission]:
    rng = np.random.default_rng(seed)
    subs = []
    for i in range(n):
        rev = int(rng.integers(0, len(REVENUE_BANDS)))
        emp = int(np.clip(rev + rng.integers(-1, 2), 0, len(EMPLOYEE_BANDS) - 1))
        base = rng.uniform(0.3, 3.0)
        cats = {
            c: int(np.clip(np.rint(base + rng.normal(0, 0.8, questions)), 0, 5).sum()) / questions
            for c in CATEGORY_IDS
        }
        subs.append(
            Submission(
                submission_id=f"bench-{i}",
                period="2026",
                profile=OrgProfile(
                    employees_band=EMPLOYEE_BANDS[emp],
                    revenue_band=REVENUE_BANDS[rev],
                    device_classes=("II",),
                    region=REGIONS[int(rng.integers(0, len(REGIONS)))],
                ),
                composite=sum(cats.values()) / len(cats),
                categories=cats,
                synthetic=True,
            )
        )
    return subs


def _median_time(subs: list[Submission], repeats: int, bootstrap: int, permutations: int) -> float:
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        cohort_stats(subs, bootstrap=bootstrap, permutations=permutations, seed=r)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[17, 100, 1_000, 10_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bootstrap", type=int, default=10_000)
    parser.add_argument("--permutations", type=int, default=PERMUTATIONS)
    parser.add_argument(
        "--limit", type=float, default=2.0, help="seconds allowed for the full run at n=10,000"
    )
    args = parser.parse_args()

    rows = []
    for n in args.sizes:
        subs = synthetic_cohort(n)
        cohort_stats(subs, bootstrap=10, permutations=9)  # warm-up (imports, caches)
        full = _median_time(subs, args.repeats, args.bootstrap, args.permutations)
        boot_only = _median_time(subs, args.repeats, args.bootstrap, 0)
        perm_only = _median_time(subs, args.repeats, 0, args.permutations)
        neither = _median_time(subs, args.repeats, 0, 0)
        stats = cohort_stats(subs, bootstrap=0, permutations=9)
        rows.append(
            {
                "n": n,
                "full_median_s": round(full, 4),
                "bootstrap_s": round(boot_only - neither, 4),
                "permutation_s": round(perm_only - neither, 4),
                "rest_s": round(neither, 4),
                "permutations_used": permutation_count(n, args.permutations),
                "distinct_composites": len(set(stats.composites)),
            }
        )
    print(
        f"{'n':>7} {'full s':>8} {'bootstrap s':>12} {'permut. s':>10} {'rest s':>7} "
        f"{'perms used':>10} {'distinct comp.':>15}"
    )
    for row in rows:
        print(
            f"{row['n']:>7} {row['full_median_s']:>8.3f} {row['bootstrap_s']:>12.3f} "
            f"{row['permutation_s']:>10.3f} {row['rest_s']:>7.3f} {row['permutations_used']:>10} "
            f"{row['distinct_composites']:>15}"
        )
    at_10k = [r["full_median_s"] for r in rows if r["n"] == 10_000]
    print(
        json.dumps(
            {
                "benchmark": "cohort_stats",
                "bootstrap": args.bootstrap,
                "permutations_requested": args.permutations,
                "repeats": args.repeats,
                "python": platform.python_version(),
                "numpy": np.__version__,
                "cpus": os.cpu_count(),
                "limit_s_at_10000": args.limit,
                "within_limit_at_10000": (at_10k[0] < args.limit) if at_10k else None,
                "results": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
