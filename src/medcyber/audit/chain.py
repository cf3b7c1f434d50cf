"""The hash chain of the audit trail: canonical serialisation, chaining and verification (pure).

Each event is hashed as ``SHA-256(prev_hash + canonical)`` (both as UTF-8, the hash as 64 lower-case hex
digits), where ``prev_hash`` is the hash of the event before it (``GENESIS_HASH`` for event 1) and
``canonical`` is the JSON object of the event's fields

    seq, occurred_at, actor, action, entity_type, entity_id, organisation_id, before, after

with keys sorted, no whitespace (separators ``,`` and ``:``), non-ASCII characters escaped as ``\\uXXXX``
and ``occurred_at`` written as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six fraction digits). An
auditor can re-compute it with any JSON library that sorts keys; ``verify_lines`` and ``verify_csv`` do it
for the files ``medcyber audit export`` writes.

Verification walks the events in sequence order and reports, for each break it finds:

* ``gap``: a sequence number is missing (an event was deleted);
* ``prev_mismatch``: an event does not link to the stored hash of the event before it (events reordered,
  or one inserted or rewritten together with its hash);
* ``hash_mismatch``: an event's fields no longer give its stored hash (the event was edited);
* ``truncated`` / ``head_mismatch``: the log ends before, or differs from, the chain head recorded
  separately (events deleted from the end, or the last one rewritten);
* ``beyond_head``: events after the recorded chain head (appended without going through the chain);
* ``malformed``: an exported line or row that cannot be read.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Literal

GENESIS_HASH = "0" * 64
FIELDS = (
    "seq",
    "occurred_at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "organisation_id",
    "before",
    "after",
)
EXPORT_COLUMNS = (*FIELDS, "prev_hash", "hash")
MAX_PROBLEMS = 1000

ProblemKind = Literal[
    "gap", "prev_mismatch", "hash_mismatch", "truncated", "head_mismatch", "beyond_head", "malformed"
]


def canonical_timestamp(value: dt.datetime) -> str:
    """UTC with microseconds, ``2026-12-04T09:30:00.000001Z``; a naive datetime is taken as UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> dt.datetime:
    """The naive UTC datetime of a canonical timestamp (ValueError when it is not canonical)."""
    value = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    if canonical_timestamp(value) != text:
        raise ValueError(f"not a canonical timestamp: {text!r}")
    return value


