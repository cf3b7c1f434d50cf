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
    Index,
    Integer,
    LargeBinary,
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


# --- products, versions and SBOMs ------------------------------------------------------------------


class Product(Base):
    """A device model of an organisation (what an SBOM describes, version by version)."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("organisation_id", "name", name="uq_product_org_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    device_class: Mapped[str | None] = mapped_column(String(20), doc="regulatory class, e.g. II")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, server_default=func.now())

    organisation: Mapped[Organisation] = relationship()
    versions: Mapped[list[ProductVersion]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ProductVersion.id",
    )


class ProductVersion(Base):
    """A released (or planned) version of a product."""

    __tablename__ = "product_versions"
    __table_args__ = (UniqueConstraint("product_id", "version", name="uq_product_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(100))
    released_on: Mapped[dt.date | None] = mapped_column(Date)
    end_of_support: Mapped[dt.date | None] = mapped_column(
        Date, doc="when the manufacturer stops supporting this device version, if decided"
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, server_default=func.now())

    product: Mapped[Product] = relationship(back_populates="versions")
    sboms: Mapped[list[SbomRecord]] = relationship(
        back_populates="product_version",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="SbomRecord.id",
    )


class SbomRecord(Base):
    """One imported SBOM document: its identity, the original bytes (gzip) and what reading it gave."""

    __tablename__ = "sboms"
    __table_args__ = (UniqueConstraint("version_id", "sha256", name="uq_sbom_version_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("product_versions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="software", doc="software, firmware or hardware")
    format: Mapped[str] = mapped_column(String(20))
    spec_version: Mapped[str] = mapped_column(String(20))
    encoding: Mapped[str] = mapped_column(String(20))
    serial: Mapped[str | None] = mapped_column(Text, doc="CycloneDX serialNumber or SPDX documentNamespace")
    bom_version: Mapped[int | None] = mapped_column(Integer)
    document_name: Mapped[str | None] = mapped_column(Text)
    document_timestamp: Mapped[str | None] = mapped_column(String(40), doc="ISO 8601, as read")
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    tools: Mapped[list[str]] = mapped_column(JSON, default=list)
    supplier: Mapped[str | None] = mapped_column(Text)
    lifecycles: Mapped[list[str]] = mapped_column(JSON, default=list)
    primary_ref: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True, doc="of the original bytes")
    size: Mapped[int] = mapped_column(Integer, doc="original size in bytes")
    content_gz: Mapped[bytes] = mapped_column(LargeBinary, doc="the original bytes, gzip-compressed")
    valid: Mapped[bool] = mapped_column(Boolean)
    errors: Mapped[list[str]] = mapped_column(JSON, default=list, doc="schema errors (lenient imports)")
    dropped: Mapped[list[str]] = mapped_column(JSON, default=list, doc="what a lenient import left out")
    component_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, server_default=func.now())

    product_version: Mapped[ProductVersion] = relationship(back_populates="sboms")


class SbomComponentRow(Base):
    """One component of a stored SBOM (the primary component too, flagged), with its declared support."""

    __tablename__ = "sbom_components"
    __table_args__ = (
        Index("ix_sbom_components_purl", "purl"),
        Index("ix_sbom_components_name_version", "name", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sbom_id: Mapped[int] = mapped_column(ForeignKey("sboms.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, doc="order in the document")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    ref: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(40))
    group: Mapped[str | None] = mapped_column(Text)
    supplier: Mapped[str | None] = mapped_column(Text)
    manufacturer: Mapped[str | None] = mapped_column(Text)
    purl: Mapped[str | None] = mapped_column(Text)
    cpes: Mapped[list[str]] = mapped_column(JSON, default=list)
    hashes: Mapped[list[list[str]]] = mapped_column(JSON, default=list, doc="[[alg, value], ...]")
    licenses: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[list[list[str]]] = mapped_column(JSON, default=list, doc="[[name, value], ...]")
    scope: Mapped[str | None] = mapped_column(String(40))
    parent_ref: Mapped[str | None] = mapped_column(Text)
    level_text: Mapped[str | None] = mapped_column(Text, doc="declared level of support, verbatim")
    level: Mapped[str | None] = mapped_column(String(40), doc="interpreted SupportLevel")
    eos_text: Mapped[str | None] = mapped_column(Text, doc="declared end-of-support, verbatim")
    eos: Mapped[dt.date | None] = mapped_column(Date)
    eos_rule: Mapped[str | None] = mapped_column(String(60))
    support_source: Mapped[str | None] = mapped_column(Text)


class SbomDependencyRow(Base):
    """One edge of a stored SBOM's dependency graph (``depends_on`` NULL: the ref is listed with none)."""

    __tablename__ = "sbom_dependencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sbom_id: Mapped[int] = mapped_column(ForeignKey("sboms.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str] = mapped_column(Text)
    depends_on: Mapped[str | None] = mapped_column(Text)
