"""The web portal's page latency with a portfolio of 6,000 device versions: p50/p95/max per page.

The store (built once, then reused from the cache directory; ``--rebuild`` builds it again):

* the demo workspace (``services.demo.load_demo``): the calibrated synthetic cohort, Acme Medical with its
  dated assessments, the demo accounts, the demo products with their real SBOMs, and the real
  vulnerability data of ../shared/data (PyPA OSV, NVD records, CISA KEV);
* an assessment in progress at Acme (half of the questions answered);
* Acme's portfolio grown to ``--versions`` device versions (60 products), each imported through
  ``products.import_sbom`` as a real CycloneDX 1.4 document of ``--components`` components: the 54
  components of the real medical device SBOM of ../shared/data (with their declared support), five
  platform components (an OS, a runtime, a TLS library, ...) taken from the endoflife.date catalogue with
  the catalogue's real end-of-life date declared as their end of support, and the rest drawn (seeded) from
  real package names and versions (the PyPA database and the example SBOMs, as bench_affected.py);
* the findings of every version produced by the real matcher through ``monitoring.monitor``.

The real app (``web.app.create_app``) is then served by uvicorn on 127.0.0.1 (a free port) in a child
process; the benchmark signs in through the real form as the demo admin and requests each page ``-n``
times in a row after a warm-up, timing the whole HTTP round trip (the first request of each page is
reported apart: it pays the process's first use of the charts and the bank). Pages another part of the
portal has not built yet answer 404: they are listed as skipped. Then ``--changes`` times (default 5) an
audited edit of the portfolio followed by a dashboard view: the cost of the dashboard's aggregates when
they are computed again (the overview is otherwise kept until the portfolio changes).

    .venv/bin/python benchmarks/bench_web.py [-n 50] [--versions 6000] [--postgres URL] [--json]

PostgreSQL: the store lives in the schema ``bench_web_<versions>_<components>_v<N>`` of that database and
is reused likewise (``--drop`` removes it afterwards).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

DATA_VERSION = 1  # bump when what the store holds changes
TARGET_MS = 150.0
SECRET = b"bench-web-secret-key-0123456789abcdef"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NARROW = SHARED / "sbom" / "medical-device-case-study" / "narrow.sbom.json"
PRODUCTS = 60
# (endoflife.date product, purl type) of the platform a device version is built on
PLATFORM = (
    ("debian", "deb"),
    ("ubuntu", "generic"),
    ("python", "generic"),
    ("nodejs", "generic"),
    ("dotnet", "nuget"),
    ("eclipse-temurin", "generic"),
    ("openssl", "generic"),
    ("postgresql", "generic"),
    ("qt", "generic"),
    ("electron", "npm"),
    ("nginx", "generic"),
    ("spring-framework", "maven"),
)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "medcyber-bench"


# ------------------------------------------------------------------------------------ the store


def _platform_choices() -> dict[str, list[tuple[str, str, str, dt.date]]]:
    """Per platform product: (id, cycle, purl type, end of life) of its release cycles ending 2023-2031."""
    from medcyber.lifecycle.catalog import Catalog

    cat = Catalog.load()
    out: dict[str, list[tuple[str, str, str, dt.date]]] = {}
    for pid, ptype in PLATFORM:
        product = cat.get(pid)
        if product is None:
            continue
        for r in product.releases:
            eol = r.eol
            if isinstance(eol, dt.date) and dt.date(2023, 1, 1) <= eol <= dt.date(2031, 12, 31):
                out.setdefault(pid, []).append((pid, r.cycle, ptype, eol))
    return out


def _document(
    d: int,
    product: str,
    version: str,
    narrow: list[dict[str, Any]],
    platform: list[tuple[str, str, str, dt.date]],
    pool_components: list[Any],
) -> bytes:
    comps: list[dict[str, Any]] = [dict(c) for c in narrow]
    for pid, cycle, ptype, eol in platform:
        comps.append(
            {
                "type": "framework" if ptype != "deb" else "operating-system",
                "bom-ref": f"platform-{pid}",
                "name": pid,
                "version": f"{cycle}.0" if cycle.count(".") < 2 else cycle,
                "purl": f"pkg:{ptype}/{pid}@{cycle}",
                "properties": [{"name": "End-of-Support", "value": eol.isoformat()}],
            }
        )
    for c in pool_components:
        comps.append(
            {
                "type": "library",
                "bom-ref": f"lib-{c.ref}",
                "name": c.name,
                "version": c.version,
                "purl": c.purl,
            }
        )
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.4",
        "serialNumber": f"urn:uuid:00000000-0000-4000-8000-{d:012d}",
        "version": 1,
        "metadata": {
            "timestamp": "2026-01-15T00:00:00Z",
            "component": {"type": "device", "name": product, "version": version, "bom-ref": "device"},
            "supplier": {"name": "Acme Medical"},
        },
        "components": comps,
    }
    return json.dumps(doc).encode()


def build(url: str, versions: int, components: int, log: Any) -> dict[str, Any]:
    """Create (or finish) the benchmark store at ``url``; returns what it holds."""
    from bench_affected import _fleet
    from bench_fleet import component_pool
    from sqlalchemy import func, select, text

    from medcyber.benchmark.demo import acme_assessments
    from medcyber.maturity.bank import load_bank
    from medcyber.services import assessments as assess_svc
    from medcyber.services import demo, monitoring
    from medcyber.services import products as prod_svc
    from medcyber.store import Store
    from medcyber.store.models import Organisation, Product, ProductVersion

    store = Store(url)
    store.upgrade()
    t0 = time.perf_counter()
    with store.session() as s:
        if s.scalar(select(Organisation).where(Organisation.name == "Acme Medical")) is None:
            log("loading the demo workspace (cohort, Acme Medical, accounts, vulnerability data)...")
            demo.load_demo(s, data_dir=SHARED)
    with store.session() as s:
        org = s.scalar(select(Organisation).where(Organisation.name == "Acme Medical"))
        assert org is not None
        if assess_svc.open_assessment(s, org) is None:
            bank = load_bank()
            started = assess_svc.start_assessment(s, org, assessed_on=dt.date(2026, 11, 2))
            for a in acme_assessments(bank)[-1].answers[: len(bank.questions) // 2]:
                assess_svc.save_answer(s, started, a)
        have = (
            s.scalar(
                select(func.count())
                .select_from(ProductVersion)
                .join(Product)
                .where(Product.organisation_id == org.id)
            )
            or 0
        )
        org_id = org.id
    todo = versions - have
    if todo > 0:
        log(f"importing {todo} device versions x {components} components as CycloneDX SBOMs...")
        narrow_doc = json.loads(NARROW.read_bytes())
        narrow = [c for c in narrow_doc["components"]]
        choices = _platform_choices()
        pool = component_pool()
        per_device = max(0, components - len(narrow) - 5)
        fleet = _fleet(pool, todo, per_device, seed=50_000)
        t = time.perf_counter()
        batch = 200
        done = 0
        while done < todo:
            with store.session() as s:
                org = s.get(Organisation, org_id)
                assert org is not None
                products: dict[str, Any] = {}
                for _ in range(min(batch, todo - done)):
                    d = have + done
                    rng = random.Random(900_000 + d)
                    pname = f"Bench device {d % PRODUCTS:02d}"
                    vlabel = f"{d // PRODUCTS + 1}.{rng.randint(0, 9)}.{d}"
                    product = products.get(pname)
                    if product is None:
                        product = prod_svc.get_or_create_product(s, pname, organisation=org.name)
                        products[pname] = product
                    released = dt.date(2016, 1, 1) + dt.timedelta(days=(d * 7) % 3800)
                    eos = released + dt.timedelta(days=3652) if d % 3 == 0 else None
                    pv = prod_svc.get_or_create_version(
                        s, product, vlabel, released_on=released, end_of_support=eos
                    )
                    platform = [rng.choice(choices[pid]) for pid in rng.sample(sorted(choices), 5)]
                    raw = _document(d, pname, vlabel, narrow, platform, next(fleet))
                    prod_svc.import_sbom(s, product, pv, raw, name=f"device-{d}.cdx.json")
                    done += 1
            rate = done / (time.perf_counter() - t)
            log(f"  {done}/{todo} ({rate:.0f}/s)")
    with store.session() as s:
        if monitoring.latest_run(s) is None or monitoring.pending_versions(s):
            log("matching every pending device version (monitoring.monitor)...")
            t = time.perf_counter()
            summary = monitoring.monitor(s)
            log(f"  {summary.new_findings} findings in {time.perf_counter() - t:.0f} s")
    if store.engine.dialect.name == "postgresql":  # what autovacuum does after bulk writes
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    with store.session() as s:
        from medcyber.services import portfolio

        c = portfolio.counts(s, org_id)
        f = portfolio.findings(s, org_id)
    store.dispose()
    return {
        "org_id": org_id,
        "versions": c.versions,
        "sboms": c.sboms,
        "components": c.components,
        "open_findings": f.open,
        "kev_findings": f.kev,
        "build_s": round(time.perf_counter() - t0, 1),
    }


# ------------------------------------------------------------------------------------ the server


def serve(url: str, port: int) -> None:
    """The child: the real app on 127.0.0.1:port over the store at ``url``."""
    import uvicorn

    from medcyber.store import Store
    from medcyber.web.app import create_app

    app = create_app(Store(url), secret_key=SECRET)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, url: str, home: Path):
        self.port = free_port()
        env = dict(os.environ, MEDCYBER_HOME=str(home))
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", url, "--port", str(self.port)], env=env
        )
        self.base = f"http://127.0.0.1:{self.port}"

    def wait(self, timeout: float = 60.0) -> None:
        import httpx

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit("the server did not answer within a minute")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


_CSRF = re.compile(r'name="csrf-token" content="([^"]*)"')


def sign_in(client: Any, email: str, password: str) -> str:
    """Through the real form; returns the session's CSRF token."""
    page = client.get("/login")
    token = _CSRF.search(page.text)
    assert token, "the sign-in page has no CSRF token"
    resp = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token.group(1), "next": "/account"},
    )
    if resp.status_code != 303:
        raise SystemExit(f"sign-in as {email} failed: HTTP {resp.status_code}")
    m = _CSRF.search(client.get("/account").text)
    assert m
    return m.group(1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def pages(url: str, org_id: int) -> list[tuple[str, str]]:
    """(label, path) of the pages to time; the version page is the riskiest version's."""
    from sqlalchemy import select

    from medcyber.services import assessments as assess_svc
    from medcyber.services import portfolio
    from medcyber.store import Store
    from medcyber.store.models import Organisation

    store = Store(url)
    with store.session() as s:
        top = portfolio.riskiest_versions(s, org_id, limit=1)
        org = s.get(Organisation, org_id)
        assert org is not None
        open_a = assess_svc.open_assessment(s, org)
        latest = assess_svc.latest_complete(s, org)
        assert s.scalar(select(Organisation.id).where(Organisation.id == org_id)) is not None
    store.dispose()
    o = f"/orgs/{org_id}"
    vid = top[0].version_id if top else 1
    aid = open_a.id if open_a else 0
    return [
        ("dashboard", o),
        ("products list", f"{o}/products"),
        ("version page (most findings)", f"{o}/versions/{vid}"),
        ("findings list", f"{o}/findings"),
        ("questionnaire category", f"{o}/assessments/{aid}/risk_management"),
        ("results", f"{o}/results" + (f"?assessment={latest.id}" if latest else "")),
    ]


def measure(base: str, targets: list[tuple[str, str]], n: int, warmup: int) -> list[dict[str, Any]]:
    import httpx

    from medcyber.services.demo import DEMO_PASSWORD

    rows: list[dict[str, Any]] = []
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
        sign_in(client, "admin@acme.example", DEMO_PASSWORD)
        for label, path in targets:
            t = time.perf_counter()
            first = client.get(path, follow_redirects=True)
            first_ms = (time.perf_counter() - t) * 1000
            if first.status_code == 404:
                rows.append({"page": label, "path": path, "skipped": "404: not built yet"})
                continue
            if first.status_code != 200:
                rows.append({"page": label, "path": path, "skipped": f"HTTP {first.status_code}"})
                continue
            final = first.url.raw_path.decode()
            for _ in range(warmup):
                client.get(final)
            times = []
            size = 0
            for _ in range(n):
                t = time.perf_counter()
                resp = client.get(final)
                times.append((time.perf_counter() - t) * 1000)
                if resp.status_code != 200:
                    raise SystemExit(f"{final}: HTTP {resp.status_code}")
                size = len(resp.content)
            rows.append(
                {
                    "page": label,
                    "path": final,
                    "n": n,
                    "first_ms": round(first_ms, 1),
                    "p50_ms": round(statistics.median(times), 1),
                    "p95_ms": round(percentile(times, 0.95), 1),
                    "max_ms": round(max(times), 1),
                    "bytes": size,
                    "ok": percentile(times, 0.95) < TARGET_MS,
                }
            )
    return rows


def after_change(url: str, base: str, org_id: int, repeats: int) -> dict[str, Any]:
    """The dashboard's first view after a change of the portfolio (the memoised overview is recomputed):
    an audited edit (a product's description, through the ORM as the pages and the CLI write) before each
    request."""
    import httpx
    from sqlalchemy import select

    from medcyber.services.demo import DEMO_PASSWORD
    from medcyber.store import Store
    from medcyber.store.models import Product

    store = Store(url)
    times = []
    with httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, "admin@acme.example", DEMO_PASSWORD)
        client.get(f"/orgs/{org_id}")
        for i in range(repeats):
            with store.session() as s:
                product = s.scalars(select(Product).where(Product.organisation_id == org_id).limit(1)).one()
                product.description = f"benchmark edit {i} at {time.time()}"
            t = time.perf_counter()
            resp = client.get(f"/orgs/{org_id}")
            times.append((time.perf_counter() - t) * 1000)
            if resp.status_code != 200:
                raise SystemExit(f"dashboard after a change: HTTP {resp.status_code}")
    store.dispose()
    return {
        "page": "dashboard, first view after a change",
        "path": f"/orgs/{org_id}",
        "n": repeats,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "max_ms": round(max(times), 1),
    }


