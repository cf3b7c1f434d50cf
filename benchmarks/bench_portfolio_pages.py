"""The device portfolio pages and API at the issue's size: an organisation with 6,000 device versions.

A store is filled in bulk with 200 products x 30 versions, each version one SBOM of 300 components (1.8 M
component rows, a tenth of them with a declared support level or end of support, some past it) and about
33 open findings per version (about 200,000, some KEV-listed, every severity), then ANALYZEd (as
autovacuum keeps a live database). Then the list pages are requested through the real app (a signed-in
member's session; an API token for the API) and timed:

* ``/orgs/{id}/products`` page 1, a middle page and a name search (50 versions a page, aggregates by
  GROUP BY over the page's versions);
* ``/api/v1/orgs/{id}/products`` (100 a page);
* one version's page: findings tab, components tab, a components search (htmx fragment).

    .venv/bin/python benchmarks/bench_portfolio_pages.py [--db sqlite|postgresql] [--versions N] [--runs N]

PostgreSQL: MEDCYBER_TEST_DATABASE_URL (a private schema is created and dropped).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
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
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, select, text

from medcyber.config import normalise_url
from medcyber.services import accounts as acc
from medcyber.services.products import COMPONENT_COLUMNS, _bulk_insert
from medcyber.store import Store
from medcyber.store.models import (
    Organisation,
    Product,
    ProductVersion,
    SbomComponentRow,
    SbomRecord,
    VersionFindingRow,
)
from medcyber.web.app import create_app
from medcyber.web.security import SESSION_COOKIE

SEVERITIES = ("critical", "high", "medium", "low", "unknown")
TYPES = ("library", "library", "library", "framework", "operating-system", "firmware", "application")
LEVELS = ("actively-maintained", "no-longer-maintained", "abandoned", "unknown")


@contextmanager
def store_for(kind: str, keep: str | None = None) -> Iterator[Store]:
    if kind == "sqlite" and keep:
        s = Store(f"sqlite:///{keep}")
        s.upgrade()
        try:
            yield s
        finally:
            s.dispose()
        return
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            s = Store(f"sqlite:///{tmp}/bench.db")
            s.upgrade()
            try:
                yield s
            finally:
                s.dispose()
        return
    base = normalise_url(os.environ["MEDCYBER_TEST_DATABASE_URL"])
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    s = Store(f"{base}{sep}options=-csearch_path%3D{schema}")
    try:
        s.upgrade()
        yield s
    finally:
        s.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def fill(store: Store, versions: int, per_product: int = 30, components: int = 300) -> tuple[int, int]:
    """Returns (organisation id, one version id)."""
    rng = random.Random(5)
    today = dt.date.today()
    started = time.perf_counter()
    with store.session() as db:
        org = Organisation(name="Portfolio Bench", benchmark_id=uuid.uuid4().hex)
        db.add(org)
        other = Organisation(name="Another tenant", benchmark_id=uuid.uuid4().hex)
        db.add(other)
        db.flush()
        products = [
            Product(organisation_id=org.id, name=f"Device {i:04d}", device_class="II")
            for i in range(versions // per_product)
        ]
        db.add_all(products)
        db.flush()
        pvs = [
            ProductVersion(
                product_id=p.id, version=f"{major}.{minor}", released_on=today - dt.timedelta(days=30 * i)
            )
            for p in products
            for i, (major, minor) in enumerate((m, n) for m in range(1, 7) for n in range(5))
            if i < per_product
        ]
        db.add_all(pvs)
        db.flush()
        content = gzip.compress(b"{}")
        db.add_all(
            SbomRecord(
                version_id=pv.id,
                kind="software",
                format="cyclonedx",
                spec_version="1.6",
                encoding="json",
                sha256=hashlib.sha256(str(pv.id).encode()).hexdigest(),
                size=2,
                content_gz=content,
                valid=True,
                component_count=components,
            )
            for pv in pvs
        )
        db.flush()
        sbom_ids = list(db.scalars(select(SbomRecord.id).order_by(SbomRecord.id)))
        index = {c: i for i, c in enumerate(COMPONENT_COLUMNS)}
        batch: list[tuple[Any, ...]] = []
        for sid in sbom_ids:
            for pos in range(components):
                row: list[Any] = [None] * len(COMPONENT_COLUMNS)
                name = f"pkg-{rng.randrange(20_000)}"
                version = f"{rng.randrange(10)}.{rng.randrange(20)}.{rng.randrange(30)}"
                row[index["sbom_id"]] = sid
                row[index["position"]] = pos
                row[index["is_primary"]] = False
                row[index["ref"]] = f"c{pos}"
                row[index["name"]] = name
                row[index["version"]] = version
                row[index["type"]] = rng.choice(TYPES)
                row[index["purl"]] = f"pkg:pypi/{name}@{version}"
                for col in ("cpes", "hashes", "licenses", "properties"):
                    row[index[col]] = "[]"
                if rng.random() < 0.1:
                    row[index["level_text"]] = "declared"
                    row[index["level"]] = rng.choice(LEVELS)
                    eos = today + dt.timedelta(days=rng.randrange(-2000, 2000))
                    row[index["eos_text"]] = eos.isoformat()
                    row[index["eos"]] = eos
                batch.append(tuple(row))
            if len(batch) >= 60_000:
                _bulk_insert(db, SbomComponentRow, COMPONENT_COLUMNS, batch)
                batch = []
        _bulk_insert(db, SbomComponentRow, COMPONENT_COLUMNS, batch)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        findings: list[dict[str, Any]] = []
        for pv in pvs:
            for k in range(rng.randrange(15, 52)):
                findings.append(
                    {
                        "product_version_id": pv.id,
                        "component_ref": f"c{rng.randrange(components)}",
                        "component_name": "pkg",
                        "component_version": "1",
                        "vuln_id": f"CVE-2024-{k:05d}",
                        "severity": rng.choice(SEVERITIES),
                        "score": round(rng.uniform(1, 10), 1),
                        "kev": rng.random() < 0.03,
                        "status": "affected",
                        "evidence": "range",
                        "first_seen_at": now,
                    }
                )
            if len(findings) > 20_000:
                db.execute(insert(VersionFindingRow), findings)
                findings = []
        if findings:
            db.execute(insert(VersionFindingRow), findings)
        org_id, one = org.id, pvs[len(pvs) // 2].id
    with store.engine.connect() as conn:  # the statistics autovacuum (or a DBA) keeps in a live database
        conn.execute(text("ANALYZE"))
        conn.commit()
    print(f"filled {versions} versions in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return org_id, one


def timed(client: TestClient, url: str, runs: int, headers: dict[str, str] | None = None) -> dict[str, float]:
    for _ in range(3):
        assert client.get(url, headers=headers).status_code == 200, url
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(url, headers=headers)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--versions", type=int, default=6000)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--keep", help="SQLite: fill this file once and reuse it on later runs")
    args = ap.parse_args()
    with store_for(args.db, args.keep) as store:
        with store.session() as db:
            found = db.scalar(select(Organisation.id).where(Organisation.name == "Portfolio Bench"))
            one = db.scalar(
                select(ProductVersion.id).join(Product).where(Product.organisation_id == found).limit(1)
            )
        org_id, version_id = (found, one) if found and one else fill(store, args.versions)
        with store.session() as db:
            org = db.get(Organisation, org_id)
            assert org is not None
            user = acc.create_user(db, f"viewer-{uuid.uuid4().hex[:8]}@bench.example").user
            acc.add_membership(db, user, org, "admin")
            user.must_change_password = False
            sid = acc.create_session(db, user)
            _, token = acc.create_api_token(db, org, user, "bench", ("read",))
        client = TestClient(create_app(store, secret_key=b"bench-secret-key-0123456789abcdef"))
        client.cookies.set(SESSION_COOKIE, sid)
        bearer = {"Authorization": f"Bearer {token}"}
        hx = {"HX-Request": "true"}
        v = f"/orgs/{org_id}/versions/{version_id}"
        results = {
            "products page 1": timed(client, f"/orgs/{org_id}/products", args.runs),
            "products page 60": timed(client, f"/orgs/{org_id}/products?page=60", args.runs),
            "products search (htmx)": timed(client, f"/orgs/{org_id}/products?q=Device%2001", args.runs, hx),
            "API products (100/page)": timed(client, f"/api/v1/orgs/{org_id}/products", args.runs, bearer),
            "version: findings tab": timed(client, v, args.runs),
            "version: components tab": timed(client, f"{v}?tab=components", args.runs),
            "version: components search (htmx)": timed(client, f"{v}?tab=components&q=pkg-1", args.runs, hx),
            "API findings of a version": timed(
                client, f"/api/v1/orgs/{org_id}/versions/{version_id}/findings", args.runs, bearer
            ),
        }
    print(json.dumps({"db": args.db, "versions": args.versions, "results": results}, indent=2))


if __name__ == "__main__":
    main()
