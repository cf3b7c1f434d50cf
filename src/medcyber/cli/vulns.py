"""`medcyber vulns`: import, sync and inspect the local vulnerability database (OSV, NVD, KEV, EPSS)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..services import vulndb
from ..vulns.model import ImportReport
from .common import console, err_console, fail, open_store, print_json, session_scope, user_errors

app = typer.Typer(
    help="The local vulnerability database: import, sync and inspect advisories.", no_args_is_help=True
)

MAX_PROBLEMS_SHOWN = 50


class SourceName(StrEnum):
    osv = "osv"
    nvd = "nvd"
    kev = "kev"
    epss = "epss"


def report_data(report: ImportReport) -> dict[str, Any]:
    return {
        "source": report.source,
        "read": report.read,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "older": report.older,
        "removed": report.removed,
        "withdrawn": report.withdrawn,
        "problems": [{"location": p.location, "reason": p.reason} for p in report.problems],
        "changed_ids": report.changed_ids,
    }


def _print_problems(problems: list[tuple[str, str]]) -> None:
    if not problems:
        return
    err_console.print(f"[yellow]{len(problems)} record(s) skipped:[/]", highlight=False)
    for location, reason in problems[:MAX_PROBLEMS_SHOWN]:
        err_console.print(f"  {location}: {reason}", highlight=False, soft_wrap=True)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        err_console.print(f"  ... and {len(problems) - MAX_PROBLEMS_SHOWN} more (use --json for all)")


def _print_reports(reports: list[ImportReport]) -> None:
    table = Table(title="import")
    for col in (
        "source",
        "read",
        "added",
        "updated",
        "unchanged",
        "older",
        "removed",
        "withdrawn",
        "problems",
    ):
        table.add_column(col, justify="left" if col == "source" else "right")
    for r in reports:
        table.add_row(
            r.source,
            *(str(v) for v in (r.read, r.added, r.updated, r.unchanged, r.older, r.removed, r.withdrawn)),
            str(len(r.problems)),
        )
    console.print(table)
    _print_problems([(p.location, p.reason) for r in reports for p in r.problems])


@contextmanager
def _progress(enabled: bool, label: str) -> Iterator[vulndb.Progress | None]:
    if not enabled:
        yield None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@app.command("import")
def vulns_import(
    source: Annotated[SourceName, typer.Argument(help="What the files hold: osv, nvd, kev or epss.")],
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files or directories (OSV: JSON/YAML records, recursive, and osv.dev all.zip archives; "
            "NVD: API pages or CVE records, .json or .json.gz; KEV: the CISA JSON; "
            "EPSS: the CSV, gzip or not)."
        ),
    ],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Import advisories offline, in one transaction: all of it, or (if the input is unreadable) nothing."""
    show_bar = not json_out and err_console.is_terminal
    with session_scope() as session, _progress(show_bar, f"importing {source.value}") as progress:
        reports = vulndb.import_paths(session, source.value, paths, progress=progress)
        generation = vulndb.db_generation(session)
    monitoring = _rematch_after_import([i for r in reports for i in r.changed_ids], "import")
    if json_out:
        print_json(
            {"reports": [report_data(r) for r in reports], "generation": generation, "monitoring": monitoring}
        )
        return
    _print_reports(reports)
    _print_monitoring(monitoring)


