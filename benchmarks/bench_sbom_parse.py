"""Benchmark: read + validate + normalise SBOMs with medcyber, side by side with lib4sbom and
cyclonedx-python-lib, and the 50,000-component SBOM (time and peak RSS, measured in a subprocess).

    .venv/bin/python benchmarks/bench_sbom_parse.py [--runs 7] [--components 50000]

Prints a table and one JSON line with all figures (seconds are medians of --runs runs).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

DATA = Path("/work/shared/data/sbom")
KEYCLOAK_JSON = DATA / "cyclonedx-examples/keycloak-10.0.2/bom.json"
KEYCLOAK_XML = DATA / "cyclonedx-examples/keycloak-10.0.2/bom.xml"


def median_time(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up (schema compilation, imports)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def medcyber_read(path: Path) -> Callable[[], object]:
    from medcyber.sbom.reader import Limits, read_sbom

    def run() -> object:
        result = read_sbom(path, limits=Limits(max_bytes=1 << 30))
        assert result.valid and result.sbom is not None, result.errors[:3]
        return result

    return run


def lib4sbom_read(path: Path) -> Callable[[], object]:
    from lib4sbom.parser import SBOMParser

    def run() -> object:
        parser = SBOMParser()
        parser.parse_file(str(path))
        return parser

    return run


def cyclonedx_lib_read(path: Path) -> Callable[[], object]:
    from cyclonedx.model.bom import Bom

    def run() -> object:
        with path.open() as fh:
            return Bom.from_json(json.load(fh))  # type: ignore[attr-defined]

    return run


def real_packages() -> list[tuple[str, str, str]]:
    """(purl type, group/name, version) of the real packages named in the shared example SBOMs."""
    import orjson

    seen: dict[str, tuple[str, str, str]] = {}
    for path in sorted((DATA / "cyclonedx-examples").rglob("*.json")):
        doc = orjson.loads(path.read_bytes())
        for comp in doc.get("components") or ():
            purl = comp.get("purl")
            if isinstance(purl, str) and purl.startswith("pkg:") and comp.get("version"):
                kind = purl[4:].split("/", 1)[0]
                name = f"{comp.get('group')}/{comp['name']}" if comp.get("group") else comp["name"]
                seen.setdefault(f"{kind}:{name}", (kind, name, comp["version"]))
    return list(seen.values())


LICENSES = ["Apache-2.0", "MIT", "BSD-3-Clause", "EPL-2.0", "LGPL-2.1-only", "ISC", "MPL-2.0"]


def synthetic_bom(n: int, seed: int = 3) -> bytes:
    """A CycloneDX 1.6 JSON SBOM of n components built from real package names (hashes, licences,
    purls, properties and a dependency graph), valid against the 1.6 schema."""
    import hashlib

    import orjson

    rng = random.Random(seed)
    packages = real_packages()
    components = []
    refs = []
    for i in range(n):
        kind, name, version = packages[i % len(packages)]
        copy = i // len(packages)
        ver = version if copy == 0 else f"{version}.{copy}"
        base = name.rsplit("/", 1)[-1]
        purl = f"pkg:{kind}/{name}@{ver}"
        ref = f"{purl}#{i}"
        refs.append(ref)
        digest = hashlib.sha256(ref.encode()).hexdigest()
        comp = {
            "type": "library",
            "bom-ref": ref,
            "name": base,
            "version": ver,
            "purl": purl,
            "supplier": {"name": name.split("/", 1)[0]},
            "hashes": [
                {"alg": "SHA-256", "content": digest},
                {"alg": "SHA-1", "content": digest[:40]},
            ],
            "licenses": [{"license": {"id": rng.choice(LICENSES)}}],
            "properties": [
                {
                    "name": "Level of Support",
                    "value": rng.choice(["Actively maintained", "Inactive", "Unknown"]),
                },
                {"name": "End-of-Support", "value": rng.choice(["2027-12-31", "Unknown", "Open source"])},
            ],
        }
        if "/" in name:
            comp["group"] = name.split("/", 1)[0]
        components.append(comp)
    dependencies = [{"ref": "device", "dependsOn": refs[: min(50, n)]}]
    for ref in refs:
        targets = sorted({refs[rng.randrange(n)] for _ in range(rng.randrange(4))} - {ref})
        dependencies.append({"ref": ref, "dependsOn": targets})
    doc = {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}",
        "version": 1,
        "metadata": {
            "timestamp": "2025-01-01T00:00:00Z",
            "lifecycles": [{"phase": "build"}],
            "tools": {"components": [{"type": "application", "name": "bench_sbom_parse", "version": "1"}]},
            "authors": [{"name": "Benchmark"}],
            "component": {
                "type": "device",
                "bom-ref": "device",
                "name": "Synthetic infusion pump",
                "version": "1",
            },
            "supplier": {"name": "Example Medical"},
        },
        "components": components,
        "dependencies": dependencies,
    }
    return orjson.dumps(doc)


_CHILD = r"""
import resource, sys, time
from pathlib import Path
from medcyber.sbom.reader import Limits, read_sbom
t = time.perf_counter()
r = read_sbom(Path(sys.argv[1]), limits=Limits(max_bytes=1 << 30))
elapsed = time.perf_counter() - t
assert r.valid and r.sbom is not None, r.errors[:3]
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(elapsed, rss_mb, len(r.sbom.components), sum(map(len, r.sbom.dependencies.values())))
"""


def big_sbom(n: int, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.cdx.json"
        path.write_bytes(synthetic_bom(n))
        size = path.stat().st_size
        times, rss = [], []
        components = edges = 0
        for _ in range(max(3, runs // 2)):
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True
            ).stdout.split()
            times.append(float(out[0]))
            rss.append(float(out[1]))
            components, edges = int(out[2]), int(out[3])
    return {
        "components": components,
        "dependency_edges": edges,
        "bytes": size,
        "seconds": statistics.median(times),
        "peak_rss_mb": max(rss),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--components", type=int, default=50_000)
    args = ap.parse_args()

    figures: dict[str, object] = {}
    ours = median_time(medcyber_read(KEYCLOAK_JSON), args.runs)
    lib4 = median_time(lib4sbom_read(KEYCLOAK_JSON), args.runs)
    cdx = median_time(cyclonedx_lib_read(KEYCLOAK_JSON), max(3, args.runs // 2))
    ours_xml = median_time(medcyber_read(KEYCLOAK_XML), args.runs)
    big = big_sbom(args.components, args.runs)
    figures = {
        "keycloak_json_medcyber_s": round(ours, 4),
        "keycloak_json_lib4sbom_s": round(lib4, 4),
        "keycloak_json_cyclonedx_lib_s": round(cdx, 4),
        "speedup_vs_lib4sbom": round(lib4 / ours, 1),
        "speedup_vs_cyclonedx_lib": round(cdx / ours, 1),
        "keycloak_xml_medcyber_s": round(ours_xml, 4),
        "big": big,
    }
    rows = [
        ("keycloak JSON (903 comp., 2.2 MB): medcyber read+validate+normalise", f"{ours * 1000:8.1f} ms", ""),
        ("keycloak JSON: lib4sbom SBOMParser.parse_file", f"{lib4 * 1000:8.1f} ms", f"x{lib4 / ours:.1f}"),
        ("keycloak JSON: cyclonedx-python-lib Bom.from_json", f"{cdx * 1000:8.1f} ms", f"x{cdx / ours:.1f}"),
        ("keycloak XML (2.4 MB): medcyber read+validate(XSD)+normalise", f"{ours_xml * 1000:8.1f} ms", ""),
        (
            f"synthetic CycloneDX 1.6, {big['components']:,} comp., {big['bytes'] / 1e6:.0f} MB",
            f"{big['seconds']:8.2f} s",
            f"peak RSS {big['peak_rss_mb']:.0f} MB",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'case'.ljust(width)}  {'median':>11}  note")
    for label, value, note in rows:
        print(f"{label.ljust(width)}  {value:>11}  {note}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
