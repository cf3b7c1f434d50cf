"""Time the lifecycle analysis (a plain script, not a test).

Measures: loading the shipped endoflife.date catalogue (uncached read of the file; then building the
matcher indexes), ``analyse`` on the keycloak 10.0.2 CycloneDX example (903 components, read with
``read_sbom`` outside the timing) and on a synthetic 50,000-component SBOM in which every component is
distinct: ~10% carry a purl, CPE or name of a catalogue product with a random version of one of its
cycles, the rest are unmatched npm/maven/pypi packages (so the per-call match cache cannot help).
Each figure is the median of ``--repeats`` runs. Prints a table and one JSON line.

    .venv/bin/python benchmarks/bench_lifecycle.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medcyber.lifecycle.analysis import analyse
from medcyber.lifecycle.catalog import DEFAULT_PATH, Catalog
from medcyber.lifecycle.match import Matcher, clear_cache
from medcyber.sbom.model import Component, DocumentInfo, Sbom
from medcyber.sbom.support import declared_support

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
KEYCLOAK = SHARED / "sbom" / "cyclonedx-examples" / "keycloak-10.0.2" / "bom.json"
AS_OF = dt.date(2025, 7, 23)


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def synthetic_sbom(catalog: Catalog, n: int, seed: int = 0) -> Sbom:
    rng = random.Random(seed)
    products = [p for p in catalog.products.values() if p.releases]
    comps: list[Component] = []
    for i in range(n):
        if rng.random() < 0.10:
            p = rng.choice(products)
            cycle = rng.choice(p.releases).cycle
            version = f"{cycle}.{rng.randint(0, 30)}"
            kind = rng.random()
            if kind < 0.5 and p.purls:
                purl = p.purls[0].split("?")[0] + f"@{version}"
                comps.append(Component(ref=f"c{i}", name=p.id, version=version, purl=purl))
            elif kind < 0.8 and p.cpes:
                comps.append(Component(ref=f"c{i}", name=p.id, version=version, cpes=(p.cpes[0],)))
            else:
                comps.append(Component(ref=f"c{i}", name=p.title, version=version))
        else:
            eco = rng.choice(("npm", "maven", "pypi"))
            name = f"pkg-{i}-{rng.randint(0, 10**6)}"
            version = f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 50)}"
            purl = (
                f"pkg:maven/org.example.g{i % 500}/{name}@{version}"
                if eco == "maven"
                else (f"pkg:{eco}/{name}@{version}")
            )
            support = declared_support("Actively maintained", "2030-12-31") if i % 7 == 0 else None
            comps.append(Component(ref=f"c{i}", name=name, version=version, purl=purl, support=support))
    return Sbom(
        document=DocumentInfo(format="cyclonedx", spec_version="1.6", encoding="json"), components=comps
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--size", type=int, default=50_000)
    args = ap.parse_args()

    load = median_time(lambda: Catalog.load(DEFAULT_PATH), args.repeats)
    catalog = Catalog.load()
    index = median_time(lambda: Matcher(catalog), args.repeats)
    clear_cache()
    first = median_time(
        lambda: (
            clear_cache(),
            analyse(Sbom(document=DocumentInfo("cyclonedx", "1.6", "json")), as_of=AS_OF),
        ),
        1,
    )

    from medcyber.sbom.reader import read_sbom

    keycloak = read_sbom(KEYCLOAK).sbom
    assert keycloak is not None
    analyse(keycloak, as_of=AS_OF)  # warm: indexes built
    kc = median_time(lambda: analyse(keycloak, as_of=AS_OF), args.repeats)
    kc_report = analyse(keycloak, as_of=AS_OF)

    big = synthetic_sbom(catalog, args.size)
    big_t = median_time(lambda: analyse(big, as_of=AS_OF), max(1, args.repeats // 2))
    big_report = analyse(big, as_of=AS_OF)

    rows = [
        ("catalogue load (file, uncached)", load, f"{len(catalog)} products"),
        ("matcher indexes", index, ""),
        ("first analyse (load cached + index)", first, "empty SBOM"),
        (
            "analyse keycloak 10.0.2",
            kc,
            f"{len(keycloak.components)} components, {kc_report.counts['matched']} matched",
        ),
        (
            f"analyse synthetic {args.size:,}",
            big_t,
            f"{big_report.counts['matched']} matched, {big_report.counts['end-of-support']} legacy",
        ),
    ]
    for label, seconds, note in rows:
        print(f"{label:<40} {seconds * 1000:9.1f} ms   {note}")
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "catalog_load_s": round(load, 4),
                "index_s": round(index, 4),
                "keycloak_s": round(kc, 4),
                "synthetic_size": args.size,
                "synthetic_s": round(big_t, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
