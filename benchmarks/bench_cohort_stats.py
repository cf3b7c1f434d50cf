"""Time cohort_stats on synthetic cohorts (not a test).

Builds cohorts whose scores lie on the lattice a 12-question-per-category bank produces (category score
= sum of levels / 12), as real submissions do, and times ``cohort_stats`` with the default 10,000
bootstrap resamples and 9,999 permutations (median of ``--repeats`` runs). Prints a table and one JSON line.

    .venv/bin/python benchmarks/bench_cohort_stats.py --sizes 17 100 10000
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np

from medcyber.benchmark.models import EMPLOYEE_BANDS, REGIONS, REVENUE_BANDS, OrgProfile, Submission
from medcyber.benchmark.stats import PERMUTATION_MAX_N, cohort_stats
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[17, 10_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bootstrap", type=int, default=10_000)
    parser.add_argument("--permutations", type=int, default=9_999)
    args = parser.parse_args()

    rows = []
    for n in args.sizes:
        subs = synthetic_cohort(n)
        times = []
        for r in range(args.repeats):
            t0 = time.perf_counter()
            stats = cohort_stats(subs, bootstrap=args.bootstrap, permutations=args.permutations, seed=r)
            times.append(time.perf_counter() - t0)
        rows.append(
            {
                "n": n,
                "median_s": round(statistics.median(times), 4),
                "min_s": round(min(times), 4),
                "max_s": round(max(times), 4),
                "p_values": "permutation" if n <= PERMUTATION_MAX_N else "asymptotic",
                "distinct_composites": len(set(stats.composites)),
            }
        )
    print(f"{'n':>7} {'median s':>9} {'min s':>7} {'max s':>7}  {'p-values':<12} distinct composites")
    for row in rows:
        print(
            f"{row['n']:>7} {row['median_s']:>9.3f} {row['min_s']:>7.3f} {row['max_s']:>7.3f}  "
            f"{row['p_values']:<12} {row['distinct_composites']}"
        )
    print(
        json.dumps(
            {
                "benchmark": "cohort_stats",
                "bootstrap": args.bootstrap,
                "permutations": args.permutations,
                "repeats": args.repeats,
                "python": platform.python_version(),
                "results": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
