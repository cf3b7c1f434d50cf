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
    text,
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
    attachments: Mapped[list[EvidenceAttachment]] = relationship(
        back_populates="assessment",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="EvidenceAttachment.id",
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


class EvidenceAttachment(Base):
    """A file attached as evidence to one answer of an assessment (services/evidence.py).

    ``content`` is deferred: listing attachments never loads the files themselves."""

    __tablename__ = "evidence_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(200), doc="sanitised display name, extension kept")
    media_type: Mapped[str] = mapped_column(String(100), doc="sniffed from the content, not the client's")
    size: Mapped[int] = mapped_column(Integer, doc="bytes")
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[str | None] = mapped_column(String(200), doc="the actor, e.g. an e-mail address")
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, server_default=func.now())

    assessment: Mapped[Assessment] = relationship(back_populates="attachments")


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
    __table_args__ = (
        UniqueConstraint("version_id", "sha256", name="uq_sbom_version_sha256"),
        Index("ix_sboms_version_count", "version_id", "component_count"),  # migration 0008
    )

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


# The components the partial index ix_sbom_components_support holds (services/portfolio.py filters on
# this very text, so that SQLite can use the index; migration 0008 repeats it).
SUPPORT_INDEX_WHERE = "eos IS NOT NULL OR level IN ('no-longer-maintained', 'abandoned')"


class SbomComponentRow(Base):
    """One component of a stored SBOM (the primary component too, flagged), with its declared support."""

    __tablename__ = "sbom_components"
    __table_args__ = (
        Index("ix_sbom_components_purl", "purl"),
        Index("ix_sbom_components_name_version", "name", "version"),
        Index(  # migration 0008: the few components that declare an end of support (the dashboard)
            "ix_sbom_components_support",
            "sbom_id",
            "is_primary",
            "eos",
            "level",
            sqlite_where=text(SUPPORT_INDEX_WHERE),
            postgresql_where=text(SUPPORT_INDEX_WHERE),
        ),
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


# --- vulnerability intelligence (OSV, NVD, KEV, EPSS) -------------------------------------------------


class AdvisoryRow(Base):
    """One advisory (OSV record or NVD CVE): its normalised form as compact JSON, and where it came from.

    An id is unique per source, so an OSV record and the NVD's record of the same CVE id can coexist.
    """

    __tablename__ = "advisories"
    __table_args__ = (
        UniqueConstraint("source", "id", name="uq_advisory_source_id"),
        Index("ix_advisories_id", "id"),
        Index("ix_advisories_modified", "modified"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(10), doc="osv or nvd")
    modified: Mapped[dt.datetime] = mapped_column(DateTime, doc="UTC, as published")
    published: Mapped[dt.datetime | None] = mapped_column(DateTime)
    withdrawn: Mapped[dt.datetime | None] = mapped_column(DateTime)
    summary: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str | None] = mapped_column(Text)
    record: Mapped[str] = mapped_column(Text, doc="the normalised Advisory, compact JSON (sources/codec.py)")
    sha256: Mapped[str] = mapped_column(String(64), doc="of ``record``")
    location: Mapped[str] = mapped_column(Text, doc="file, archive member or URL it was read from")
    retrieved_at: Mapped[dt.datetime] = mapped_column(DateTime)
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("vuln_imports.id", ondelete="SET NULL"), doc="the import that wrote this version"
    )


