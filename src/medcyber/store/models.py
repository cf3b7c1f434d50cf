"""ORM tables. Domain objects live in the domain packages; these rows are the adapter's concern."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    employees_band: Mapped[str | None] = mapped_column(String(40))
    revenue_band: Mapped[str | None] = mapped_column(String(40))
    device_classes: Mapped[list[str]] = mapped_column(JSON, default=list)
    region: Mapped[str | None] = mapped_column(String(80))
    benchmark_id: Mapped[str] = mapped_column(
        String(64), unique=True, doc="stable anonymous submission id used for every cohort"
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, server_default=func.now())

    assessments: Mapped[list[Assessment]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", order_by="Assessment.assessed_on"
    )


class Assessment(Base):
    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    bank_id: Mapped[str] = mapped_column(String(80))
    bank_version: Mapped[str] = mapped_column(String(20))
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    assessment_type: Mapped[str] = mapped_column(String(20), default="self")
    status: Mapped[str] = mapped_column(String(20), default="in_progress")
    source: Mapped[str | None] = mapped_column(String(300), doc="file it was imported from, if any")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)

    organisation: Mapped[Organisation] = relationship(back_populates="assessments")
    answers: Mapped[list[AnswerRow]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="AnswerRow.question_id"
    )


class AnswerRow(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("assessment_id", "question_id", name="uq_answer_question"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(40))
    level: Mapped[int | None] = mapped_column(Integer)
    not_applicable: Mapped[bool] = mapped_column(Boolean, default=False)
    na_reason: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)

    assessment: Mapped[Assessment] = relationship(back_populates="answers")


class Cohort(Base):
    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    min_cell: Mapped[int] = mapped_column(Integer, default=5)
    retention_periods: Mapped[int] = mapped_column(
        Integer, default=3, doc="how many of the most recent periods count; older ones age out"
    )
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, server_default=func.now())

    submissions: Mapped[list[SubmissionRow]] = relationship(
        back_populates="cohort", cascade="all, delete-orphan"
    )


class SubmissionRow(Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("cohort_id", "submission_id", "period", name="uq_submission_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(20))
    employees_band: Mapped[str] = mapped_column(String(40))
    revenue_band: Mapped[str] = mapped_column(String(40))
    device_classes: Mapped[list[str]] = mapped_column(JSON, default=list)
    region: Mapped[str | None] = mapped_column(String(80))
    assessment_type: Mapped[str] = mapped_column(String(20), default="self")
    composite: Mapped[float] = mapped_column(Float)
    organizational_structure: Mapped[float] = mapped_column(Float)
    risk_management: Mapped[float] = mapped_column(Float)
    design_control: Mapped[float] = mapped_column(Float)
    complaint_handling: Mapped[float] = mapped_column(Float)
    bank_version: Mapped[str] = mapped_column(String(20))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="SET NULL"), doc="source assessment when made in this workspace"
    )
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, server_default=func.now())

    cohort: Mapped[Cohort] = relationship(back_populates="submissions")
