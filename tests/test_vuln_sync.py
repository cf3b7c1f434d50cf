"""`vulns sync` with the real httpx client against a local feed server on 127.0.0.1.

The server serves the real data in ../shared/data (KEV, the 35 NVD records paged like the CVE API 2.0, an
OSV all.zip built from PyPA records) and the EPSS test file, with ETag/Last-Modified/304, and can inject
429 + Retry-After and dropped connections. The rate limiter's clock and sleep are a fake clock, so the
tests prove the waits without waiting.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import io
import json
import os
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import typer
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from medcyber.cli import common
from medcyber.cli import vulns as vulns_cli
from medcyber.services import vulndb
from medcyber.store import Store
from medcyber.store.models import AdvisoryRow, EpssRow, KevRow
from medcyber.vulns.sync import RateLimiter, SyncOptions, retry_after, sync

EPSS_TEST = Path(__file__).parent / "data" / "epss" / "epss_scores-test.csv.gz"
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
OSV_RECORDS = 150


@dataclass
class Fault:
    path: str
    times: int
    status: int | None = None  # None: drop the connection without answering
    retry_after: str | None = None
    start_index: int | None = None  # NVD: only for this page


@dataclass
class Feed:
    files: dict[str, bytes]
    nvd: list[dict[str, Any]]
    validators: bool = True
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    last_modified: str = email.utils.format_datetime(dt.datetime(2026, 11, 20, tzinfo=dt.UTC), usegmt=True)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    feed: Feed

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        feed = self.feed
        with feed.lock:
            feed.requests.append((url.path, query, {k.lower(): v for k, v in self.headers.items()}))
            fault = next(
                (
                    f
                    for f in feed.faults
                    if f.times > 0
                    and f.path == url.path
                    and (f.start_index is None or str(f.start_index) == query.get("startIndex"))
                ),
                None,
            )
            if fault is not None:
                fault.times -= 1
        if fault is not None:
            if fault.status is None:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(fault.status)
            if fault.retry_after:
                self.send_header("Retry-After", fault.retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if url.path == "/rest/json/cves/2.0":
            self._nvd(query)
        elif url.path in feed.files:
            self._file(feed.files[url.path])
        else:
            self.send_error(404)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _file(self, body: bytes) -> None:
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        headers = {"ETag": etag, "Last-Modified": self.feed.last_modified} if self.feed.validators else {}
        if self.feed.validators and (
            self.headers.get("If-None-Match") == etag
            or self.headers.get("If-Modified-Since") == self.feed.last_modified
        ):
            self._send(304, b"", headers)
            return
        self._send(200, body, headers)

    def _nvd(self, query: dict[str, str]) -> None:
        records = self.feed.nvd
        start, end = query.get("lastModStartDate"), query.get("lastModEndDate")
        if (start is None) != (end is None):
            self._send(400, b"", {})
            return
        if start and end:
            lo, hi = dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end)
            if hi - lo > dt.timedelta(days=120):
                self._send(404, b"", {"message": "range too long"})
                return
            records = [
                r
                for r in records
                if lo <= dt.datetime.fromisoformat(r["lastModified"]).replace(tzinfo=dt.UTC) <= hi
            ]
        per_page = min(int(query.get("resultsPerPage", 2000)), 2000)
        index = int(query.get("startIndex", 0))
        page = records[index : index + per_page]
        body = {
            "resultsPerPage": len(page),
            "startIndex": index,
            "totalResults": len(records),
            "format": "NVD_CVE",
            "version": "2.0",
            "timestamp": "2026-11-24T00:00:00.000",
            "vulnerabilities": [{"cve": r} for r in page],
        }
        self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})


def _osv_zip(shared_data: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted((shared_data / "osv/pypi/vulns").rglob("*.yaml"))[:OSV_RECORDS]:
            rec = yaml.safe_load(f.read_text())
            zf.writestr(f"{rec['id']}.json", json.dumps(rec, default=str))
    return buf.getvalue()


@pytest.fixture(scope="module")
def feed_data(shared_data: Path) -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    files = {
        "/osv/PyPI/all.zip": _osv_zip(shared_data),
        "/kev/known_exploited_vulnerabilities.json": (
            shared_data / "kev/known_exploited_vulnerabilities.json"
        ).read_bytes(),
        "/epss/epss_scores-current.csv.gz": EPSS_TEST.read_bytes(),
    }
    nvd = sorted(
        (json.loads(p.read_text()) for p in (shared_data / "nvd/cves").glob("*.json")), key=lambda r: r["id"]
    )
    return files, nvd


@pytest.fixture
def server(feed_data: tuple[dict[str, bytes], list[dict[str, Any]]]) -> Iterator[tuple[str, Feed]]:
    feed = Feed(files=dict(feed_data[0]), nvd=list(feed_data[1]))
    handler = type("BoundHandler", (Handler,), {"feed": feed})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", feed
    finally:
        httpd.shutdown()
        httpd.server_close()


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def _options(base: str, clock: FakeClock, **kw: Any) -> SyncOptions:
    opts = SyncOptions(
        osv_base_url=f"{base}/osv",
        nvd_url=f"{base}/rest/json/cves/2.0",
        kev_url=f"{base}/kev/known_exploited_vulnerabilities.json",
        epss_url=f"{base}/epss/epss_scores-current.csv.gz",
        nvd_results_per_page=10,
        timeout=5.0,
        clock=clock.clock,
        sleep=clock.sleep,
        now=lambda: NOW,
    )
    for k, v in kw.items():
        setattr(opts, k, v)
    return opts


def _count(store: Store, model: type) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _nvd_requests(feed: Feed) -> list[dict[str, str]]:
    return [q for path, q, _ in feed.requests if path == "/rest/json/cves/2.0"]


def test_full_sync_then_conditional_resync(store: Store, server: tuple[str, Feed]) -> None:
    base, feed = server
    clock = FakeClock()
    results = {r.source: r for r in sync(store, _options(base, clock, nvd_results_per_page=5))}
    assert {s: r.status for s, r in results.items()} == dict.fromkeys(
        ("osv", "nvd", "kev", "epss"), "imported"
    )
    assert results["osv"].total("added") == OSV_RECORDS
    assert (results["nvd"].pages, results["nvd"].total("added")) == (7, 35)
    assert results["kev"].total("added") == 1404 and results["epss"].total("added") == 235
    assert _count(store, AdvisoryRow) == OSV_RECORDS + 35
    assert (_count(store, KevRow), _count(store, EpssRow)) == (1404, 235)
    # 7 NVD pages without a key: the 6th request waits until the 30 s window frees a slot
    assert [int(q["startIndex"]) for q in _nvd_requests(feed)] == [0, 5, 10, 15, 20, 25, 30]
    assert sum(clock.sleeps) >= 29.9 and len(clock.sleeps) >= 1
    with store.session() as s:
        gen = vulndb.db_generation(s)
        state = vulndb.get_sync_state(s, "nvd", f"{base}/rest/json/cves/2.0")
        assert state.cursor is None and state.synced_until == NOW
        row = s.scalar(select(AdvisoryRow).where(AdvisoryRow.id == "CVE-2017-0144"))
        assert row.location.startswith(f"{base}/rest/json/cves/2.0?") and "startIndex=" in row.location
    # second run: 304 for the files, one incremental NVD window since the last sync, nothing changes
    feed.requests.clear()
    results = {r.source: r for r in sync(store, _options(base, FakeClock()))}
    assert [results[s].status for s in ("osv", "kev", "epss")] == ["not modified"] * 3
    file_requests = [h for path, _, h in feed.requests if path != "/rest/json/cves/2.0"]
    assert all("if-none-match" in h and "if-modified-since" in h for h in file_requests)
    (nvd_q,) = _nvd_requests(feed)
    assert nvd_q["lastModStartDate"].startswith("2026-11-24T12:00:00") and "lastModEndDate" in nvd_q
    assert results["nvd"].total("read") == 0
    with store.session() as s:
        assert vulndb.db_generation(s) == gen


def test_no_validators_falls_back_to_the_digest(store: Store, server: tuple[str, Feed]) -> None:
    base, feed = server
    feed.validators = False
    opts = _options(base, FakeClock(), sources=("kev",))
    assert [r.status for r in sync(store, opts)] == ["imported"]
    assert [r.status for r in sync(store, opts)] == ["unchanged"]  # downloaded, same sha256: not imported
    with store.session() as s:
        assert vulndb.db_generation(s) == 1


def test_429_with_retry_after_is_honoured(store: Store, server: tuple[str, Feed]) -> None:
    base, feed = server
    feed.faults.append(Fault("/rest/json/cves/2.0", times=2, status=429, retry_after="7"))
    feed.faults.append(Fault("/kev/known_exploited_vulnerabilities.json", times=1, status=503))
    clock = FakeClock()
    (nvd, kev) = sync(store, _options(base, clock, sources=("nvd", "kev"), nvd_api_key="secret-key"))
    assert (nvd.status, nvd.retries, nvd.total("added")) == ("imported", 2, 35)
    assert clock.sleeps[:2] >= [7.0, 7.0] and all(s >= 7.0 for s in clock.sleeps[:2])
    assert (kev.status, kev.retries) == ("imported", 1)
    assert all(
        h.get("apikey") == "secret-key" for path, _, h in feed.requests if path == "/rest/json/cves/2.0"
    )
    # with a key, 4 pages fit in the 50-per-30-s window: only the two back-offs and the 503 slept
    assert len(clock.sleeps) == 3


def test_dropped_connection_interrupts_and_the_next_sync_resumes(
    store: Store, server: tuple[str, Feed]
) -> None:
    base, feed = server
    url = f"{base}/rest/json/cves/2.0"
    feed.faults.append(Fault("/rest/json/cves/2.0", times=1, status=None, start_index=0))  # retried
    feed.faults.append(Fault("/rest/json/cves/2.0", times=10, status=None, start_index=20))  # gives up
    (nvd,) = sync(store, _options(base, FakeClock(), sources=("nvd",), max_retries=2))
    assert (
        nvd.status == "failed"
        and url in (nvd.error or "")
        and "gave up after 3 attempts" in (nvd.error or "")
    )
    assert nvd.pages == 2 and nvd.total("added") == 20
    assert _count(store, AdvisoryRow) == 20  # the two committed pages stay
    with store.session() as s:
        assert vulndb.get_sync_state(s, "nvd", url).cursor == {
            "mode": "full",
            "start_index": 20,
            "began": NOW.isoformat(),
        }
    feed.faults.clear()
    feed.requests.clear()
    (nvd,) = sync(store, _options(base, FakeClock(), sources=("nvd",)))
    assert nvd.status == "imported" and nvd.total("added") == 15
    assert [int(q["startIndex"]) for q in _nvd_requests(feed)] == [20, 30]
    assert _count(store, AdvisoryRow) == 35
    with store.session() as s:
        state = vulndb.get_sync_state(s, "nvd", url)
        assert state.cursor is None and state.synced_until == NOW


def test_windows_of_at_most_120_days(store: Store, server: tuple[str, Feed]) -> None:
    base, feed = server
    since = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    expected = sum(
        1 for r in feed.nvd if dt.datetime.fromisoformat(r["lastModified"]).replace(tzinfo=dt.UTC) >= since
    )
    (nvd,) = sync(store, _options(base, FakeClock(), sources=("nvd",), nvd_since=since))
    assert nvd.status == "imported" and nvd.total("added") == expected > 0
    windows = {(q["lastModStartDate"], q["lastModEndDate"]) for q in _nvd_requests(feed)}
    spans = sorted((dt.datetime.fromisoformat(a), dt.datetime.fromisoformat(b)) for a, b in windows)
    assert spans[0][0] == since and spans[-1][1] == NOW
    assert all(b - a <= dt.timedelta(days=120) for a, b in spans)
    assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))  # contiguous


def test_offline_and_corrupted_downloads_fail_cleanly(store: Store, server: tuple[str, Feed]) -> None:
    base, feed = server
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    clock = FakeClock()
    (kev,) = sync(store, _options(dead, clock, sources=("kev",)))
    assert kev.status == "failed" and "cannot connect" in (kev.error or "") and "offline" in (kev.error or "")
    assert len(clock.sleeps) == 2  # connect_retries, then a clear error
    feed.files["/osv/PyPI/all.zip"] = feed.files["/osv/PyPI/all.zip"][:-5000]
    results = {r.source: r for r in sync(store, _options(base, FakeClock(), sources=("osv", "kev")))}
    assert results["osv"].status == "failed" and "corrupted zip" in (results["osv"].error or "")
    assert results["kev"].status == "imported"
    assert _count(store, AdvisoryRow) == 0
    with store.session() as s:  # a failed download leaves no validators: the next sync fetches it again
        assert vulndb.get_sync_state(s, "osv", f"{base}/osv/PyPI/all.zip").etag is None


def test_rate_limiter_and_retry_after_parsing() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, 30.0, clock.clock, clock.sleep)
    for _ in range(12):
        limiter.wait()
    assert clock.t - 1000.0 >= 60.0  # 12 requests at 5 per 30 s need two full windows
    assert retry_after("12", NOW) == 12.0
    when = email.utils.format_datetime(NOW + dt.timedelta(seconds=90), usegmt=True)
    assert retry_after(when, NOW) == 90.0
    assert retry_after("soon", NOW) is None


runner = CliRunner()
root = typer.Typer()


@root.callback()
def _root() -> None:
    common.state.database_url = os.environ.get("MEDCYBER_DATABASE_URL")


root.add_typer(vulns_cli.app, name="vulns")


def test_cli_sync_against_the_local_server(store: Store, server: tuple[str, Feed]) -> None:
    base, _ = server
    args = [
        "vulns",
        "sync",
        "--source",
        "kev",
        "--source",
        "epss",
        "--source",
        "osv",
        "--osv-ecosystem",
        "PyPI",
        "--base-url-osv",
        f"{base}/osv",
        "--base-url-kev",
        f"{base}/kev/known_exploited_vulnerabilities.json",
        "--base-url-epss",
        f"{base}/epss/epss_scores-current.csv.gz",
        "--json",
    ]
    env = {"MEDCYBER_DATABASE_URL": store.url}
    result = runner.invoke(root, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = {d["source"]: d for d in json.loads(result.stdout)["results"]}
    assert (
        data["osv"]["added"] == OSV_RECORDS and data["kev"]["added"] == 1404 and data["epss"]["added"] == 235
    )
    offline = ["vulns", "sync", "--source", "kev", "--base-url-kev", "http://127.0.0.1:9/kev.json"]
    offline += ["--max-retries", "0"]
    result = runner.invoke(root, offline, env=env, catch_exceptions=False)
    assert result.exit_code == 1 and "cannot connect" in result.stderr and "Traceback" not in result.stderr
