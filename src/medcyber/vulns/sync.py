"""Downloading advisories from the official feeds (httpx), politely and resumably.

* OSV: ``<base>/<Ecosystem>/all.zip``; KEV: the CISA JSON feed; EPSS: the daily CSV (gzip). Conditional
  requests (If-None-Match / If-Modified-Since): 304, or a body with the digest already imported, means
  nothing to do. Each download is imported in one transaction together with its new validators.
* NVD: CVE API 2.0 paged with ``startIndex`` (``resultsPerPage`` up to 2,000). The first sync pages
  through everything (or, with ``nvd_since``, through ``lastModStartDate``/``lastModEndDate`` windows of at
  most 120 days); later syncs fetch the windows since the last complete sync. Each page is committed with
  the cursor, so an interrupted sync resumes at the page where it stopped.
* Rate limits: a sliding window per host (NVD: 5 requests per 30 s without an API key, 50 with one);
  403/429/5xx and dropped connections are retried with exponential backoff and jitter, honouring
  ``Retry-After``. The clock and the sleep are injectable so tests run without waiting.
"""

from __future__ import annotations

import collections
import datetime as dt
import email.utils
import hashlib
import random
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .. import __version__
from ..services import vulndb
from ..services.errors import ServiceError
from ..store import Store
from .model import ImportReport
from .sources import SourceError, gunzip
from .sources.epss import parse_csv
from .sources.kev import parse_catalog
from .sources.osv import ZipLimits, read_zip

OSV_BASE_URL = "https://osv-vulnerabilities.storage.googleapis.com"
NVD_URL = "https://services.nvd.nist.gov/rest/json/cves/2.0"
KEV_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
EPSS_URL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
SYNC_SOURCES = ("osv", "nvd", "kev", "epss")
RETRY_STATUS = frozenset((403, 429, 500, 502, 503, 504))
NVD_MAX_WINDOW = dt.timedelta(days=120)


