"""Time the import of the PyPA advisory database into the store (a plain script, not a test).

The whole PyPA OSV database in ../shared/data/osv/pypi/vulns (2,661 YAML records), on SQLite (a file in a
temporary folder) and, when --postgres URL is given, on PostgreSQL (a private schema, dropped afterwards):

* parse: ``read_osv`` alone (YAML with the C loader + normalisation), the part that is not the store;
* import: ``import_osv`` into an empty database in one transaction, commit included;
* re-import: the same again (idempotent: every record compared and skipped as unchanged);
* load: ``load_advisories`` (rebuild every ``Advisory`` from the store, as the matcher does).

Each figure is the median of --repeats runs, each first import into a fresh database. Prints a table and
one JSON line.

    .venv/bin/python benchmarks/bench_vuln_import.py --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from medcyber.config import normalise_url
from medcyber.services import vulndb
from medcyber.store import Store
from medcyber.vulns.sources.osv import read_osv

PYPA = Path(__file__).resolve().parents[2] / "shared/data/osv/pypi/vulns"


@contextmanager
def fresh_database(kind: str, pg_url: str | None) -> Iterator[Store]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(f"sqlite:///{tmp}/bench.db")
            store.upgrade()
            try:
                yield store
            finally:
                store.dispose()
        return
    assert pg_url
    base = normalise_url(pg_url)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    store = Store(f"{base}{sep}options=-csearch_path%3D{schema}")
    try:
        store.upgrade()
        yield store
    finally:
        store.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def timed(fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def run(kind: str, pg_url: str | None, repeats: int) -> dict[str, float | int]:
    imports, reimports, loads = [], [], []
    count = 0
    for _ in range(repeats):
        with fresh_database(kind, pg_url) as store:

            def first() -> object:
                with store.session() as s:
                    return vulndb.import_osv(s, [PYPA])

            t, report = timed(first)
            assert report.added == report.read and not report.problems  # type: ignore[attr-defined]
            count = report.read  # type: ignore[attr-defined]
            imports.append(t)

            def again() -> object:
                with store.session() as s:
                    return vulndb.import_osv(s, [PYPA])

            t, report = timed(again)
            assert report.unchanged == count and report.added == report.updated == 0  # type: ignore[attr-defined]
            reimports.append(t)

            def load() -> object:
                with store.session() as s:
                    return vulndb.load_advisories(s)

            t, advisories = timed(load)
            assert len(advisories) == count  # type: ignore[arg-type]
            loads.append(t)
    return {
        "records": count,
        "import_s": round(statistics.median(imports), 3),
        "reimport_s": round(statistics.median(reimports), 3),
        "load_s": round(statistics.median(loads), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", help="PostgreSQL URL (a private schema is created and dropped)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    parse_times = []
    for _ in range(args.repeats):
        t, items = timed(lambda: list(read_osv([PYPA])))
        parse_times.append(t)
    results: dict[str, object] = {
        "python": platform.python_version(),
        "libyaml": bool(getattr(yaml, "__with_libyaml__", False)),
        "parse_s": round(statistics.median(parse_times), 3),
    }
    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    print(f"PyPA database: {len(items)} records; parse only {results['parse_s']:.2f} s")  # type: ignore[arg-type]
    print(f"{'store':<12}{'import s':>10}{'re-import s':>13}{'load s':>9}")
    for kind in kinds:
        figures = run(kind, args.postgres, args.repeats)
        results[kind] = figures
        print(
            f"{kind:<12}{figures['import_s']:>10.2f}{figures['reimport_s']:>13.2f}{figures['load_s']:>9.3f}"
        )
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(f"peak RSS {results['peak_rss_mb']} MB")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
