"""Advisory sources: pure parsers from bytes and paths to the shared model (no store, no network).

Every reader yields ``Parsed`` items: a record (or a KEV/EPSS entry) with the place it came from, or the
reason it could not be read. A malformed record is one problem among many; a source that cannot be read
at all (a corrupted archive, an unreadable NVD page, a gzip that does not inflate) raises ``SourceError``
and the caller abandons the whole import.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SourceError(ValueError):
    """The input as a whole cannot be read: nothing from it may be imported."""


class RecordError(ValueError):
    """One record is malformed: report it and go on."""


@dataclass(slots=True)
class Parsed(Generic[T]):
    """One record read from ``location`` (``value``), or the reason it could not be (``problem``)."""

    location: str
    value: T | None = None
    problem: str | None = None


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_datetime(value: Any, field: str) -> dt.datetime:
    """An RFC 3339 / ISO 8601 timestamp as an aware UTC datetime (naive input is taken as UTC)."""
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, str) and value:
        text = _FRACTION.sub(r"\1", value.strip())
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        try:
            result = dt.datetime.fromisoformat(text)
        except ValueError:
            raise RecordError(f"{field}: not a timestamp: {value!r}") from None
    else:
        raise RecordError(f"{field}: expected a timestamp, got {type(value).__name__}")
    if result.tzinfo is None:
        return result.replace(tzinfo=dt.UTC)
    return result.astimezone(dt.UTC)


def parse_date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise RecordError(f"{field}: not a date: {value!r}")


def optional_str(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{field}: expected a string, got {type(value).__name__}")
    return value


def required_str(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RecordError(f"missing or empty {field!r}" if value in (None, "") else f"{field}: not a string")
    return value.strip()


def as_list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"{field}: expected a list, got {type(value).__name__}")
    return value


def as_dict(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"{field}: expected an object, got {type(value).__name__}")
    return value


def read_bytes(path: Path, *, max_bytes: int) -> bytes:
    """A file's bytes, transparently gunzipped (by magic number), refused beyond ``max_bytes``."""
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise SourceError(f"{path}: larger than the limit of {max_bytes} bytes")
    if data[:2] == b"\x1f\x8b":
        data = gunzip(data, name=str(path), max_bytes=max_bytes)
    return data


def gunzip(data: bytes, *, name: str, max_bytes: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            out = gz.read(max_bytes + 1)
    except (OSError, EOFError, ValueError) as exc:
        raise SourceError(f"{name}: not a readable gzip file ({exc})") from None
    if len(out) > max_bytes:
        raise SourceError(f"{name}: inflates beyond the limit of {max_bytes} bytes")
    return out


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def expand_paths(paths: Iterable[Path], suffixes: tuple[str, ...]) -> Iterator[Path]:
    """Files named, and files under directories named (recursively, sorted), with one of ``suffixes``."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.name.lower().endswith(suffixes):
                    yield child
        elif path.exists():
            yield path
        else:
            raise SourceError(f"{path}: no such file or directory")