class AdvisoryAliasRow(Base):
    __tablename__ = "advisory_aliases"
    __table_args__ = (Index("ix_advisory_aliases_alias", "alias"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    advisory_pk: Mapped[int] = mapped_column(ForeignKey("advisories.pk", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(200))


class AdvisoryPackageRow(Base):
    """A package an OSV advisory names: ecosystem base name (``Debian`` for ``Debian:11``) and name."""

    __tablename__ = "advisory_packages"
    __table_args__ = (Index("ix_advisory_packages_eco_name", "ecosystem", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    advisory_pk: Mapped[int] = mapped_column(ForeignKey("advisories.pk", ondelete="CASCADE"), index=True)
    ecosystem: Mapped[str] = mapped_column(String(100))
    ecosystem_full: Mapped[str] = mapped_column(String(200), doc="as written, e.g. Debian:11")
    name: Mapped[str] = mapped_column(Text, doc="normalised per ecosystem (PyPI: PEP 503)")


class AdvisoryCpeRow(Base):
    """A vendor/product an NVD configuration names (fields as written in the CPE, lower-cased)."""

    __tablename__ = "advisory_cpes"
    __table_args__ = (Index("ix_advisory_cpes_vendor_product", "vendor", "product"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    advisory_pk: Mapped[int] = mapped_column(ForeignKey("advisories.pk", ondelete="CASCADE"), index=True)
    part: Mapped[str] = mapped_column(String(1), doc="a, o or h")
    vendor: Mapped[str] = mapped_column(Text)
    product: Mapped[str] = mapped_column(Text)
    vulnerable: Mapped[bool] = mapped_column(Boolean, doc="false: a platform of a 'running on' condition")


class KevRow(Base):
    __tablename__ = "kev"

    cve_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    vendor: Mapped[str] = mapped_column(Text)
    product: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    date_added: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    required_action: Mapped[str] = mapped_column(Text)
    known_ransomware: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    catalog_version: Mapped[str | None] = mapped_column(String(40))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("vuln_imports.id", ondelete="SET NULL"))


class EpssRow(Base):
    __tablename__ = "epss"

    cve_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    epss: Mapped[float] = mapped_column(Float)
    percentile: Mapped[float] = mapped_column(Float)
    date: Mapped[dt.date | None] = mapped_column(Date)
    model_version: Mapped[str | None] = mapped_column(String(40))


class VulnImportRow(Base):
    """The log of imports and sync steps that were committed."""

    __tablename__ = "vuln_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(10))
    location: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64), doc="of the file read, when it was one file")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    read: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[list[str]]] = mapped_column(JSON, default=list, doc="[[location, reason], ...]")
    generation: Mapped[int] = mapped_column(Integer, default=0, doc="db_generation after this import")


class VulnSyncStateRow(Base):
    """Per source and URL: the validators of the last download and the cursor of an unfinished paging."""

    __tablename__ = "vuln_sync_state"
    __table_args__ = (UniqueConstraint("source", "url", name="uq_vuln_sync_source_url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text, doc="Last-Modified header, verbatim")
    sha256: Mapped[str | None] = mapped_column(String(64), doc="of the last body imported")
    cursor: Mapped[dict[str, object] | None] = mapped_column(JSON, doc="resumable paging position")
    synced_until: Mapped[dt.datetime | None] = mapped_column(DateTime, doc="NVD: complete up to (UTC)")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)


class DbGenerationRow(Base):
    """A single row: bumped by every import or sync that changes the vulnerability data."""

    __tablename__ = "db_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)


# --- monitoring: findings stored per device version (services/monitoring.py) ---------------------------


class MatchRunRow(Base):
    """One matching run over the fleet: a full match, or the re-match of the advisories an import changed."""

    __tablename__ = "match_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    generation: Mapped[int] = mapped_column(Integer, doc="db_generation of the data matched")
    trigger: Mapped[str] = mapped_column(String(10), doc="full, import, sync or manual")
    advisories_considered: Mapped[int] = mapped_column(Integer, default=0)
    versions_matched: Mapped[int] = mapped_column(Integer, default=0)
    new_findings: Mapped[int] = mapped_column(Integer, default=0)
    resolved_findings: Mapped[int] = mapped_column(Integer, default=0)


class MonitoredVersionRow(Base):
    """When a device version was last matched, and against which set of its SBOMs."""

    __tablename__ = "monitored_versions"

    product_version_id: Mapped[int] = mapped_column(
        ForeignKey("product_versions.id", ondelete="CASCADE"), primary_key=True
    )
    sboms: Mapped[str] = mapped_column(Text, doc="ids of the SBOMs matched, sorted, comma-separated")
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("match_runs.id", ondelete="SET NULL"))
    matched_at: Mapped[dt.datetime] = mapped_column(DateTime)


class VersionPackageRow(Base):
    """A package key of a matched device version: (OSV ecosystem, normalised name) of a purl, or
    ("CPE", "part:vendor:product") of a CPE -- how an incremental run finds its candidate versions."""

    __tablename__ = "version_packages"
    __table_args__ = (Index("ix_version_packages_key", "ecosystem", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_version_id: Mapped[int] = mapped_column(
        ForeignKey("product_versions.id", ondelete="CASCADE"), index=True
    )
    ecosystem: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(Text)


class VersionFindingRow(Base):
    """A vulnerability of a component of a device version, from its first sighting until resolved."""

    __tablename__ = "version_findings"
    __table_args__ = (
        UniqueConstraint("product_version_id", "component_ref", "vuln_id", name="uq_version_finding"),
        Index("ix_version_findings_opened_run", "opened_run_id"),
        Index(  # migration 0008: open findings per version, covering (the dashboard)
            "ix_version_findings_open", "product_version_id", "resolved_at", "severity", "kev", "status"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_version_id: Mapped[int] = mapped_column(ForeignKey("product_versions.id", ondelete="CASCADE"))
    component_ref: Mapped[str] = mapped_column(Text)
    component_name: Mapped[str] = mapped_column(Text)
    component_version: Mapped[str | None] = mapped_column(Text)
    purl: Mapped[str | None] = mapped_column(Text)
    cpe: Mapped[str | None] = mapped_column(Text)
    vuln_id: Mapped[str] = mapped_column(String(200), doc="the preferred id (the CVE when there is one)")
    summary: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10), doc="critical, high, medium, low, none or unknown")
    score: Mapped[float | None] = mapped_column(Float)
    kev: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), doc="affected or conditional")
    evidence: Mapped[str] = mapped_column(Text, doc="the ranges or CPE criteria that matched, one a line")
    fixed: Mapped[str | None] = mapped_column(Text, doc="fixed versions, comma-separated")
    nearest_fix: Mapped[str | None] = mapped_column(Text)
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("match_runs.id", ondelete="SET NULL"))
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("match_runs.id", ondelete="SET NULL"))
    opened_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("match_runs.id", ondelete="SET NULL"),
        doc="the run that (re)opened it: first_run_id, or the run that found it again after a resolution",
    )
    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolved_run_id: Mapped[int | None] = mapped_column(ForeignKey("match_runs.id", ondelete="SET NULL"))


