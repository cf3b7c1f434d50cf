"""A synthetic fleet: 6,000 device versions x 300 components, fully matched; time and peak memory.

Components are drawn (seeded) from real package names and versions: every (package, version) named in
the PyPA advisory database (explicit versions and range bounds) and every purl component of the example
SBOMs in ../shared/data/sbom/cyclonedx-examples (Maven, npm, Composer, Go, ...). The database is the one
of bench_scan.py (all PyPA + NVD + synthetic Maven advisories for keycloak's packages). Each device
version's components are built and matched with ``match_components``: OSV by purl, NVD by CPE, every
matching range as evidence, grouped per vulnerability (aliases merged) -- the complete answer to "what
affects this device version". With ``--findings`` each device's matches are also turned into report
``Finding`` objects (severity, KEV, nearest fix), which is what a scan prints, not what monitoring stores.
The work runs in a child process whose peak RSS the parent reads.

    .venv/bin/python benchmarks/bench_fleet.py [--devices 6000 --components 300]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scan import KEYCLOAK, SHARED, load_real, synthetic_maven  # noqa: E402

from medcyber.sbom.model import Component  # noqa: E402
from medcyber.sbom.reader import read_sbom  # noqa: E402
from medcyber.vulns.matcher import VulnIndex, build_findings, match_components  # noqa: E402


def component_pool() -> list[tuple[str, str, str]]:
    """(name, version, purl) drawn from the PyPA database and the example SBOMs."""
    pool: set[tuple[str, str, str]] = set()
    real, _kev = load_real()
    for adv in real:
        for aff in adv.affected:
            versions = set(aff.versions)
            for r in aff.ranges:
                if r.type != "GIT":
                    versions.update(e.version for e in r.events if e.version != "0")
            for v in versions:
                pool.add((aff.name, v, f"pkg:pypi/{aff.name}@{v}"))
    for path in sorted((SHARED / "sbom" / "cyclonedx-examples").rglob("*.json")):
        try:
            rr = read_sbom(path, lenient=True)
        except ValueError:
            continue
        if rr.sbom is None:
            continue
        for c in rr.sbom.components:
            if c.purl and c.version:
                pool.add((c.name, c.version, c.purl))
    return sorted(pool)


def child(devices: int, per_device: int, with_findings: bool) -> None:
    t0 = time.perf_counter()
    real, kev = load_real()
    keycloak = read_sbom(KEYCLOAK).sbom
    assert keycloak is not None
    index = VulnIndex(real + synthetic_maven(keycloak.components, 3000), kev=kev)
    pool = component_pool()
    setup_s = time.perf_counter() - t0
    t = time.perf_counter()
    findings_total = 0
    affected_devices = 0
    evaluated = not_evaluated = 0
    for d in range(devices):
        rng = random.Random(d)
        picks = rng.sample(pool, per_device)
        comps = [Component(ref=f"d{d}-c{i}", name=n, version=v, purl=p) for i, (n, v, p) in enumerate(picks)]
        ms = match_components(index, comps)
        if with_findings:
            n = len(build_findings(index, ms))
        else:  # one finding per (component, vulnerability group): what build_findings would produce
            n = sum(len(cm.osv.keys() | cm.cpe.keys()) for cm in ms.matches)
        findings_total += n
        affected_devices += bool(n)
        evaluated += len(ms.evaluated_refs)
        not_evaluated += len({n.ref for n in ms.not_evaluated} - ms.evaluated_refs)
    match_s = time.perf_counter() - t
    print(
        json.dumps(
            {
                "devices": devices,
                "components_per_device": per_device,
                "component_matches": devices * per_device,
                "pool": len(pool),
                "advisories": len(index.advisories),
                "setup_s": round(setup_s, 2),
                "match_s": round(match_s, 2),
                "findings_built": with_findings,
                "findings": findings_total,
                "devices_with_findings": affected_devices,
                "components_evaluated": evaluated,
                "components_not_evaluated": not_evaluated,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=6000)
    ap.add_argument("--components", type=int, default=300)
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--findings", action="store_true", help="also build the Finding objects of every device")
    args = ap.parse_args()
    if args.child:
        child(args.devices, args.components, args.findings)
        return
    t = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--devices",
            str(args.devices),
            "--components",
            str(args.components),
            *(["--findings"] if args.findings else []),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kilobytes on Linux
    figures["peak_rss_mb"] = round(peak_kb / 1024, 1)
    figures["wall_s"] = round(wall, 2)
    figures["targets"] = {"match_s": "< 60", "peak_rss_mb": "< 2048"}
    print(
        f"{figures['devices']} device versions x {figures['components_per_device']} components "
        f"({figures['component_matches']:,} component matches) against {figures['advisories']} advisories"
    )
    what = "matching + findings" if figures["findings_built"] else "matching"
    print(f"setup (load + index + pool) {figures['setup_s']} s; {what} {figures['match_s']} s")
    print(
        f"{figures['findings']:,} findings; peak RSS {figures['peak_rss_mb']} MB; wall {figures['wall_s']} s"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