# ------------------------------------------------------------------------------------ databases


def postgres_url(base: str, schema: str) -> str:
    from medcyber.config import normalise_url

    url = normalise_url(base)
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def ensure_schema(base: str, schema: str, *, drop: bool = False) -> None:
    from sqlalchemy import create_engine, text

    from medcyber.config import normalise_url

    engine = create_engine(normalise_url(base))
    with engine.begin() as conn:
        if drop:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        else:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=50, help="timed requests per page")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--versions", type=int, default=6000)
    ap.add_argument("--components", type=int, default=300)
    ap.add_argument("--changes", type=int, default=5, help="dashboard views after a change (0: none)")
    ap.add_argument("--postgres", metavar="URL", help="run on PostgreSQL (a schema of that database)")
    ap.add_argument("--cache", type=Path, default=None, help="where the SQLite store is kept")
    ap.add_argument("--rebuild", action="store_true", help="build the store again")
    ap.add_argument("--drop", action="store_true", help="PostgreSQL: drop the schema afterwards")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON only")
    ap.add_argument("--serve", metavar="STORE_URL", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return

    def log(msg: str) -> None:
        print(msg, file=sys.stderr if args.json else sys.stdout, flush=True)

    folder = (args.cache or cache_dir()).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "home"
    os.environ["MEDCYBER_HOME"] = str(home)
    name = f"bench_web_{args.versions}_{args.components}_v{DATA_VERSION}"
    if args.postgres:
        if args.rebuild:
            ensure_schema(args.postgres, name, drop=True)
        ensure_schema(args.postgres, name)
        url = postgres_url(args.postgres, name)
        db = "postgresql"
    else:
        path = folder / f"{name}.db"
        if args.rebuild:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        db = "sqlite"
    log(f"store: {url.split('@')[-1]}")
    holding = build(url, args.versions, args.components, log)
    log(
        f"portfolio: {holding['versions']} device versions, {holding['sboms']} SBOMs, "
        f"{holding['components']:,} components, {holding['open_findings']:,} open findings "
        f"({holding['kev_findings']} KEV-listed)"
    )
    targets = pages(url, holding["org_id"])
    server = Server(url, home)
    try:
        server.wait()
        rows = measure(server.base, targets, args.n, args.warmup)
        changed = after_change(url, server.base, holding["org_id"], args.changes) if args.changes else None
    finally:
        server.stop()
        if args.postgres and args.drop:
            ensure_schema(args.postgres, name, drop=True)
    figures = {
        "db": db,
        "store": holding,
        "n": args.n,
        "target_p95_ms": TARGET_MS,
        "pages": rows,
        "after_change": changed,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(
        f"\n[{db}] {args.n} requests per page after {args.warmup} warm-up (p95 target < {TARGET_MS:.0f} ms)"
    )
    print(f"{'page':32} {'first':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'KiB':>6}  path")
    for r in rows:
        if "skipped" in r:
            print(f"{r['page']:32} {'skipped: ' + r['skipped']:>44}  {r['path']}")
            continue
        flag = "" if r["ok"] else "  OVER TARGET"
        print(
            f"{r['page']:32} {r['first_ms']:8.1f} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['max_ms']:8.1f} "
            f"{r['bytes'] / 1024:6.0f}  {r['path']}{flag}"
        )
    if changed:
        print(
            f"{changed['page']}: p50 {changed['p50_ms']} ms, max {changed['max_ms']} ms over {changed['n']} "
            "(an audited edit before each view: the portfolio's aggregates are computed again)"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
