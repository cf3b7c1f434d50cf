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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
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


def _lock_head(session: Session, count: int = 1) -> tuple[int, str]:
    """Advance the chain head by ``count`` under its lock; the first new sequence number and the hash of
    the event before it."""
    advanced = session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(seq=AuditChainHead.seq + count)
        .execution_options(synchronize_session=False)
    )
    if advanced.rowcount == 0:  # type: ignore[attr-defined]
        if session.scalar(select(func.count()).select_from(AuditEvent)):
            raise AuditError("the audit chain head is missing although events exist: the trail was tampered")
        session.execute(insert(AuditChainHead).values(id=HEAD_ID, seq=count, hash=GENESIS_HASH))
    row = session.execute(
        select(AuditChainHead.seq, AuditChainHead.hash).where(AuditChainHead.id == HEAD_ID)
    ).one()
    return int(row.seq) - count + 1, str(row.hash)


@dataclass(frozen=True)
class NewEvent:
    """An event to append: who (``actor``), what (``action`` on ``entity_type`` ``entity_id``), in which
    organisation, and the values before and after (None when there is no before or after)."""

    actor: str
    action: str
    entity_type: str
    entity_id: str
    organisation_id: int | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


def _checked(event: NewEvent) -> NewEvent:
    for name in ("actor", "action", "entity_type", "entity_id"):
        _check_text(name, getattr(event, name))
    org = event.organisation_id
    if org is not None and (isinstance(org, bool) or not isinstance(org, int)):
        raise AuditError("audit organisation_id must be an integer or None")
    try:
        before = normalise_payload(event.before, "before")
        after = normalise_payload(event.after, "after")
    except (TypeError, ValueError) as exc:
        raise AuditError(str(exc)) from None
    return replace(event, before=before, after=after)


def record_many(session: Session, events: Sequence[NewEvent]) -> list[AuditEvent]:
    """Append events, in order, to the chain in one step (the head is locked and moved once); every event
    is checked before anything is written. Returns the stored events."""
    checked = [_checked(e) for e in events]
    if not checked:
        return []
    first_seq, prev_hash = _lock_head(session, len(checked))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # taken under the lock: ordered like seq
    occurred_at = canonical_timestamp(now)
    rows = []
    for seq, e in enumerate(checked, start=first_seq):
        fields = EventFields(
            seq=seq,
            occurred_at=occurred_at,
            actor=e.actor,
            action=e.action,
            entity_type=e.entity_type,
            entity_id=e.entity_id,
            organisation_id=e.organisation_id,
            before=e.before,  # type: ignore[arg-type]  # normalised: dict or None
            after=e.after,  # type: ignore[arg-type]
        )
        digest = event_hash(prev_hash, fields)
        rows.append(
            AuditEvent(
                seq=seq,
                occurred_at=now,
                actor=e.actor,
                action=e.action,
                entity_type=e.entity_type,
                entity_id=e.entity_id,
                organisation_id=e.organisation_id,
                before=e.before,
                after=e.after,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        prev_hash = digest
    session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(hash=prev_hash)
        .execution_options(synchronize_session=False)
    )
    session.add_all(rows)
    session.flush()
    return rows


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
    event = NewEvent(actor, action, entity_type, entity_id, organisation_id, before, after)
    return record_many(session, [event])[0]


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


def _stream(
    session: Session, up_to: int | None = None, *, organisation_id: int | None = None
) -> Iterator[ChainedEvent]:
    query = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)
    if up_to is not None:
        query = query.where(AuditEvent.seq <= up_to)
    if organisation_id is not None:
        query = query.where(AuditEvent.organisation_id == organisation_id)
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


def export(
    session: Session, out: TextIO, *, format: ExportFormat = "jsonl", organisation_id: int | None = None
) -> ExportSummary:
    """Write every event, in sequence order, with its hashes: JSONL (one object a line) or CSV (header
    row; before/after as canonical JSON). ``audit.chain.verify_lines`` / ``verify_csv`` re-verify it.

    With ``organisation_id``, only that organisation's events (same format): a convenience extract whose
    every event still carries its hashes, but which has gaps, so only the full export verifies offline."""
    if format not in ("jsonl", "csv"):
        raise AuditError(f"unknown export format {format!r}: jsonl or csv")
    writer = csv.writer(out, lineterminator="\n") if format == "csv" else None
    if writer is not None:
        writer.writerow(EXPORT_COLUMNS)
    count, last = 0, None
    for event in _stream(session, organisation_id=organisation_id):
        if writer is not None:
            writer.writerow(event.to_csv_row())
        else:
            out.write(json.dumps(event.to_record(), sort_keys=True, ensure_ascii=False) + "\n")
        count, last = count + 1, event
    return ExportSummary(count, last.seq if last else None, last.hash if last else None)


def recent(session: Session, limit: int = 50) -> list[AuditEvent]:
    """The last ``limit`` events, newest first."""
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(max(limit, 0))))


def events_page(
    session: Session, *, organisation_id: int | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[AuditEvent], int]:
    """One page of events, newest first (only one organisation's with ``organisation_id``), and how many
    events there are in all."""
    where = [] if organisation_id is None else [AuditEvent.organisation_id == organisation_id]
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
    query = (
        select(AuditEvent)
        .where(*where)
        .order_by(AuditEvent.seq.desc())
        .offset((max(page, 1) - 1) * per_page)
        .limit(max(per_page, 0))
    )
    return list(session.scalars(query)), int(total)
