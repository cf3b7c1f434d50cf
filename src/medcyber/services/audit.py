"""The audit trail in the store: record a change, verify the chain, export it for an auditor.

``record`` appends one event in the caller's unit of work, so the event is committed (or rolled back)
together with the change it describes and the sequence stays gapless. Writers serialise on the single
``audit_chain_head`` row: the first statement is an UPDATE of that row, which takes its row lock on
PostgreSQL (a concurrent writer waits and then sees the new head) and the write lock on SQLite.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TextIO

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ..audit.chain import (
    EXPORT_COLUMNS,
    GENESIS_HASH,
    ChainedEvent,
    EventFields,
    VerifyResult,
    canonical_timestamp,
    event_hash,
    normalise_payload,
    verify_events,
)
from ..store.models import AuditChainHead, AuditEvent
from .errors import ServiceError

HEAD_ID = 1
_LIMITS = {"actor": 200, "action": 80, "entity_type": 80, "entity_id": 200}

ExportFormat = Literal["jsonl", "csv"]


class AuditError(ServiceError):
    pass


def _check_text(name: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise AuditError(f"audit {name} must be a non-empty string")
    if len(value) > _LIMITS[name]:
        raise AuditError(f"audit {name} is longer than {_LIMITS[name]} characters")


def _lock_head(session: Session) -> tuple[int, str]:
    """Advance the chain head under its lock; the new sequence number and the previous hash."""
    advanced = session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(seq=AuditChainHead.seq + 1)
        .execution_options(synchronize_session=False)
    )
    if advanced.rowcount == 0:  # type: ignore[attr-defined]
        if session.scalar(select(func.count()).select_from(AuditEvent)):
            raise AuditError("the audit chain head is missing although events exist: the trail was tampered")
        session.execute(insert(AuditChainHead).values(id=HEAD_ID, seq=1, hash=GENESIS_HASH))
    row = session.execute(
        select(AuditChainHead.seq, AuditChainHead.hash).where(AuditChainHead.id == HEAD_ID)
    ).one()
    return int(row.seq), str(row.hash)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    organisation_id: int | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> AuditEvent:
    """Append one event (who, what, on which entity, before and after) to the chain and return it."""
    for name, value in (("actor", actor), ("action", action), ("entity_type", entity_type)):
        _check_text(name, value)
    _check_text("entity_id", entity_id)
    if organisation_id is not None and (
        isinstance(organisation_id, bool) or not isinstance(organisation_id, int)
    ):
        raise AuditError("audit organisation_id must be an integer or None")
    try:
        before_n = normalise_payload(before, "before")
        after_n = normalise_payload(after, "after")
    except (TypeError, ValueError) as exc:
        raise AuditError(str(exc)) from None

    seq, prev_hash = _lock_head(session)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # taken under the lock: ordered like seq
    fields = EventFields(
        seq=seq,
        occurred_at=canonical_timestamp(now),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        organisation_id=organisation_id,
        before=before_n,
        after=after_n,
    )
    digest = event_hash(prev_hash, fields)
    session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(hash=digest)
        .execution_options(synchronize_session=False)
    )
    event = AuditEvent(
        seq=seq,
        occurred_at=now,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        organisation_id=organisation_id,
        before=before_n,
        after=after_n,
        prev_hash=prev_hash,
        hash=digest,
    )
    session.add(event)
    session.flush()
    return event


def to_chained(event: AuditEvent) -> ChainedEvent:
    return ChainedEvent(
        seq=event.seq,
        occurred_at=canonical_timestamp(event.occurred_at),
        actor=event.actor,
        action=event.action,
        entity_type=event.entity_type,
        entity_id=event.entity_id,
        organisation_id=event.organisation_id,
        before=event.before,
        after=event.after,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


def _stream(session: Session, up_to: int | None = None) -> Iterator[ChainedEvent]:
    query = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)
    if up_to is not None:
        query = query.where(AuditEvent.seq <= up_to)
    for event in session.scalars(query):
        yield to_chained(event)
        session.expunge(event)


def _head(session: Session) -> tuple[int, str] | None:
    row = session.execute(
        select(AuditChainHead.seq, AuditChainHead.hash).where(AuditChainHead.id == HEAD_ID)
    ).one_or_none()
    return (int(row.seq), str(row.hash)) if row else None


def verify(session: Session) -> VerifyResult:
    """Recompute the chain in the store; report every break, first one first (see ``audit.chain``).

    Read without blocking writers: the head first, then the events up to it (committed with it, so all
    visible); then events beyond a freshly read head are ones appended without the chain.
    """
    head = _head(session)
    if head is None:
        result = verify_events(_stream(session))
        result.add((result.last_seq or 0) + 1, "head_mismatch", "the audit chain head row is missing")
        return result
    result = verify_events(_stream(session, up_to=head[0]), head=head)
    beyond = session.scalar(select(func.max(AuditEvent.seq)))  # read before the fresh head (see above)
    fresh = _head(session)
    if beyond is not None and fresh is not None and beyond > fresh[0]:
        result.add(fresh[0] + 1, "beyond_head", f"events after the chain head ({fresh[0]}) up to {beyond}")
    return result


@dataclass(frozen=True)
class ExportSummary:
    events: int
    last_seq: int | None
    last_hash: str | None


def export(session: Session, out: TextIO, *, format: ExportFormat = "jsonl") -> ExportSummary:
    """Write every event, in sequence order, with its hashes: JSONL (one object a line) or CSV (header
    row; before/after as canonical JSON). ``audit.chain.verify_lines`` / ``verify_csv`` re-verify it."""
    if format not in ("jsonl", "csv"):
        raise AuditError(f"unknown export format {format!r}: jsonl or csv")
    writer = csv.writer(out, lineterminator="\n") if format == "csv" else None
    if writer is not None:
        writer.writerow(EXPORT_COLUMNS)
    count, last = 0, None
    for event in _stream(session):
        if writer is not None:
            writer.writerow(event.to_csv_row())
        else:
            out.write(json.dumps(event.to_record(), sort_keys=True, ensure_ascii=False) + "\n")
        count, last = count + 1, event
    return ExportSummary(count, last.seq if last else None, last.hash if last else None)


def recent(session: Session, limit: int = 50) -> list[AuditEvent]:
    """The last ``limit`` events, newest first."""
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(max(limit, 0))))