class SyncError(ServiceError):
    """A download failed for good (after the retries): the message says which URL and why."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class SyncOptions:
    sources: tuple[str, ...] = SYNC_SOURCES
    osv_ecosystems: tuple[str, ...] = ("PyPI",)
    osv_base_url: str = OSV_BASE_URL
    nvd_url: str = NVD_URL
    kev_url: str = KEV_URL
    epss_url: str = EPSS_URL
    nvd_api_key: str | None = None
    nvd_results_per_page: int = 2000
    nvd_since: dt.datetime | None = None  # first NVD sync: only records modified since (None: everything)
    nvd_window: dt.timedelta = NVD_MAX_WINDOW
    timeout: float = 60.0
    max_retries: int = 6
    connect_retries: int = 2  # a host that cannot be reached at all fails fast (offline)
    backoff_base: float = 2.0
    backoff_max: float = 300.0
    max_download: int = 4 * 1024 * 1024 * 1024
    zip_limits: ZipLimits = field(default_factory=ZipLimits)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], dt.datetime] = _utcnow
    rng: random.Random = field(default_factory=random.Random)
    log: Callable[[str], None] | None = None


@dataclass(slots=True)
class SourceResult:
    """What a sync did for one feed (one OSV ecosystem, NVD, KEV or EPSS)."""

    source: str
    url: str
    status: str = "pending"  # "imported", "not modified", "unchanged", "failed"
    requests: int = 0
    retries: int = 0
    pages: int = 0
    reports: list[ImportReport] = field(default_factory=list)
    error: str | None = None

    def total(self, attr: str) -> int:
        return sum(int(getattr(r, attr)) for r in self.reports)


class RateLimiter:
    """At most ``max_requests`` in any ``period`` seconds (sliding window)."""

    def __init__(
        self, max_requests: int, period: float, clock: Callable[[], float], sleep: Callable[[float], None]
    ):
        self.max_requests = max_requests
        self.period = period
        self.clock = clock
        self.sleep = sleep
        self._sent: collections.deque[float] = collections.deque()

    def wait(self) -> None:
        while True:
            now = self.clock()
            while self._sent and now - self._sent[0] >= self.period:
                self._sent.popleft()
            if len(self._sent) < self.max_requests:
                self._sent.append(now)
                return
            self.sleep(self.period - (now - self._sent[0]) + 0.001)


def retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


class _Fetcher:
    def __init__(self, client: httpx.Client, opts: SyncOptions, result: SourceResult):
        self.client = client
        self.opts = opts
        self.result = result

    def _backoff(self, attempt: int, hint: float | None) -> float:
        delay = min(self.opts.backoff_max, self.opts.backoff_base * (2**attempt))
        delay = delay * (0.5 + self.opts.rng.random() / 2)  # jitter
        if hint is not None:
            delay = max(delay, min(hint, self.opts.backoff_max * 4))
        return delay

    def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        limiter: RateLimiter | None = None,
        dest: Path | None = None,
    ) -> tuple[int, httpx.Headers, bytes | None, str | None]:
        """(status, headers, body or None when written to ``dest``, sha256 of the body)."""
        attempt = 0
        connect_failures = 0
        while True:
            if limiter is not None:
                limiter.wait()
            self.result.requests += 1
            hint: float | None = None
            why: str
            try:
                with self.client.stream("GET", url, params=params, headers=headers) as resp:
                    if resp.status_code == 304:
                        return 304, resp.headers, None, None
                    if resp.status_code == 200:
                        return self._body(resp, dest)
                    if resp.status_code not in RETRY_STATUS:
                        resp.read()
                        raise SyncError(f"{url}: HTTP {resp.status_code} {resp.reason_phrase}")
                    hint = retry_after(resp.headers.get("Retry-After"), self.opts.now())
                    why = f"HTTP {resp.status_code} {resp.reason_phrase}"
                    if resp.status_code == 403:
                        why += " (rate limited, or the API key was refused)"
            except httpx.ConnectError as exc:
                connect_failures += 1
                why = f"cannot connect ({exc})"
                if connect_failures > self.opts.connect_retries:
                    raise SyncError(f"{url}: {why}; are you offline?") from None
            except httpx.TimeoutException as exc:
                why = f"timed out ({exc.__class__.__name__})"
            except httpx.TransportError as exc:
                why = f"connection failed ({exc.__class__.__name__}: {exc})"
            if attempt >= self.opts.max_retries:
                raise SyncError(f"{url}: {why}; gave up after {attempt + 1} attempts")
            delay = self._backoff(attempt, hint)
            self._log(f"{url}: {why}; retrying in {delay:.1f} s")
            self.result.retries += 1
            self.opts.sleep(delay)
            attempt += 1

    def _body(self, resp: httpx.Response, dest: Path | None) -> tuple[int, httpx.Headers, bytes | None, str]:
        digest = hashlib.sha256()
        size = 0
        chunks: list[bytes] = []
        fh = dest.open("wb") if dest is not None else None
        try:
            for chunk in resp.iter_bytes(1 << 20):
                size += len(chunk)
                if size > self.opts.max_download:
                    raise SyncError(
                        f"{resp.request.url}: larger than the limit of {self.opts.max_download} bytes"
                    )
                digest.update(chunk)
                if fh is not None:
                    fh.write(chunk)
                else:
                    chunks.append(chunk)
        finally:
            if fh is not None:
                fh.close()
        return 200, resp.headers, (None if dest is not None else b"".join(chunks)), digest.hexdigest()

    def _log(self, message: str) -> None:
        if self.opts.log is not None:
            self.opts.log(message)


def _conditional(state: vulndb.SyncState) -> dict[str, str]:
    headers = {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return headers


def _sync_file(store: Store, client: httpx.Client, opts: SyncOptions, result: SourceResult) -> None:
    """One whole-file feed (OSV all.zip, KEV, EPSS): download when changed, import in one transaction."""
    source, url = result.source, result.url
    with store.session() as session:
        state = vulndb.get_sync_state(session, source, url)
    fetcher = _Fetcher(client, opts, result)
    with tempfile.TemporaryDirectory(prefix="medcyber-sync-") as tmp:
        dest = Path(tmp) / "body"
        status, headers, _, sha = fetcher.get(url, headers=_conditional(state), dest=dest)
        if status == 304:
            result.status = "not modified"
            return
        state.etag = headers.get("ETag")
        state.last_modified = headers.get("Last-Modified")
        retrieved = opts.now()
        with store.session() as session:
            if sha is not None and sha == state.sha256:
                result.status = "unchanged"
            else:
                try:
                    if source == "osv":
                        report = vulndb.import_advisory_records(
                            session,
                            read_zip(dest, opts.zip_limits, name=url),
                            source="osv",
                            location=url,
                            sha256=sha,
                            retrieved_at=retrieved,
                        )
                    elif source == "kev":
                        catalog = parse_catalog(dest.read_bytes(), url)
                        report = vulndb.import_kev_catalog(session, catalog, location=url, sha256=sha)
                    else:
                        data = dest.read_bytes()
                        if data[:2] == b"\x1f\x8b":
                            data = gunzip(data, name=url, max_bytes=opts.max_download)
                        report = vulndb.import_epss_file(
                            session, parse_csv(data, url), location=url, sha256=sha
                        )
                except SourceError as exc:
                    raise vulndb.VulnImportError(f"{exc}") from exc
                result.reports.append(report)
                result.status = "imported"
            state.sha256 = sha
            vulndb.save_sync_state(session, state)


def _nvd_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def _parse_iso(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _new_nvd_cursor(state: vulndb.SyncState, opts: SyncOptions) -> dict[str, Any]:
    now = opts.now()
    start = state.synced_until or opts.nvd_since
    if start is None:
        return {"mode": "full", "start_index": 0, "began": now.isoformat()}
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    end = min(start + opts.nvd_window, now)
    return {
        "mode": "window",
        "start_index": 0,
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "target": now.isoformat(),
    }


def _sync_nvd(store: Store, client: httpx.Client, opts: SyncOptions, result: SourceResult) -> None:
    url = result.url
    per_period = 50 if opts.nvd_api_key else 5
    limiter = RateLimiter(per_period, 30.0, opts.clock, opts.sleep)
    headers = {"apiKey": opts.nvd_api_key} if opts.nvd_api_key else {}
    fetcher = _Fetcher(client, opts, result)
    with store.session() as session:
        state = vulndb.get_sync_state(session, "nvd", url)
    cursor = state.cursor or _new_nvd_cursor(state, opts)
    if state.cursor:
        fetcher._log(f"NVD: resuming at startIndex {cursor['start_index']}")
    per_page = max(1, min(2000, opts.nvd_results_per_page))
    while True:
        params: dict[str, Any] = {"resultsPerPage": per_page, "startIndex": cursor["start_index"]}
        if cursor["mode"] == "window":
            params["lastModStartDate"] = _nvd_time(_parse_iso(cursor["window_start"]))
            params["lastModEndDate"] = _nvd_time(_parse_iso(cursor["window_end"]))
        _, _, body, _ = fetcher.get(url, params=params, headers=headers, limiter=limiter)
        assert body is not None
        location = str(httpx.URL(url, params=params))
        with store.session() as session:
            report, total, got = vulndb.import_nvd_page(
                session, body, location=location, retrieved_at=opts.now()
            )
            if total is None:
                raise vulndb.VulnImportError(f"{location}: not an NVD API page (no totalResults)")
            cursor = dict(cursor)
            cursor["start_index"] = int(cursor["start_index"]) + got
            finished = cursor["start_index"] >= total or got == 0
            if (
                finished
                and cursor["mode"] == "window"
                and _parse_iso(cursor["window_end"]) < _parse_iso(cursor["target"])
            ):
                start = _parse_iso(cursor["window_end"])
                end = min(start + opts.nvd_window, _parse_iso(cursor["target"]))
                cursor.update(start_index=0, window_start=start.isoformat(), window_end=end.isoformat())
                finished = False
            if finished:
                state.synced_until = _parse_iso(
                    cursor["began"] if cursor["mode"] == "full" else cursor["target"]
                )
                state.cursor = None
            else:
                state.cursor = cursor
            vulndb.save_sync_state(session, state)
        result.pages += 1
        result.reports.append(report)  # after the commit: only what was kept is reported
        fetcher._log(f"NVD: page {result.pages}, {cursor['start_index']} of {total}")
        if finished:
            break
    result.status = "imported"


def sync(
    store: Store, opts: SyncOptions | None = None, *, client: httpx.Client | None = None
) -> list[SourceResult]:
    """Bring the local vulnerability data up to date from the feeds in ``opts.sources``.

    A feed that fails is reported (``status`` "failed", ``error``) and the others still run; what a failed
    feed had committed before (NVD pages) stays, and its cursor lets the next sync resume.
    """
    opts = opts or SyncOptions()
    unknown = set(opts.sources) - set(SYNC_SOURCES)
    if unknown:
        raise SyncError(f"unknown source(s): {', '.join(sorted(unknown))}")
    own = client is None
    if client is None:
        client = httpx.Client(
            timeout=httpx.Timeout(opts.timeout),
            follow_redirects=True,
            headers={"User-Agent": f"medcyber/{__version__} (+vulnerability sync)"},
        )
    jobs: list[tuple[str, str]] = []
    for source in opts.sources:
        if source == "osv":
            base = opts.osv_base_url.rstrip("/")
            jobs.extend(("osv", f"{base}/{eco}/all.zip") for eco in opts.osv_ecosystems)
        elif source == "kev":
            jobs.append(("kev", opts.kev_url))
        elif source == "epss":
            jobs.append(("epss", opts.epss_url))
        else:
            jobs.append(("nvd", opts.nvd_url))
    results: list[SourceResult] = []
    try:
        for source, url in jobs:
            result = SourceResult(source, url)
            results.append(result)
            try:
                if source == "nvd":
                    _sync_nvd(store, client, opts, result)
                else:
                    _sync_file(store, client, opts, result)
            except (SyncError, vulndb.VulnImportError) as exc:
                result.status = "failed"
                result.error = str(exc)
    finally:
        if own:
            client.close()
    return results


def summarise(results: Iterable[SourceResult]) -> list[dict[str, Any]]:
    """Plain data for ``--json`` and the table."""
    out = []
    for r in results:
        out.append(
            {
                "source": r.source,
                "url": r.url,
                "status": r.status,
                "requests": r.requests,
                "retries": r.retries,
                "pages": r.pages,
                "read": r.total("read"),
                "added": r.total("added"),
                "updated": r.total("updated"),
                "unchanged": r.total("unchanged"),
                "withdrawn": r.total("withdrawn"),
                "problems": [[p.location, p.reason] for rep in r.reports for p in rep.problems],
                "error": r.error,
            }
        )
    return out
