"""Time the version-ordering rules (a plain script, not a test).

For each ecosystem: ``sort_key`` throughput on distinct versions with an empty cache (parsing cost), the
same with a warm cache (what a matcher pays for repeated versions), ``compare`` throughput on random pairs
(warm), and plain key-tuple comparisons (what the matcher does once range bounds are pre-computed).
PyPI versions are the ~13,000 distinct versions of the PyPA advisory database; the other ecosystems use
seeded, realistic synthetic versions. Each figure is the median of ``--repeats`` runs. Prints a table and
one JSON line.

    .venv/bin/python benchmarks/bench_versions.py
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from medcyber.vulns import versions
from medcyber.vulns.versions import InvalidVersion, compare, sort_key

PYPA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "osv" / "pypi" / "vulns"


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def pypa_versions() -> list[str]:
    found: set[str] = set()
    for path in sorted(PYPA.glob("*/*.yaml")):
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
        for affected in record.get("affected") or []:
            found.update(str(v) for v in affected.get("versions") or [])
            for rng in affected.get("ranges") or []:
                if rng.get("type") != "GIT":
                    for event in rng.get("events") or []:
                        found.update(str(v) for v in event.values())
    return sorted(found)


def synthetic(eco: str, n: int, rng: random.Random) -> list[str]:
    def nums(k: int) -> str:
        return ".".join(str(rng.randint(0, 30)) for _ in range(k))

    out: set[str] = set()
    while len(out) < n:
        if eco in ("npm", "crates.io"):
            v = nums(3) + rng.choice(["", "", "", "-alpha.1", "-beta.2", "-rc.1", "-0.3.7", "-x.7.z.92"])
        elif eco == "Go":
            v = (
                "v"
                + nums(3)
                + rng.choice(["", "", "+incompatible", f"-0.2021{rng.randint(10**7, 10**8)}-abcdef123456"])
            )
        elif eco == "NuGet":
            v = nums(rng.randint(2, 4)) + rng.choice(["", "", "-preview.1", "-Beta2", "-rc.1"])
        elif eco == "RubyGems":
            v = nums(rng.randint(2, 4)) + rng.choice(["", "", ".rc1", ".beta.2", ".pre"])
        elif eco == "Packagist":
            v = (
                "v" * rng.randint(0, 1)
                + nums(rng.randint(2, 4))
                + rng.choice(["", "", "-RC1", "-beta2", "-dev"])
            )
        elif eco == "Maven":
            v = nums(rng.randint(2, 4)) + rng.choice(
                ["", "", ".Final", "-SNAPSHOT", "-M2", "-RC1", "-redhat-00001"]
            )
        elif eco == "Debian":
            v = rng.choice(["", "", "1:"]) + nums(3) + rng.choice(["", "~rc1", "+dfsg"])
            v += f"-{rng.randint(1, 9)}"
            v += rng.choice(["", "+deb11u1", "ubuntu0.20.04.1", "~bpo11+1"])
        elif eco == "RPM":
            v = f"{rng.choice(['', '0:', '1:'])}{nums(3)}-{rng.randint(1, 400)}.el{rng.randint(7, 9)}"
            v += rng.choice(["", "_4", "_5.1"])
        elif eco == "Alpine":
            v = nums(3) + rng.choice(["", "", "_rc1", "_p2", "_git20230101"]) + f"-r{rng.randint(0, 12)}"
        else:
            raise ValueError(eco)
        out.add(v)
    return sorted(out)


ECOSYSTEMS = [
    "PyPI",
    "npm",
    "crates.io",
    "Go",
    "NuGet",
    "RubyGems",
    "Packagist",
    "Maven",
    "Debian",
    "RPM",
    "Alpine",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000, help="distinct synthetic versions per ecosystem")
    ap.add_argument("--pairs", type=int, default=200_000, help="random pairs for compare timings")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(0)

    rows: list[dict[str, Any]] = []
    for eco in ECOSYSTEMS:
        sample = pypa_versions() if eco == "PyPI" and PYPA.is_dir() else synthetic(eco, args.n, rng)
        valid = []
        for v in sample:
            try:
                sort_key(eco, v)
                valid.append(v)
            except InvalidVersion:
                pass

        def cold(vs: list[str] = valid, e: str = eco) -> None:
            versions._cached_key.cache_clear()
            for v in vs:
                sort_key(e, v)

        def warm(vs: list[str] = valid, e: str = eco) -> None:
            for v in vs:
                sort_key(e, v)

        t_cold = median_time(cold, args.repeats)
        cold()  # fill the cache for the warm runs
        t_warm = median_time(warm, args.repeats)
        pairs = [(rng.choice(valid), rng.choice(valid)) for _ in range(args.pairs)]

        def cmp_pairs(ps: list[tuple[str, str]] = pairs, e: str = eco) -> None:
            for a, b in ps:
                compare(e, a, b)

        t_cmp = median_time(cmp_pairs, args.repeats)
        keyed = [(sort_key(eco, a), sort_key(eco, b)) for a, b in pairs]

        def cmp_keys(ks: list[tuple[Any, Any]] = keyed) -> None:
            for ka, kb in ks:
                _ = ka < kb

        t_keys = median_time(cmp_keys, args.repeats)
        rows.append(
            {
                "ecosystem": eco,
                "versions": len(valid),
                "sort_key_cold_per_s": round(len(valid) / t_cold),
                "sort_key_warm_per_s": round(len(valid) / t_warm),
                "compare_warm_per_s": round(len(pairs) / t_cmp),
                "key_lt_per_s": round(len(keyed) / t_keys),
            }
        )

    header = f"{'ecosystem':<11} {'versions':>8} {'sort_key cold/s':>16} {'sort_key warm/s':>16} "
    header += f"{'compare/s':>12} {'key < key/s':>12}"
    print(header)
    for r in rows:
        print(
            f"{r['ecosystem']:<11} {r['versions']:>8} {r['sort_key_cold_per_s']:>16,} "
            f"{r['sort_key_warm_per_s']:>16,} {r['compare_warm_per_s']:>12,} {r['key_lt_per_s']:>12,}"
        )
    print(json.dumps({"bench": "versions", "python": platform.python_version(), "results": rows}))


if __name__ == "__main__":
    main()
