"""FIRST EPSS daily scores: CSV (usually gzip) with a ``#model_version:...,score_date:...`` comment line."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass
from pathlib import Path

from ..model import EpssScore
from . import Parsed, SourceError, read_bytes

MAX_FILE = 512 * 1024 * 1024


@dataclass(slots=True)
class EpssFile:
    model_version: str | None
    score_date: dt.date | None
    scores: list[Parsed[EpssScore]]


def _probability(text: str, field: str) -> float:
    value = float(text)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{field} {text!r} is not between 0 and 1")
    return value


def parse_csv(data: bytes, name: str) -> EpssFile:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError(f"{name}: not UTF-8 text") from None
    lines = io.StringIO(text)
    model_version: str | None = None
    score_date: dt.date | None = None
    first = lines.readline()
    if first.startswith("#"):
        for part in first[1:].strip().split(","):
            key, _, value = part.partition(":")
            if key.strip() == "model_version":
                model_version = value.strip()
            elif key.strip() == "score_date":
                try:
                    score_date = dt.date.fromisoformat(value.strip()[:10])
                except ValueError:
                    raise SourceError(f"{name}: score_date {value.strip()!r} is not a date") from None
        header_line = lines.readline()
    else:
        header_line = first
    header = [h.strip().lower() for h in header_line.strip().split(",")]
    if header[:3] != ["cve", "epss", "percentile"]:
        raise SourceError(f"{name}: not an EPSS file (expected the header cve,epss,percentile)")
    scores: list[Parsed[EpssScore]] = []
    line_no = 3 if first.startswith("#") else 2
    for row in csv.reader(lines):
        location = f"{name}:{line_no}"
        line_no += 1
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < 3:
            scores.append(Parsed(location, problem="expected three columns: cve,epss,percentile"))
            continue
        cve = row[0].strip()
        if not cve.startswith("CVE-"):
            scores.append(Parsed(location, problem=f"not a CVE id: {cve!r}"))
            continue
        try:
            epss = _probability(row[1].strip(), "epss")
            percentile = _probability(row[2].strip(), "percentile")
        except ValueError as exc:
            scores.append(Parsed(f"{location} ({cve})", problem=str(exc)))
            continue
        scores.append(Parsed(location, value=EpssScore(cve, epss, percentile, score_date)))
    return EpssFile(model_version, score_date, scores)


def read_epss(path: Path, max_file: int = MAX_FILE) -> EpssFile:
    return parse_csv(read_bytes(path, max_bytes=max_file), str(path))