def _plain(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: {value} cannot be recorded (not a finite number)")
        return value
    if isinstance(value, enum.Enum):
        return _plain(value.value, path)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: keys must be strings, got {key!r}")
            out[key] = _plain(item, f"{path}.{key}")
        return out
    if isinstance(value, set | frozenset):
        return sorted((_plain(v, f"{path}[]") for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{path}: a {type(value).__name__} cannot be recorded in the audit trail")


def normalise_payload(value: Mapping[str, Any] | None, name: str = "payload") -> dict[str, Any] | None:
    """The JSON form a before/after payload is stored and hashed in: dates as ISO 8601, enums as their
    value, decimals as strings, sets as sorted lists; anything else not JSON raises TypeError."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping or None, got {type(value).__name__}")
    plain = _plain(value, name)
    assert isinstance(plain, dict)
    return plain


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


@dataclass(frozen=True)
class EventFields:
    """What is hashed of an event (besides the previous hash)."""

    seq: int
    occurred_at: str  # canonical_timestamp
    actor: str
    action: str
    entity_type: str
    entity_id: str
    organisation_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def canonical(self) -> str:
        return canonical_json({name: getattr(self, name) for name in FIELDS})


def event_hash(prev_hash: str, fields: EventFields) -> str:
    return hashlib.sha256((prev_hash + fields.canonical()).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainedEvent(EventFields):
    prev_hash: str
    hash: str

    def to_record(self) -> dict[str, Any]:
        """The event as one JSON object (a JSONL export line)."""
        return {name: getattr(self, name) for name in EXPORT_COLUMNS}

    def to_csv_row(self) -> list[str]:
        def cell(name: str) -> str:
            value = getattr(self, name)
            if value is None:
                return ""
            if name in ("before", "after"):
                return canonical_json(value)
            return str(value)

        return [cell(name) for name in EXPORT_COLUMNS]

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ChainedEvent:
        """Read an exported object strictly (wrong types raise ValueError: an edit must not be absorbed)."""
        missing = [name for name in EXPORT_COLUMNS if name not in record]
        if missing:
            raise ValueError(f"missing field(s): {', '.join(missing)}")
        extra = sorted(set(record) - set(EXPORT_COLUMNS))
        if extra:
            raise ValueError(f"unexpected field(s): {', '.join(extra)}")
        seq, org = record["seq"], record["organisation_id"]
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ValueError(f"seq must be an integer, got {seq!r}")
        if org is not None and (not isinstance(org, int) or isinstance(org, bool)):
            raise ValueError(f"organisation_id must be an integer or null, got {org!r}")
        for name in ("occurred_at", "actor", "action", "entity_type", "entity_id", "prev_hash", "hash"):
            if not isinstance(record[name], str):
                raise ValueError(f"{name} must be a string, got {record[name]!r}")
        for name in ("before", "after"):
            if record[name] is not None and not isinstance(record[name], dict):
                raise ValueError(f"{name} must be an object or null")
        return cls(**{name: record[name] for name in EXPORT_COLUMNS})

    @classmethod
    def from_csv_row(cls, row: Mapping[str, str]) -> ChainedEvent:
        record: dict[str, Any] = dict(row)
        try:
            record["seq"] = int(row["seq"])
            record["organisation_id"] = int(row["organisation_id"]) if row["organisation_id"] else None
            for name in ("before", "after"):
                record[name] = json.loads(row[name]) if row[name] else None
        except KeyError as exc:
            raise ValueError(f"missing column {exc.args[0]}") from None
        except (TypeError, json.JSONDecodeError) as exc:
            raise ValueError(str(exc)) from None
        return cls.from_record(record)


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: ProblemKind
    detail: str


@dataclass
class VerifyResult:
    events: int = 0
    last_seq: int | None = None
    last_hash: str | None = None
    problems: list[Problem] = field(default_factory=list)
    truncated_problems: bool = False  # more than MAX_PROBLEMS were found

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_broken_seq(self) -> int | None:
        return self.problems[0].seq if self.problems else None

    @property
    def reason(self) -> str | None:
        return f"{self.problems[0].kind}: {self.problems[0].detail}" if self.problems else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "first_broken_seq": self.first_broken_seq,
            "reason": self.reason,
            "problems": [asdict(p) for p in self.problems],
            "more_problems": self.truncated_problems,
        }

    def add(self, seq: int, kind: ProblemKind, detail: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(seq, kind, detail))
        else:
            self.truncated_problems = True


def _walk(items: Iterable[ChainedEvent | tuple[int, str]], head: tuple[int, str] | None) -> VerifyResult:
    """Verify a sequence of events in order; a (seq, message) item stands for one that could not be read."""
    result = VerifyResult()
    expected, prev = 1, GENESIS_HASH
    for item in items:
        if isinstance(item, tuple):
            seq, message = item
            result.add(seq if seq > 0 else expected, "malformed", message)
            expected, prev = max(expected, seq) + 1, ""
            continue
        event = item
        result.events += 1
        if event.seq > expected:
            missing = (
                f"event {expected}" if event.seq == expected + 1 else f"events {expected}-{event.seq - 1}"
            )
            result.add(expected, "gap", f"{missing} missing (deleted) before event {event.seq}")
        elif event.seq < expected:
            result.add(event.seq, "prev_mismatch", f"event {event.seq} out of order after {expected - 1}")
        if event.seq >= expected and prev and event.prev_hash != prev:
            result.add(
                event.seq,
                "prev_mismatch",
                f"event {event.seq} does not link to the event before it (reordered, inserted or rewritten)",
            )
        if event_hash(event.prev_hash, event) != event.hash:
            result.add(event.seq, "hash_mismatch", f"event {event.seq} was edited: its hash does not match")
        expected, prev = max(expected, event.seq + 1), event.hash
        result.last_seq, result.last_hash = event.seq, event.hash
    if head is not None:
        head_seq, head_hash = head
        last = result.last_seq or 0
        if head_seq > last:
            missing = f"event {last + 1}" if head_seq == last + 1 else f"events {last + 1}-{head_seq}"
            result.add(
                last + 1, "truncated", f"{missing} missing at the end (the chain head is at {head_seq})"
            )
        elif head_seq == last and head_seq > 0 and result.last_hash != head_hash:
            result.add(last, "head_mismatch", f"event {last} differs from the recorded chain head")
        elif head_seq < last:
            result.add(head_seq + 1, "beyond_head", f"events after the chain head ({head_seq}) up to {last}")
    return result


def verify_events(events: Iterable[ChainedEvent], *, head: tuple[int, str] | None = None) -> VerifyResult:
    """Verify events given in sequence order, and that the chain ends at ``head`` (seq, hash) if given."""
    return _walk(events, head)


def _jsonl_items(lines: Iterable[str]) -> Iterator[ChainedEvent | tuple[int, str]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        seq = 0
        try:
            record = json.loads(line)
            if isinstance(record, dict) and isinstance(record.get("seq"), int):
                seq = record["seq"]
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            yield ChainedEvent.from_record(record)
        except ValueError as exc:  # includes JSONDecodeError
            yield seq, f"line {number}: {exc}"


def verify_lines(lines: Iterable[str], *, head: tuple[int, str] | None = None) -> VerifyResult:
    """Verify a JSONL export (one event object a line, in sequence order), offline."""
    return _walk(_jsonl_items(lines), head)


def _csv_items(lines: Iterable[str]) -> Iterator[ChainedEvent | tuple[int, str]]:
    reader = csv.DictReader(lines)
    if tuple(reader.fieldnames or ()) != EXPORT_COLUMNS:
        yield 0, f"the header is not {','.join(EXPORT_COLUMNS)}"
        return
    for row in reader:
        try:
            yield ChainedEvent.from_csv_row(row)
        except ValueError as exc:
            seq = int(row["seq"]) if (row.get("seq") or "").isdigit() else 0
            yield seq, f"row {reader.line_num}: {exc}"


def verify_csv(lines: Iterable[str], *, head: tuple[int, str] | None = None) -> VerifyResult:
    """Verify a CSV export (a header row, then one event a row, in sequence order), offline."""
    return _walk(_csv_items(lines), head)
