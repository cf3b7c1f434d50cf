"""Scan results as a table (rich), JSON, SARIF 2.1.0 and a self-contained HTML page."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from .. import __version__
from .findings import Finding, ScanResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "none": "note",
    "unknown": "warning",
}
_STYLE = {
    "critical": "bold white on dark_red",
    "high": "bold red",
    "medium": "yellow",
    "low": "green",
    "none": "dim",
    "unknown": "dim",
}


def to_json(result: ScanResult) -> dict[str, Any]:
    return result.model_dump(mode="json")


def _component_label(f: Finding) -> str:
    return f"{f.name}@{f.version}" if f.version else f.name


def _message(f: Finding) -> str:
    bits = [f"{_component_label(f)} is affected by {f.id}"]
    if f.status == "conditional":
        bits[0] = f"{_component_label(f)} may be affected by {f.id} (conditional)"
    if f.summary:
        bits.append(f.summary)
    if f.conditions:
        bits.append("Only if present: " + "; ".join(f.conditions))
    if f.kev.in_kev:
        due = f", due {f.kev.due_date}" if f.kev.due_date else ""
        bits.append(f"In CISA KEV since {f.kev.date_added}{due}.")
    bits.append("Upgrade to " + f.nearest_fix + "." if f.nearest_fix else "No fixed version is known.")
    return " ".join(b if b.endswith(".") else b + "." for b in bits)


def to_sarif(result: ScanResult, sbom_uri: str) -> dict[str, Any]:
    """SARIF 2.1.0: one rule per vulnerability id, one result per finding located in the SBOM file."""
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for f in result.findings:
        if f.id not in rule_index:
            rule_index[f.id] = len(rules)
            props: dict[str, Any] = {"tags": ["security", "vulnerability", *f.aliases]}
            if f.severity.score is not None:
                props["security-severity"] = f"{f.severity.score:.1f}"
            rule: dict[str, Any] = {
                "id": f.id,
                "name": f.id.replace("-", ""),
                "shortDescription": {"text": (f.summary or f.id)[:1000]},
                "fullDescription": {"text": f.summary or f.id},
                "defaultConfiguration": {"level": _SARIF_LEVEL[f.severity.level]},
                "properties": props,
            }
            if f.id.startswith("CVE-"):
                rule["helpUri"] = f"https://nvd.nist.gov/vuln/detail/{f.id}"
            elif f.id.startswith(("GHSA-", "PYSEC-", "GO-", "RUSTSEC-", "OSV-")):
                rule["helpUri"] = f"https://osv.dev/vulnerability/{f.id}"
            rules.append(rule)
        results.append(
            {
                "ruleId": f.id,
                "ruleIndex": rule_index[f.id],
                "level": "note" if f.status == "conditional" else _SARIF_LEVEL[f.severity.level],
                "message": {"text": _message(f)},
                "locations": [
                    {
                        "physicalLocation": {"artifactLocation": {"uri": sbom_uri}},
                        "logicalLocations": [
                            {
                                "name": f.name,
                                "fullyQualifiedName": f.purl or f.cpe or f.ref,
                                "kind": "module",
                            }
                        ],
                    }
                ],
                "partialFingerprints": {"componentVulnerability": f"{f.ref}|{f.id}"},
                "properties": {
                    "status": f.status,
                    "severity": f.severity.level,
                    "cvss": f.severity.score,
                    "kev": f.kev.in_kev,
                    "epss": f.epss.score if f.epss else None,
                    "matched": f.matched,
                    "fixed": f.fixed,
                    "nearestFix": f.nearest_fix,
                    "aliases": f.aliases,
                    "supportStatus": f.support_status,
                },
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "medcyber",
                        "version": __version__,
                        "informationUri": "https://github.com/medcyber/medcyber",
                        "rules": rules,
                    }
                },
                "artifacts": [{"location": {"uri": sbom_uri}}],
                "results": results,
                "properties": {
                    "notEvaluated": [n.model_dump(mode="json") for n in result.not_evaluated],
                    "stats": result.stats,
                },
            }
        ],
    }


def to_html(result: ScanResult) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("medcyber.vulns", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
    )
    return env.get_template("scan.html.j2").render(r=result, version=__version__)


def print_table(result: ScanResult, console: Console) -> None:
    s = result.stats
    if result.findings:
        table = Table(title=f"Vulnerabilities in {result.sbom}", show_lines=False, expand=False)
        for col in ("severity", "id", "component", "fix", "KEV", "EPSS", "support"):
            table.add_column(col, no_wrap=col in ("id", "severity"), overflow="fold")
        for f in result.findings:
            lvl = f.severity.level
            sev = f"[{_STYLE[lvl]}]{lvl}[/]" + (
                f" {f.severity.score}" if f.severity.score is not None else ""
            )
            ident = f.id + (" (conditional)" if f.status == "conditional" else "")
            table.add_row(
                sev,
                ident,
                _component_label(f),
                f.nearest_fix or "-",
                ("yes" + (f" due {f.kev.due_date}" if f.kev.due_date else "")) if f.kev.in_kev else "",
                f"{f.epss.score:.3f}" if f.epss else "",
                f.support_status or "",
            )
        console.print(table)
    else:
        console.print("No known vulnerability matched.")
    console.print(
        f"{s['components']} components: {s['affected']} finding(s) affected, {s['conditional']} conditional, "
        f"{s['kev']} in KEV, {s['not_evaluated']} component(s) not evaluated.",
        highlight=False,
    )
    if s.get("ecosystems_without_advisories"):
        console.print(
            "[yellow]note:[/] the store has no advisories for "
            + ", ".join(s["ecosystems_without_advisories"])
            + ": those components were checked against nothing.",
            highlight=False,
        )
    if s["conditional"]:
        console.print(
            "Conditional findings need a platform the SBOM does not list; they do not count for --fail-on.",
            highlight=False,
        )
    if result.not_evaluated:
        nt = Table(title="Not evaluated")
        nt.add_column("component")
        nt.add_column("version")
        nt.add_column("reason")
        for n in result.not_evaluated:
            nt.add_row(n.name, n.version or "", n.reason)
        console.print(nt)
