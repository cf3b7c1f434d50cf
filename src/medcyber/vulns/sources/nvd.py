"""NVD CVE API 2.0: pages (``vulnerabilities: [{cve: ...}]``) and single ``cve`` objects.

A file that is not JSON, or JSON that is neither a page nor a CVE record, cannot be trusted: it raises
``SourceError`` and the import stops. A CVE inside a page that lacks its id or dates, or has fields of the
wrong type, is reported as a problem and the others are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..model import Advisory, ConfigNode, Configuration, CpeMatch, Severity
from . import (
    Parsed,
    RecordError,
    SourceError,
    as_dict,
    as_list,
    expand_paths,
    parse_datetime,
    read_bytes,
    required_str,
)

MAX_FILE = 1024 * 1024 * 1024
_METRICS = (
    ("cvssMetricV40", "CVSS_V4"),
    ("cvssMetricV31", "CVSS_V3"),
    ("cvssMetricV30", "CVSS_V3"),
    ("cvssMetricV2", "CVSS_V2"),
)


@dataclass(slots=True)
class NvdPage:
    """The envelope of an API response (absent for a single record) and its CVEs."""

    results_per_page: int | None
    start_index: int | None
    total_results: int | None
    timestamp: str | None
    records: list[Parsed[Advisory]]


def _bool(value: Any, field: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RecordError(f"{field}: expected true or false")
    return value


def _opt_version(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RecordError(f"{field}: expected a version string")
    return value


def _operator(value: Any, field: str) -> str:
    op = value or "OR"
    if op not in ("OR", "AND"):
        raise RecordError(f"{field}: operator must be OR or AND, got {value!r}")
    return str(op)


def _configuration(raw: Any, where: str) -> Configuration:
    cfg = as_dict(raw, where)
    nodes = []
    for n, node_raw in enumerate(as_list(cfg.get("nodes"), f"{where}.nodes")):
        nw = f"{where}.nodes[{n}]"
        node = as_dict(node_raw, nw)
        matches = []
        for m, match_raw in enumerate(as_list(node.get("cpeMatch"), f"{nw}.cpeMatch")):
            mw = f"{nw}.cpeMatch[{m}]"
            match = as_dict(match_raw, mw)
            criteria = match.get("criteria")
            if not isinstance(criteria, str) or not criteria.startswith("cpe:2.3:"):
                raise RecordError(f"{mw}.criteria: not a CPE 2.3 string: {criteria!r}")
            matches.append(
                CpeMatch(
                    criteria=criteria,
                    vulnerable=_bool(match.get("vulnerable"), f"{mw}.vulnerable", True),
                    version_start_including=_opt_version(match.get("versionStartIncluding"), mw),
                    version_start_excluding=_opt_version(match.get("versionStartExcluding"), mw),
                    version_end_including=_opt_version(match.get("versionEndIncluding"), mw),
                    version_end_excluding=_opt_version(match.get("versionEndExcluding"), mw),
                )
            )
        nodes.append(
            ConfigNode(
                operator=_operator(node.get("operator"), f"{nw}.operator"),  # type: ignore[arg-type]
                negate=_bool(node.get("negate"), f"{nw}.negate", False),
                matches=tuple(matches),
            )
        )
    return Configuration(
        operator=_operator(cfg.get("operator"), f"{where}.operator"),  # type: ignore[arg-type]
        negate=_bool(cfg.get("negate"), f"{where}.negate", False),
        nodes=tuple(nodes),
    )


def _severities(metrics: dict[str, Any]) -> tuple[Severity, ...]:
    out: list[Severity] = []
    for key, stype in _METRICS:
        for i, raw in enumerate(as_list(metrics.get(key), f"metrics.{key}")):
            where = f"metrics.{key}[{i}]"
            metric = as_dict(raw, where)
            data = as_dict(metric.get("cvssData"), f"{where}.cvssData")
            vector = data.get("vectorString")
            if not isinstance(vector, str) or not vector:
                raise RecordError(f"{where}.cvssData.vectorString: missing")
            score = data.get("baseScore")
            if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
                raise RecordError(f"{where}.cvssData.baseScore: not a number")
            source = metric.get("source")
            mtype = metric.get("type")
            out.append(
                Severity(
                    type=stype,  # type: ignore[arg-type]
                    vector=vector,
                    source=source if isinstance(source, str) else None,
                    base_score=float(score) if score is not None else None,
                    metric_type=mtype if isinstance(mtype, str) else None,
                )
            )
    # the NVD's own (Primary) scores first within each version, as published otherwise
    return tuple(sorted(out, key=lambda s: (_METRIC_RANK[s.type], s.metric_type != "Primary")))


_METRIC_RANK = {"CVSS_V4": 0, "CVSS_V3": 1, "CVSS_V2": 2}


def parse_cve(record: Any) -> Advisory:
    """One NVD ``cve`` object as an ``Advisory`` (``vulnStatus`` "Rejected" marks it withdrawn)."""
    cve = as_dict(record, "cve")
    cve_id = required_str(cve.get("id"), "id")
    if not cve_id.startswith("CVE-"):
        raise RecordError(f"id: not a CVE id: {cve_id!r}")
    if cve.get("lastModified") in (None, ""):
        raise RecordError("missing 'lastModified'")
    modified = parse_datetime(cve["lastModified"], "lastModified")
    published = parse_datetime(cve["published"], "published") if cve.get("published") else None
    status = cve.get("vulnStatus")
    details = None
    for i, desc in enumerate(as_list(cve.get("descriptions"), "descriptions")):
        d = as_dict(desc, f"descriptions[{i}]")
        if d.get("lang") == "en" and isinstance(d.get("value"), str):
            details = d["value"]
            break
    cwes: list[str] = []
    for i, weakness in enumerate(as_list(cve.get("weaknesses"), "weaknesses")):
        w = as_dict(weakness, f"weaknesses[{i}]")
        for j, desc in enumerate(as_list(w.get("description"), f"weaknesses[{i}].description")):
            value = as_dict(desc, f"weaknesses[{i}].description[{j}]").get("value")
            if isinstance(value, str) and value.startswith("CWE-") and value not in cwes:
                cwes.append(value)
    references: list[str] = []
    for i, ref in enumerate(as_list(cve.get("references"), "references")):
        url = as_dict(ref, f"references[{i}]").get("url")
        if isinstance(url, str) and url and url not in references:
            references.append(url)
    return Advisory(
        id=cve_id,
        source="nvd",
        modified=modified,
        published=published,
        withdrawn=modified if status == "Rejected" else None,
        details=details,
        severities=_severities(as_dict(cve.get("metrics"), "metrics")),
        cwes=tuple(cwes),
        configurations=tuple(
            _configuration(c, f"configurations[{i}]")
            for i, c in enumerate(as_list(cve.get("configurations"), "configurations"))
        ),
        references=tuple(references),
    )


def _parsed(raw: Any, location: str) -> Parsed[Advisory]:
    try:
        return Parsed(location, value=parse_cve(raw))
    except RecordError as exc:
        rid = raw.get("id") if isinstance(raw, dict) else None
        return Parsed(f"{location} ({rid})" if isinstance(rid, str) else location, problem=str(exc))


def _int_or_none(value: Any, field: str, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SourceError(f"{name}: {field} is not an integer")
    return value


def parse_page(data: bytes, name: str) -> NvdPage:
    """An API page, a feed file with the same envelope, a ``{"cve": ...}`` wrapper or a bare ``cve``."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"{name}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise SourceError(f"{name}: expected a JSON object (an NVD page or CVE record)")
    if "vulnerabilities" in doc:
        vulns = doc["vulnerabilities"]
        if not isinstance(vulns, list):
            raise SourceError(f"{name}: 'vulnerabilities' is not a list")
        records: list[Parsed[Advisory]] = []
        for i, item in enumerate(vulns):
            location = f"{name}#{i}"
            if not isinstance(item, dict) or not isinstance(item.get("cve"), dict):
                records.append(Parsed(location, problem="entry without a 'cve' object"))
                continue
            records.append(_parsed(item["cve"], location))
        timestamp = doc.get("timestamp")
        return NvdPage(
            results_per_page=_int_or_none(doc.get("resultsPerPage"), "resultsPerPage", name),
            start_index=_int_or_none(doc.get("startIndex"), "startIndex", name),
            total_results=_int_or_none(doc.get("totalResults"), "totalResults", name),
            timestamp=timestamp if isinstance(timestamp, str) else None,
            records=records,
        )
    if isinstance(doc.get("cve"), dict):
        doc = doc["cve"]
    if "id" in doc and ("descriptions" in doc or "lastModified" in doc):
        return NvdPage(None, None, None, None, [_parsed(doc, name)])
    raise SourceError(f"{name}: neither an NVD CVE API page nor a CVE record")


def nvd_files(paths: Iterable[Path]) -> list[Path]:
    return list(expand_paths(paths, (".json", ".json.gz")))


def read_nvd(paths: Iterable[Path], max_file: int = MAX_FILE) -> Iterator[Parsed[Advisory]]:
    for path in nvd_files(paths):
        yield from parse_page(read_bytes(path, max_bytes=max_file), str(path)).records