def _since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--nvd-since: not a date or timestamp: {value!r}")
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@app.command("sync")
def vulns_sync(
    source: Annotated[
        list[SourceName] | None, typer.Option("--source", help="Feed to sync (repeatable; default all four).")
    ] = None,
    osv_ecosystem: Annotated[
        list[str] | None,
        typer.Option("--osv-ecosystem", help="OSV ecosystem archive to fetch (repeatable; default PyPI)."),
    ] = None,
    nvd_api_key: Annotated[
        str | None,
        typer.Option(
            "--nvd-api-key", envvar="NVD_API_KEY", help="NVD API key (50 instead of 5 requests/30 s)."
        ),
    ] = None,
    nvd_since: Annotated[
        str | None,
        typer.Option(
            "--nvd-since", help="First NVD sync: only CVEs modified since this date (default: all)."
        ),
    ] = None,
    base_url_osv: Annotated[str | None, typer.Option("--base-url-osv", help="OSV bucket base URL.")] = None,
    base_url_nvd: Annotated[str | None, typer.Option("--base-url-nvd", help="NVD CVE API 2.0 URL.")] = None,
    base_url_kev: Annotated[str | None, typer.Option("--base-url-kev", help="KEV JSON feed URL.")] = None,
    base_url_epss: Annotated[str | None, typer.Option("--base-url-epss", help="EPSS CSV (gzip) URL.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request.")] = 60.0,
    max_retries: Annotated[
        int, typer.Option("--max-retries", min=0, help="Retries per request (back-off with jitter).")
    ] = 6,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Download what changed from the official feeds (conditional, rate-limited, resumable)."""
    from ..vulns import sync as vsync

    opts = vsync.SyncOptions(
        timeout=timeout,
        nvd_api_key=nvd_api_key or None,
        nvd_since=_since(nvd_since),
        max_retries=max_retries,
        connect_retries=min(2, max_retries),
    )
    if source:
        opts.sources = tuple(dict.fromkeys(s.value for s in source))
    if osv_ecosystem:
        opts.osv_ecosystems = tuple(osv_ecosystem)
    for attr, value in (
        ("osv_base_url", base_url_osv),
        ("nvd_url", base_url_nvd),
        ("kev_url", base_url_kev),
        ("epss_url", base_url_epss),
    ):
        if value:
            setattr(opts, attr, value)
    if not json_out and err_console.is_terminal:
        opts.log = lambda message: err_console.print(f"[dim]{message}[/]", highlight=False)
    store = open_store()
    try:
        with user_errors():
            results = vsync.sync(store, opts)
    finally:
        store.dispose()
    data = vsync.summarise(results)
    changed = [i for r in results for rep in r.reports for i in rep.changed_ids]
    monitoring = _rematch_after_import(changed, "sync") if any(r.reports for r in results) else None
    if json_out:
        print_json({"results": data, "monitoring": monitoring})
    else:
        table = Table(title="sync")
        for col in ("source", "status", "requests", "read", "added", "updated", "unchanged", "problems"):
            table.add_column(col, justify="left" if col in ("source", "status") else "right")
        for d in data:
            label = f"osv {d['url'].rsplit('/', 2)[-2]}" if d["source"] == "osv" else d["source"]
            table.add_row(
                label,
                d["status"],
                *(str(d[k]) for k in ("requests", "read", "added", "updated", "unchanged")),
                str(len(d["problems"])),
            )
        console.print(table)
        _print_problems([tuple(p) for d in data for p in d["problems"]])  # type: ignore[misc]
        for d in data:
            if d["error"]:
                err_console.print(
                    f"[bold red]error:[/] {d['source']}: {d['error']}", highlight=False, soft_wrap=True
                )
        _print_monitoring(monitoring)
    if any(d["status"] == "failed" for d in data):
        raise typer.Exit(1)


@app.command("stats")
def vulns_stats(json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """What the local vulnerability database holds."""
    with session_scope() as session:
        data = vulndb.stats(session)
    if json_out:
        print_json(data)
        return
    console.print(
        f"advisories: {data['advisories']['osv']} OSV ({data['withdrawn']['osv']} withdrawn), "
        f"{data['advisories']['nvd']} NVD ({data['withdrawn']['nvd']} rejected)"
    )
    if data["ecosystems"]:
        console.print("ecosystems: " + ", ".join(f"{k} {v}" for k, v in data["ecosystems"].items()))
    console.print(
        f"KEV: {data['kev']['entries']} entries (catalogue {data['kev']['catalog_version'] or '-'})"
    )
    console.print(f"EPSS: {data['epss']['scores']} scores (dated {data['epss']['date'] or '-'})")
    console.print(f"generation: {data['generation']}")


def _show_data(item: vulndb.StoredAdvisory) -> dict[str, Any]:
    from ..vulns.sources.codec import to_obj

    adv = item.advisory
    return {
        "id": adv.id,
        "source": adv.source,
        "modified": adv.modified.isoformat(),
        "published": adv.published.isoformat() if adv.published else None,
        "withdrawn": adv.withdrawn.isoformat() if adv.withdrawn else None,
        "aliases": list(adv.aliases),
        "summary": adv.summary,
        "details": adv.details,
        "severities": [
            {
                "type": s.type,
                "vector": s.vector,
                "score": s.base_score,
                "source": s.source,
                "kind": s.metric_type,
            }
            for s in adv.severities
        ],
        "cwes": list(adv.cwes),
        "affected": to_obj(adv).get("aff", []),
        "configurations": len(adv.configurations),
        "references": list(adv.references),
        "provenance": {
            "location": item.location,
            "retrieved_at": item.retrieved_at.isoformat(),
            "sha256": item.sha256,
        },
        "kev": [
            {
                "cve": k.cve_id,
                "date_added": k.date_added.isoformat(),
                "due_date": k.due_date and k.due_date.isoformat(),
            }
            for k in item.kev
        ],
        "epss": [{"cve": e.cve_id, "epss": e.epss, "percentile": e.percentile} for e in item.epss],
    }


@app.command("show")
def vulns_show(
    adv_id: Annotated[
        str, typer.Argument(metavar="ID", help="Advisory id or alias (PYSEC-..., CVE-..., GHSA-...).")
    ],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One advisory (every source's record of it), with provenance, KEV and EPSS."""
    with session_scope() as session:
        items = [_show_data(i) for i in vulndb.show(session, adv_id)]
    if json_out:
        print_json({"advisories": items})
        return
    for d in items:
        flag = " [red](withdrawn)[/]" if d["withdrawn"] else ""
        console.print(f"[bold]{d['id']}[/] ({d['source']}){flag}", highlight=False)
        if d["aliases"]:
            console.print(f"  aliases: {', '.join(d['aliases'])}", highlight=False)
        console.print(f"  modified {d['modified']}, published {d['published'] or '-'}", highlight=False)
        if d["summary"] or d["details"]:
            text = (d["summary"] or d["details"] or "").strip().splitlines()[0]
            console.print(f"  {text[:300]}", highlight=False)
        for s in d["severities"]:
            console.print(
                f"  {s['type']}: {s['vector']} {s['score'] if s['score'] is not None else ''}",
                highlight=False,
            )
        for eco, name, _purl, ranges, versions in d["affected"]:
            spans = "; ".join(
                ",".join(f"{k} {v}" for k, v in events) for rtype, _repo, events in ranges if rtype != "GIT"
            )
            console.print(
                f"  affects {eco}/{name}: {spans or '-'} ({len(versions)} versions listed)", highlight=False
            )
        if d["configurations"]:
            console.print(f"  NVD configurations: {d['configurations']}")
        for k in d["kev"]:
            console.print(
                f"  [red]KEV[/] {k['cve']}: added {k['date_added']}, due {k['due_date'] or '-'}",
                highlight=False,
            )
        for e in d["epss"]:
            console.print(
                f"  EPSS {e['cve']}: {e['epss']:.5f} (percentile {e['percentile']:.3f})", highlight=False
            )
        console.print(
            f"  from {d['provenance']['location']} at {d['provenance']['retrieved_at']}", highlight=False
        )


__all__ = ["app"]


# --- monitoring: findings stored per device version ---------------------------------------------------


def _rematch_after_import(changed_ids: list[str], trigger: str) -> dict[str, Any] | None:
    """Re-match what an import or sync changed on the monitored device versions (its own transaction:
    the import stays committed if this fails)."""
    from ..services import monitoring

    with session_scope() as session:
        summary = monitoring.run_incremental(session, changed_ids, trigger=trigger)
    return summary.to_dict()


def _print_monitoring(data: dict[str, Any] | None) -> None:
    if data is None:
        return
    if data["run_id"] is not None:
        console.print(
            f"{data['new_findings']} new finding(s) in {data['versions_with_new']} device version(s)"
            + (f", {data['resolved_findings']} resolved" if data["resolved_findings"] else ""),
            highlight=False,
            soft_wrap=True,
        )
    if data["pending_versions"]:
        err_console.print(
            f"{data['pending_versions']} device version(s) not matched yet: run `medcyber vulns monitor`",
            highlight=False,
        )


def _finding_table(title: str, items: list[Any], *, with_first_seen: bool = True) -> Table:
    table = Table(title=title)
    table.add_column("device version", overflow="fold")
    table.add_column("component", overflow="fold")
    table.add_column("vulnerability", no_wrap=True)
    table.add_column("severity")
    table.add_column("fix", overflow="fold")
    if with_first_seen:
        table.add_column("first seen", no_wrap=True)
    for f in items:
        sev = f.severity + (f" {f.score:.1f}" if f.score is not None else "")
        if f.kev:
            sev += " [red]KEV[/]"
        if f.status != "affected":
            sev += f" ({f.status})"
        if f.resolved_at:
            sev += " (resolved)"
        row = [
            f"{f.product} {f.version}",
            f"{f.component} {f.component_version or ''}".strip(),
            f.vuln_id,
            sev,
            f.nearest_fix or "",
        ]
        if with_first_seen:
            row.append(f.first_seen_at.strftime("%Y-%m-%d"))
        table.add_row(*row)
    return table


@app.command("affected")
def vulns_affected(
    vuln_id: Annotated[
        str,
        typer.Argument(metavar="ID", help="Vulnerability id or any alias (CVE-..., GHSA-..., PYSEC-...)."),
    ],
    include_resolved: Annotated[
        bool, typer.Option("--include-resolved", help="Also list findings resolved since.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The device versions an advisory affects, from the stored findings (see `vulns monitor`)."""
    from ..services import monitoring

    with session_scope() as session:
        items = monitoring.affected(session, vuln_id, include_resolved=include_resolved)
        known = bool(items) or bool(vulndb.advisories_by_ids(session, [vuln_id]))
        last = monitoring.latest_run(session)
    if not known:
        fail(f"no advisory {vuln_id!r} in the store and no stored finding under that id")
    versions = sorted({(f.product, f.version) for f in items})
    if json_out:
        print_json(
            {
                "id": vuln_id,
                "last_run": last.id if last else None,
                "versions": len(versions),
                "affected": [f.to_dict() for f in items],
            }
        )
        return
    if last is None:
        err_console.print("no match run yet: run `medcyber vulns monitor` first", highlight=False)
    if not items:
        console.print(f"{vuln_id}: no device version affected", highlight=False)
        return
    console.print(_finding_table(f"{vuln_id}: {len(versions)} device version(s)", items))


@app.command("new")
def vulns_new(
    run: Annotated[int | None, typer.Option("--run", help="Match run id (default: the latest).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Findings new since the last run: those the given (default latest) match run opened."""
    from ..services import monitoring

    with session_scope() as session:
        items = monitoring.new_findings(session, run_id=run)
        run_id = run if run is not None else monitoring.latest_run(session).id  # type: ignore[union-attr]
    if json_out:
        print_json({"run": run_id, "new": [f.to_dict() for f in items]})
        return
    if not items:
        console.print(f"run #{run_id}: no new finding", highlight=False)
        return
    console.print(_finding_table(f"run #{run_id}: {len(items)} new finding(s)", items, with_first_seen=False))


@app.command("monitor")
def vulns_monitor(
    full: Annotated[
        bool, typer.Option("--full", help="Match every device version against everything.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Update the stored findings of every device version and list the new ones.

    The first run, or --full, matches every device version against the whole database. Later runs match
    the device versions whose SBOMs were added or changed since, and re-match on the others only the
    advisories (and KEV entries) imported since the last run.
    """
    from ..services import monitoring

    with session_scope() as session:
        summary = monitoring.monitor(session, full=full)
        items = monitoring.new_findings(session, run_id=summary.run_id)
    if json_out:
        print_json({"run": summary.to_dict(), "new": [f.to_dict() for f in items]})
        return
    console.print(
        f"run #{summary.run_id} ({summary.trigger}): {summary.versions_matched} device version(s) matched "
        f"against {summary.advisories_considered} advisories in {summary.seconds:.2f} s; "
        f"{summary.line()}, {summary.resolved_findings} resolved",
        highlight=False,
        soft_wrap=True,
    )
    if items:
        console.print(_finding_table("new findings", items, with_first_seen=False))