class VersionFindingIdRow(Base):
    """Every advisory id and alias of a stored finding: "which device versions does X affect" by any id."""

    __tablename__ = "version_finding_ids"

    vuln_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    finding_id: Mapped[int] = mapped_column(
        ForeignKey("version_findings.id", ondelete="CASCADE"), primary_key=True, index=True
    )


# --- audit trail: hash-chained record of every change (medcyber.audit, services/audit.py) ---------------


class AuditEvent(Base):
    """One change: who, what, when, before/after, chained to the previous event by SHA-256.

    ``hash`` = SHA-256(``prev_hash`` + canonical JSON of the other fields), see ``medcyber.audit.chain``.
    ``organisation_id`` has no foreign key on purpose: the record must outlive what it describes.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("seq", name="uq_audit_events_seq"),
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
        Index("ix_audit_events_organisation", "organisation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, doc="gapless sequence number, from 1")
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime, doc="UTC, microseconds")
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80))
    entity_type: Mapped[str] = mapped_column(String(80))
    entity_id: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, object] | None] = mapped_column(JSON(none_as_null=True))
    after: Mapped[dict[str, object] | None] = mapped_column(JSON(none_as_null=True))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """A single row (id 1): the last sequence number and hash. Writers lock it, so the chain cannot fork;
    it also lets ``verify`` notice events deleted from the end of the log."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


# --- accounts: users, memberships, sessions, login attempts, API tokens (services/accounts.py) ---------


class User(Base):
    """A person who signs in. E-mail addresses are stored lower-cased; platform roles are flags."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255), doc="argon2id, PHC string")
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    is_steward: Mapped[bool] = mapped_column(Boolean, default=False)
    is_site_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, server_default=func.now())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Membership(Base):
    """A user's role in one organisation: admin, assessor or viewer."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id", name="uq_membership_user_org"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, server_default=func.now())

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship()


class UserSession(Base):
    """A signed-in browser session. Only the SHA-256 of the session id is stored."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, doc="sign-in time: the absolute expiry base")
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, doc="the idle expiry base")
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """One password sign-in attempt (the throttle counts recent failures per account and per IP)."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), doc="as typed, lower-cased (the account may not exist)")
    ip: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    success: Mapped[bool] = mapped_column(Boolean)


class ApiToken(Base):
    """A token for scripts and CI (``mcy_<id>_<secret>``): one organisation, some scopes, stored hashed."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, doc="the member the token acts as"
    )
    name: Mapped[str] = mapped_column(String(200))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, server_default=func.now())
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    organisation: Mapped[Organisation] = relationship()
    user: Mapped[User] = relationship()
