"""Monitoring at fleet scale: "which device versions does this advisory affect" from the store, and the
cost of a real full run and of an incremental run after one changed advisory.

Part 1 (query, the issue's size): a store with the real PyPA + NVD advisories and a synthetic fleet of
6,000 device versions x 300 components drawn (seeded) from real package names and versions (the pool of
bench_fleet.py). The fleet is matched in memory with the real matcher (``match_components``: every group of
every component, aliases merged) and the findings are written straight into ``version_findings`` and
``version_finding_ids`` in bulk (matching and storing 1.8 M components through ``run_full`` is what part 2
measures on a smaller fleet). Then ``monitoring.affected`` is timed for the most widespread vulnerability
(by its preferred id and by an alias), a median one, and an id no finding carries.

Part 2 (runs): 200 device versions x 300 components imported as real CycloneDX SBOMs, then
``run_full``; one real advisory of a package of the fleet re-imported with a later ``modified`` and its fix
moved, then ``run_incremental``; then ``monitor`` with nothing changed.

    .venv/bin/python benchmarks/bench_affected.py [--db sqlite|postgresql] [--versions 6000] [--runs 200]

PostgreSQL: MEDCYBER_TEST_DATABASE_URL (a private schema is created and dropped).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_fleet import component_pool  # noqa: E402
from bench_scan import SHARED  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from medcyber.config import normalise_url  # noqa: E402
from medcyber.sbom.model import Component  # noqa: E402
from medcyber.services import monitoring, products, vulndb  # noqa: E402
from medcyber.services.products import _bulk_insert  # noqa: E402
from medcyber.store import Store  # noqa: E402
from medcyber.store.models import (  # noqa: E402
    Organisation,
    Product,
    ProductVersion,
    VersionFindingIdRow,
    VersionFindingRow,
)
from medcyber.vulns.matcher import load_index, match_components  # noqa: E402
from medcyber.vulns.versions import sort_key  # noqa: E402

PYPA = SHARED / "osv" / "pypi" / "vulns"
NVD = SHARED / "nvd" / "cves"


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        return
    base = normalise_url(
        os.environ.get("MEDCYBER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _fleet(
    pool: list[tuple[str, str, str]], devices: int, per_device: int, seed: int = 0
) -> Iterator[list[Component]]:
    """Each device: ``per_device`` distinct packages of the pool, one version each -- the newest version
    the pool knows (usually a fixed one) nine times in ten, any known version otherwise."""
    by_name: dict[str, list[tuple[str, str, str]]] = {}
    for item in pool:
        by_name.setdefault(item[0].lower(), []).append(item)
    names = sorted(by_name)
    newest = {}
    for n in names:
        try:
            newest[n] = max(
                by_name[n], key=lambda it: sort_key("PyPI", it[1]) if it[2].startswith("pkg:pypi/") else ()
            )
        except (TypeError, ValueError):
            newest[n] = by_name[n][-1]
    for d in range(devices):
        rng = random.Random(seed + d)
        picks = [
            newest[n] if rng.random() < 0.9 else rng.choice(by_name[n]) for n in rng.sample(names, per_device)
        ]
        yield [Component(ref=f"c{i}", name=n, version=v, purl=p) for i, (n, v, p) in enumerate(picks)]


def _timed(fn: Any, repeats: int = 30) -> tuple[float, float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, max(times) * 1000, out


def query_benchmark(
    url: str, pool: list[tuple[str, str, str]], devices: int, per_device: int
) -> dict[str, Any]:
    store = Store(url)
    store.upgrade()
    t = time.perf_counter()
    with store.session() as s:
        vulndb.import_osv(s, [PYPA])
        vulndb.import_nvd(s, [NVD])
    import_s = time.perf_counter() - t
    with store.session() as s:
        index = load_index(s, use_disk_cache=False)
        org = Organisation(name="Bench", benchmark_id=uuid.uuid4().hex)
        s.add(org)
        s.flush()
        prods = [Product(organisation_id=org.id, name=f"Device {p}") for p in range(60)]
        s.add_all(prods)
        s.flush()
        _bulk_insert(
            s,
            ProductVersion,
            ("id", "product_id", "version"),
            [(d + 1, prods[d % 60].id, f"{d // 60}.0") for d in range(devices)],
        )
    t = time.perf_counter()
    findings: list[tuple[Any, ...]] = []
    ids: list[tuple[str, int]] = []
    spread: dict[int, int] = {}
    for d, comps in enumerate(_fleet(pool, devices, per_device)):
        ms = match_components(index, comps)
        for cm in ms.matches:
            for g in dict.fromkeys([*cm.osv, *cm.cpe]):
                grp = index.groups[g]
                sev = index.severity(g)
                fid = len(findings) + 1
                findings.append(
                    (
                        fid,
                        d + 1,
                        cm.component.ref,
                        cm.component.name,
                        cm.version,
                        cm.component.purl,
                        grp.id,
                        sev.level,
                        sev.score,
                        False,
                        "affected",
                        "bench",
                        None,
                        1,
                        1,
                        1,
                        time_now,
                    )
                )
                ids.extend((v, fid) for v in dict.fromkeys((grp.id, *grp.aliases)))
                spread[g] = spread.get(g, 0) + 1
    match_s = time.perf_counter() - t
    cols = (
        "id",
        "product_version_id",
        "component_ref",
        "component_name",
        "component_version",
        "purl",
        "vuln_id",
        "severity",
        "score",
        "kev",
        "status",
        "evidence",
        "fixed",
        "first_run_id",
        "last_run_id",
        "opened_run_id",
        "first_seen_at",
    )
    t = time.perf_counter()
    with store.session() as s:
        s.execute(
            text(
                "INSERT INTO match_runs (id, started_at, generation, trigger, advisories_considered, "
                "versions_matched, new_findings, resolved_findings) VALUES (1, :now, 0, 'full', 0, 0, 0, 0)"
            ),
            {"now": time_now},
        )
        _bulk_insert(s, VersionFindingRow, cols, findings)
        _bulk_insert(s, VersionFindingIdRow, ("vuln_id", "finding_id"), ids)
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("ANALYZE version_findings"))
            s.execute(text("ANALYZE version_finding_ids"))
    store_s = time.perf_counter() - t
    ranked = sorted(spread.items(), key=lambda kv: -kv[1])
    top_g, top_n = ranked[0]
    mid_g, mid_n = ranked[len(ranked) // 2]
    top = index.groups[top_g]
    alias = next(
        (a for a in top.aliases if not a.startswith("CVE-")), top.aliases[0] if top.aliases else top.id
    )
    out: dict[str, Any] = {
        "devices": devices,
        "components_per_device": per_device,
        "advisories": len(index.advisories),
        "import_s": round(import_s, 2),
        "match_in_memory_s": round(match_s, 2),
        "bulk_store_s": round(store_s, 2),
        "findings": len(findings),
        "finding_ids": len(ids),
        "queries": {},
    }
    del findings, ids  # the query runs in a process that does not hold the whole fleet in lists
    gc.collect()
    with store.session() as s:
        for label, vid, expected in (
            (f"widest {top.id}", top.id, top_n),
            (f"widest by alias {alias}", alias, top_n),
            (f"median {index.groups[mid_g].id}", index.groups[mid_g].id, mid_n),
            ("absent CVE-1999-0001", "CVE-1999-0001", 0),
        ):
            med, worst, rows = _timed(lambda vid=vid: monitoring.affected(s, vid))
            assert len(rows) == expected, (label, len(rows), expected)
            versions = len({r.product_version_id for r in rows})
            out["queries"][label] = {
                "rows": len(rows),
                "versions": versions,
                "median_ms": round(med, 2),
                "max_ms": round(worst, 2),
            }
    store.dispose()
    return out


def run_benchmark(
    url: str, pool: list[tuple[str, str, str]], devices: int, per_device: int, home: Path
) -> dict[str, Any]:
    os.environ["MEDCYBER_HOME"] = str(home)
    store = Store(url)
    store.upgrade()
    with store.session() as s:
        vulndb.import_osv(s, [PYPA])
        vulndb.import_nvd(s, [NVD])
    t = time.perf_counter()
    with store.session() as s:
        for d, comps in enumerate(_fleet(pool, devices, per_device, seed=10_000)):
            doc = {
                "bomFormat": "CycloneDX",
                "specVersion": "1.5",
                "version": 1,
                "metadata": {
                    "component": {"type": "device", "name": f"Device {d % 20}", "bom-ref": "device"}
                },
                "components": [
                    {
                        "type": "library",
                        "bom-ref": c.ref,
                        "name": c.name,
                        "version": c.version,
                        "purl": c.purl,
                    }
                    for c in comps
                ],
            }
            products.import_sbom(
                s, f"Device {d % 20}", f"{d // 20}.0", json.dumps(doc).encode(), name=f"{d}.json"
            )
    sbom_s = time.perf_counter() - t
    with store.session() as s:
        load_index(s)  # build (and pickle) the index outside the timed run, as a warm process would
    t = time.perf_counter()
    with store.session() as s:
        full = monitoring.run_full(s)
    full_s = time.perf_counter() - t
    # one real advisory about a package of the fleet, re-published with its first fix moved up
    with store.session() as s:
        counts: dict[str, int] = {}
        for f in monitoring.new_findings(s, run_id=full.run_id):
            counts[f.vuln_id] = counts.get(f.vuln_id, 0) + 1
        target = max(counts, key=lambda k: counts[k])
        adv = next(a for a in vulndb.advisories_by_ids(s, [target]) if a.source == "osv" and a.affected)
    import yaml

    path = home / "changed" / f"{adv.id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    src = PYPA / next(p.relative_to(PYPA) for p in PYPA.rglob(f"{adv.id}.yaml"))
    data = yaml.safe_load(src.read_text())
    data["modified"] = "2031-01-01T00:00:00Z"
    data["affected"] = data["affected"][:1]
    data["affected"][0]["ranges"] = [
        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "0.0.1"}]}
    ]
    data["affected"][0].pop("versions", None)
    path.write_text(yaml.safe_dump(data))
    t = time.perf_counter()
    with store.session() as s:
        report = vulndb.import_osv(s, [path])
    import_one_s = time.perf_counter() - t
    t = time.perf_counter()
    with store.session() as s:
        inc = monitoring.run_incremental(s, report.changed_ids, trigger="import")
    inc_s = time.perf_counter() - t
    t = time.perf_counter()
    with store.session() as s:
        idle = monitoring.monitor(s)
    idle_s = time.perf_counter() - t
    store.dispose()
    return {
        "devices": devices,
        "components_per_device": per_device,
        "sbom_import_s": round(sbom_s, 2),
        "full": {**full.to_dict(), "wall_s": round(full_s, 2)},
        "changed_advisory": {"id": adv.id, "finding_id": target, "findings_before": counts[target]},
        "incremental": {**inc.to_dict(), "wall_s": round(inc_s, 3), "import_s": round(import_one_s, 3)},
        "monitor_no_change": {**idle.to_dict(), "wall_s": round(idle_s, 3)},
    }


time_now = None  # set in main (naive UTC)


def main() -> None:
    global time_now
    import datetime as dt

    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--versions", type=int, default=6000)
    ap.add_argument("--components", type=int, default=300)
    ap.add_argument("--runs", type=int, default=200, help="device versions of the real run_full (0: skip)")
    args = ap.parse_args()
    time_now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    pool = component_pool()
    figures: dict[str, Any] = {"db": args.db, "pool": len(pool)}
    with tempfile.TemporaryDirectory() as tmp:
        with database(args.db, Path(tmp)) as url:
            figures["query"] = query_benchmark(url, pool, args.versions, args.components)
        if args.runs:
            with database(args.db, Path(tmp)) as url:
                figures["runs"] = run_benchmark(url, pool, args.runs, args.components, Path(tmp) / "home")
    q = figures["query"]
    print(
        f"[{args.db}] {q['devices']} device versions x {q['components_per_device']} components: "
        f"{q['findings']:,} findings, {q['finding_ids']:,} ids "
        f"(matched in memory {q['match_in_memory_s']} s, stored in bulk {q['bulk_store_s']} s)"
    )
    for label, r in q["queries"].items():
        print(
            f"  affected {label}: {r['rows']} rows / {r['versions']} versions, "
            f"median {r['median_ms']} ms, max {r['max_ms']} ms (target < 50)"
        )
    if "runs" in figures:
        r = figures["runs"]
        print(
            f"  run_full {r['devices']} versions x {r['components_per_device']}: {r['full']['wall_s']} s "
            f"({r['full']['new_findings']} findings); incremental after 1 changed advisory "
            f"({r['changed_advisory']['id']}): {r['incremental']['wall_s']} s, "
            f"{r['incremental']['versions_matched']} versions re-matched, "
            f"{r['incremental']['resolved_findings']} resolved; "
            f"monitor with no change {r['monitor_no_change']['wall_s']} s"
        )
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
