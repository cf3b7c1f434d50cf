"""Evidence files attached to the answers of an assessment: add, list, fetch, delete.

What a file may be is decided by ``maturity.evidence_files`` (content sniffing, size and zip-bomb limits,
file-name sanitising); this module adds the rules of the store: the question must be in the assessment's
bank, the assessment must still be in progress, at most ``MAX_ATTACHMENTS_PER_QUESTION`` files a question,
the same file only once a question, and an attachment is only ever reached through its own assessment
(a caller that holds organisation A's assessment cannot read or delete organisation B's files).

The caller owns the unit of work (and records the audit event, e.g. with :func:`describe`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..maturity.evidence_files import (
    ALLOWED_DESCRIPTION,
    MAX_ATTACHMENT_BYTES,
    EvidenceFileError,
    check_file,
)
from ..store.models import Assessment, EvidenceAttachment
from . import assessments as assess_svc
from .errors import ConflictError, NotFoundError, ServiceError

__all__ = [
    "ALLOWED_DESCRIPTION",
    "MAX_ATTACHMENTS_PER_QUESTION",
    "MAX_ATTACHMENT_BYTES",
    "AssessmentClosedError",
    "EvidenceError",
    "add_attachment",
    "attachment_bytes",
    "attachment_counts",
    "delete_attachment",
    "describe",
    "get_attachment",
    "list_attachments",
]

MAX_ATTACHMENTS_PER_QUESTION = 20
MAX_UPLOADED_BY_CHARS = 200


class EvidenceError(ServiceError):
    """The file is refused (type, size, content) or a limit is reached; the message says which and why."""


AssessmentClosedError = assess_svc.AssessmentClosedError


def _require_open(assessment: Assessment, doing: str) -> None:
    assess_svc.require_open(assessment, f"{doing} evidence files of a finished assessment")


def _touch(assessment: Assessment) -> None:
    assessment.updated_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)


def add_attachment(
    session: Session,
    assessment: Assessment,
    question_id: str,
    file_name: str,
    data: bytes,
    *,
    uploaded_by: str | None = None,
) -> EvidenceAttachment:
    """Attach a file to the answer of ``question_id``; the stored media type is the sniffed one."""
    bank = assess_svc.bank_of(assessment)
    if not bank.has_question(question_id):
        raise NotFoundError(f"no question {question_id!r} in question bank {bank.version}")
    _require_open(assessment, "add")
    if uploaded_by is not None and len(uploaded_by) > MAX_UPLOADED_BY_CHARS:
        raise ServiceError(f"uploaded_by is longer than {MAX_UPLOADED_BY_CHARS} characters")
    data = bytes(data)
    try:
        checked = check_file(data, file_name)
    except EvidenceFileError as exc:
        raise EvidenceError(str(exc)) from None
    # lock the assessment row (PostgreSQL) so two concurrent uploads cannot both pass the count
    session.execute(select(Assessment.id).where(Assessment.id == assessment.id).with_for_update())
    same_question = (
        EvidenceAttachment.assessment_id == assessment.id,
        EvidenceAttachment.question_id == question_id,
    )
    count = session.scalar(select(func.count()).select_from(EvidenceAttachment).where(*same_question)) or 0
    if count >= MAX_ATTACHMENTS_PER_QUESTION:
        raise EvidenceError(
            f"{checked.file_name}: question {question_id} already has {count} evidence files, the most "
            f"allowed; delete one first"
        )
    twin = session.scalar(
        select(EvidenceAttachment.file_name).where(
            *same_question, EvidenceAttachment.sha256 == checked.sha256
        )
    )
    if twin is not None:
        raise ConflictError(
            f"{checked.file_name}: the same file is already attached to question {question_id} as {twin!r}"
        )
    att = EvidenceAttachment(
        question_id=question_id,
        file_name=checked.file_name,
        media_type=checked.media_type,
        size=checked.size,
        sha256=checked.sha256,
        content=data,
        uploaded_by=uploaded_by,
    )
    att.assessment = assessment
    session.add(att)
    _touch(assessment)
    session.flush()
    return att


def list_attachments(
    session: Session, assessment: Assessment, question_id: str | None = None
) -> list[EvidenceAttachment]:
    """The assessment's attachments (of one question, if given), by question then upload order.

    The files' bytes are not loaded (use :func:`attachment_bytes`)."""
    q = select(EvidenceAttachment).where(EvidenceAttachment.assessment_id == assessment.id)
    if question_id is not None:
        q = q.where(EvidenceAttachment.question_id == question_id)
    return list(session.scalars(q.order_by(EvidenceAttachment.question_id, EvidenceAttachment.id)))


def attachment_counts(session: Session, assessment: Assessment) -> dict[str, int]:
    """How many files each question of the assessment has (questions without any are absent)."""
    rows = session.execute(
        select(EvidenceAttachment.question_id, func.count())
        .where(EvidenceAttachment.assessment_id == assessment.id)
        .group_by(EvidenceAttachment.question_id)
    )
    return {qid: int(n) for qid, n in rows}


def get_attachment(session: Session, assessment: Assessment, attachment_id: int) -> EvidenceAttachment:
    """The attachment with this id *of this assessment*; NotFoundError otherwise (whoever else has it)."""
    att = session.scalar(
        select(EvidenceAttachment).where(
            EvidenceAttachment.id == attachment_id, EvidenceAttachment.assessment_id == assessment.id
        )
    )
    if att is None:
        raise NotFoundError(f"no evidence file {attachment_id} in assessment {assessment.id}")
    return att


def delete_attachment(session: Session, assessment: Assessment, attachment_id: int) -> dict[str, Any]:
    """Delete one attachment of an in-progress assessment; returns :func:`describe` of what was deleted."""
    att = get_attachment(session, assessment, attachment_id)
    _require_open(assessment, "delete")
    before = describe(att)
    session.delete(att)
    _touch(assessment)
    session.flush()
    session.expire(assessment, ["attachments"])
    return before


def attachment_bytes(att: EvidenceAttachment) -> bytes:
    """The stored file, checked against its SHA-256 (loads the deferred content)."""
    data = bytes(att.content)
    if hashlib.sha256(data).hexdigest() != att.sha256:
        raise ServiceError(
            f"evidence file {att.id} ({att.file_name}) is damaged in the store: checksum mismatch"
        )
    return data


def describe(att: EvidenceAttachment) -> dict[str, Any]:
    """The attachment's metadata (never its bytes): for the audit trail and the JSON API."""
    return {
        "id": att.id,
        "assessment_id": att.assessment_id,
        "question_id": att.question_id,
        "file_name": att.file_name,
        "media_type": att.media_type,
        "size": att.size,
        "sha256": att.sha256,
        "uploaded_by": att.uploaded_by,
        "uploaded_at": att.uploaded_at.isoformat() if att.uploaded_at else None,
    }
