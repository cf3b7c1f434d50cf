"""Time SBOM import into the store (a plain script, not a test).

For keycloak 10.0.2 (903 components, 2.2 MB JSON) and a synthetic CycloneDX 1.6 SBOM of --components
components (purl, two hashes, a licence, declared support on one in five, a dependency graph of up to three
edges per component), on SQLite (a file in a temporary folder) and, when --postgres URL is given, on
PostgreSQL (a private schema, dropped afterwards):

* read: ``read_sbom`` alone (parse + validate + normalise), the part of an import that is not the store;
* import: ``import_sbom`` in one transaction, commit included (read + gzip of the original + bulk inserts);
* load: ``load_sbom`` (rebuild the normalised model from the rows).

Each figure is the median of --repeats runs, each import into a fresh database. Peak resident memory of
the process is reported at the end. Prints a table and one JSON line.

    .venv/bin/python benchmarks/bench_sbom_import.py --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from sqlalchemy import create_engine, text

from medcyber.config import normalise_url
from medcyber.sbom.reader import Limits, read_sbom
from medcyber.services import products as svc
from medcyber.store import Store

KEYCLOAK = (
    Path(__file__).resolve().parents[2] / "shared/data/sbom/cyclonedx-examples/keycloak-10.0.2/bom.json"
)
LICENSES = ("MIT", "Apache-2.0", "BSD-3-Clause", "GPL-2.0-only", "LGPL-2.1-or-later", "ISC", "MPL-2.0")
ECOSYSTEMS = ("npm", "pypi", "maven", "golang", "nuget", "cargo")


def synthetic_sbom(n: int, seed: int = 7) -> bytes:
    """A valid CycloneDX 1.6 JSON document with n components and a dependency graph."""
    rnd = random.Random(seed)
    components = []
    for i in range(n):
        eco = ECOSYSTEMS[i % len(ECOSYSTEMS)]
        name = f"pkg-{i:06d}"
        version = f"{rnd.randint(0, 9)}.{rnd.randint(0, 30)}.{rnd.randint(0, 99)}"
        ns = f"org.example{i % 97}/" if eco in ("maven", "golang") else ""
        comp: dict[str, object] = {
            "type": "library",
            "bom-ref": f"ref-{i}",
            "supplier": {"name": f"Supplier {i % 500}"},
            "name": name,
            "version": version,
            "purl": f"pkg:{eco}/{ns}{name}@{version}",
            "hashes": [
                {"alg": "SHA-1", "content": f"{rnd.getrandbits(160):040x}"},
                {"alg": "SHA-256", "content": f"{rnd.getrandbits(256):064x}"},
            ],
            "licenses": [{"license": {"id": LICENSES[i % len(LICENSES)]}}],
        }
        if i % 5 == 0:
            comp["properties"] = [
                {"name": "Level of Support", "value": "Actively maintained" if i % 10 else "Inactive"},
                {"name": "End-of-Support", "value": f"{2026 + i % 8}-12-31"},
            ]
        components.append(comp)
    dependencies = [{"ref": "root", "dependsOn": [f"ref-{i}" for i in range(min(n, 50))]}]
    for i in range(n):
        targets = sorted({rnd.randrange(n) for _ in range(rnd.randint(0, 3))} - {i})
        dependencies.append({"ref": f"ref-{i}", "dependsOn": [f"ref-{t}" for t in targets]})
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.UUID(int=rnd.getrandbits(128))}",
        "version": 1,
        "metadata": {
            "timestamp": "2026-01-01T00:00:00Z",
            "component": {"type": "device", "bom-ref": "root", "name": "Synthetic device", "version": "1.0"},
        },
        "components": components,
        "dependencies": dependencies,
    }
    return orjson.dumps(doc)


@contextmanager
def database(kind: str, pg_url: str | None, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        path = workdir / f"{uuid.uuid4().hex}.db"
        yield f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    assert pg_url is not None
    base = normalise_url(pg_url)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def median(fn: Callable[[], float], repeats: int) -> float:
    return statistics.median(fn() for _ in range(repeats))


def measure(data: bytes, kind: str, pg_url: str | None, repeats: int, workdir: Path) -> dict[str, float]:
    limits = Limits()

    def read_once() -> float:
        t = time.perf_counter()
        result = read_sbom(data, name="bench.json", limits=limits)
        took = time.perf_counter() - t
        assert result.valid, result.errors[:3]
        return took

    loads: list[float] = []

    def import_once() -> float:
        with database(kind, pg_url, workdir) as url:
            store = Store(url)
            store.upgrade()
            try:
                t = time.perf_counter()
                with store.session() as session:
                    sbom_id = svc.import_sbom(session, "Bench", "1", data, name="bench.json").id
                took = time.perf_counter() - t
                t = time.perf_counter()
                with store.session() as session:
                    svc.load_sbom(session, sbom_id)
                loads.append(time.perf_counter() - t)
            finally:
                store.dispose()
        return took

    return {
        "read_s": median(read_once, repeats),
        "import_s": median(import_once, repeats),
        "load_s": statistics.median(loads),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--components", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--postgres", help="PostgreSQL URL (a private schema is created and dropped)")
    args = ap.parse_args()

    inputs = {
        "keycloak 10.0.2": KEYCLOAK.read_bytes(),
        f"synthetic {args.components:,}": synthetic_sbom(args.components),
    }
    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, data in inputs.items():
            components = len(read_sbom(data).sbom.components)  # type: ignore[union-attr]
            for kind in kinds:
                figures = measure(data, kind, args.postgres, args.repeats, Path(tmp))
                rows.append(
                    {"sbom": label, "components": components, "mb": len(data) / 1e6, "db": kind, **figures}
                )

    print(f"{'SBOM':<20} {'comp.':>7} {'MB':>6} {'db':<11} {'read s':>7} {'import s':>9} {'load s':>7}")
    for r in rows:
        print(
            f"{r['sbom']:<20} {r['components']:>7,} {r['mb']:>6.1f} {r['db']:<11} {r['read_s']:>7.2f} "
            f"{r['import_s']:>9.2f} {r['load_s']:>7.2f}"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mb:.0f} MB; median of {args.repeats}; python {platform.python_version()}")
    print(json.dumps({"rows": rows, "peak_rss_mb": round(peak_mb), "repeats": args.repeats}))


if __name__ == "__main__":
    main()
