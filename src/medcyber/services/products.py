"""Products, their versions and their SBOMs in the store.

An SBOM import is one unit of work in the caller's transaction: everything is read and checked before the
first row is written, and if anything fails afterwards the caller's session rolls back (``Store.session``
does), so a failed import leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import difflib
import gzip
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Date, Text, cast, delete, insert, select
from sqlalchemy.orm import Session, selectinload

from ..sbom.model import (
    Component,
    ComponentType,
    DeclaredSupport,
    DocumentInfo,
    Hash,
    ReadResult,
    Sbom,
    SbomError,
    SupportLevel,
)
from ..store.models import (
    Organisation,
    Product,
    ProductVersion,
    SbomComponentRow,
    SbomDependencyRow,
    SbomRecord,
)
from .assessments import get_or_create_organisation
from .errors import ConflictError, NotFoundError, ServiceError

SBOM_KINDS = ("software", "firmware", "hardware")
DEFAULT_ORGANISATION = "My organisation"
_BATCH = 5000  # rows per executemany batch


class SbomImportError(ServiceError):
    """An SBOM was refused: ``problems`` lists what is wrong (each "path: message")."""

    def __init__(self, source: str, message: str, problems: Sequence[str] = ()):
        self.source = source
        self.problems = list(problems)
        shown = "".join(f"\n  {p}" for p in self.problems[:20])
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{source}: {message}{shown}{more}")


# --- organisations and products ---------------------------------------------------------------------


def _organisation_for_new_product(session: Session, organisation: str | None) -> Organisation:
    if organisation:
        return get_or_create_organisation(session, organisation)
    orgs = list(session.scalars(select(Organisation).order_by(Organisation.name).limit(2)))
    if len(orgs) == 1:
        return orgs[0]
    if not orgs:
        return get_or_create_organisation(session, DEFAULT_ORGANISATION)
    names = sorted(session.scalars(select(Organisation.name)))
    raise ServiceError(
        f"several organisations are in the store ({', '.join(names)}): say which one owns the product"
    )


def _products_named(session: Session, name: str, organisation: str | None) -> list[Product]:
    q = select(Product).where(Product.name == name).options(selectinload(Product.organisation))
    if organisation:
        q = q.join(Organisation).where(Organisation.name == organisation)
    return list(session.scalars(q))


def find_product(session: Session, name: str, *, organisation: str | None = None) -> Product:
    """The product with this name (of this organisation, when several organisations use the name)."""
    found = _products_named(session, name.strip(), organisation)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        owners = ", ".join(sorted(p.organisation.name for p in found))
        raise ServiceError(
            f"several organisations have a product named {name!r} ({owners}): name the organisation"
        )
    names = list(session.scalars(select(Product.name)))
    close = difflib.get_close_matches(name, names, n=3)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    where = f" of organisation {organisation!r}" if organisation else ""
    raise NotFoundError(f"no product named {name!r}{where}{hint}")


def create_product(
    session: Session,
    name: str,
    *,
    organisation: str | None = None,
    description: str | None = None,
    device_class: str | None = None,
) -> Product:
    """A new product; refused when the organisation already has one with this name."""
    name = name.strip()
    if not name:
        raise ServiceError("a product needs a name")
    org = _organisation_for_new_product(session, organisation)
    exists = session.scalar(select(Product).where(Product.organisation_id == org.id, Product.name == name))
    if exists is not None:
        raise ConflictError(f"organisation {org.name!r} already has a product named {name!r}")
    product = Product(organisation=org, name=name, description=description, device_class=device_class)
    session.add(product)
    session.flush()
    return product


def get_or_create_product(
    session: Session,
    name: str,
    *,
    organisation: str | None = None,
    description: str | None = None,
    device_class: str | None = None,
) -> Product:
    """The product with this name, created when missing (descriptive fields are updated when given)."""
    found = _products_named(session, name.strip(), organisation)
    if len(found) > 1:
        return find_product(session, name, organisation=organisation)  # raises the ambiguity message
    if not found:
        return create_product(
            session, name, organisation=organisation, description=description, device_class=device_class
        )
    product = found[0]
    if description is not None:
        product.description = description
    if device_class is not None:
        product.device_class = device_class
    session.flush()
    return product


def list_products(session: Session, *, organisation: str | None = None) -> list[Product]:
    q = select(Product).options(selectinload(Product.organisation), selectinload(Product.versions))
    if organisation:
        q = q.join(Organisation).where(Organisation.name == organisation)
    return list(session.scalars(q.order_by(Product.name, Product.id)))


# --- versions --------------------------------------------------------------------------------------


def find_version(session: Session, product: Product, version: str) -> ProductVersion:
    pv = session.scalar(
        select(ProductVersion).where(
            ProductVersion.product_id == product.id, ProductVersion.version == version
        )
    )
    if pv is None:
        known = list(
            session.scalars(select(ProductVersion.version).where(ProductVersion.product_id == product.id))
        )
        listed = f"; known versions: {', '.join(known)}" if known else "; it has no versions yet"
        raise NotFoundError(f"product {product.name!r} has no version {version!r}{listed}")
    return pv


def get_or_create_version(
    session: Session,
    product: Product,
    version: str,
    *,
    released_on: dt.date | None = None,
    end_of_support: dt.date | None = None,
) -> ProductVersion:
    """The product version, created when missing (dates are updated when given)."""
    version = version.strip()
    if not version:
        raise ServiceError("a product version needs a version string")
    if len(version) > 100:
        raise ServiceError("a product version string is at most 100 characters")
    pv = session.scalar(
        select(ProductVersion).where(
            ProductVersion.product_id == product.id, ProductVersion.version == version
        )
    )
    if pv is None:
        pv = ProductVersion(product=product, version=version)
        session.add(pv)
    if released_on is not None:
        pv.released_on = released_on
    if end_of_support is not None:
        pv.end_of_support = end_of_support
    session.flush()
    return pv


def list_versions(session: Session, product: Product) -> list[ProductVersion]:
    return list(
        session.scalars(
            select(ProductVersion)
            .where(ProductVersion.product_id == product.id)
            .options(selectinload(ProductVersion.sboms))
            .order_by(ProductVersion.released_on.is_(None), ProductVersion.released_on, ProductVersion.id)
        )
    )


def resolve_version(
    session: Session, product: str, version: str, *, organisation: str | None = None
) -> ProductVersion:
    """An existing product version by names (NotFoundError naming what is missing)."""
    return find_version(session, find_product(session, product, organisation=organisation), version)


# --- SBOM import -----------------------------------------------------------------------------------


def _source_bytes(source: Path | str | bytes, name: str | None) -> tuple[bytes, str | None]:
    if isinstance(source, bytes):
        return source, name
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SbomImportError(str(path), f"cannot read the file ({exc.strerror or exc})") from exc
    return data, name or path.name


COMPONENT_COLUMNS = (
    "sbom_id",
    "position",
    "is_primary",
    "ref",
    "name",
    "version",
    "type",
    "group",
    "supplier",
    "manufacturer",
    "purl",
    "cpes",
    "hashes",
    "licenses",
    "description",
    "properties",
    "scope",
    "parent_ref",
    "level_text",
    "level",
    "eos_text",
    "eos",
    "eos_rule",
    "support_source",
)
DEPENDENCY_COLUMNS = ("sbom_id", "ref", "depends_on")
_dumps = orjson.dumps


def _component_values(sbom_id: int, position: int, c: Component, primary: bool) -> tuple[Any, ...]:
    """One sbom_components row, in COMPONENT_COLUMNS order, JSON columns already serialised."""
    s = c.support
    return (
        sbom_id,
        position,
        primary,
        c.ref,
        c.name,
        c.version,
        c.type.value,
        c.group,
        c.supplier,
        c.manufacturer,
        c.purl,
        _dumps(c.cpes).decode(),
        _dumps([(h.alg, h.value) for h in c.hashes]).decode(),
        _dumps(c.licenses).decode(),
        c.description,
        _dumps(c.properties).decode(),
        c.scope,
        c.parent,
        s.level_text if s else None,
        s.level.value if s and s.level is not None else None,
        s.end_of_support_text if s else None,
        s.end_of_support if s else None,
        s.eos_rule if s else None,
        s.source if s else None,
    )


def _sqlite_values(row: tuple[Any, ...], indexes: list[int]) -> tuple[Any, ...]:
    values = list(row)
    for i in indexes:
        v = values[i]
        if isinstance(v, bool):
            values[i] = int(v)
        elif isinstance(v, dt.date):
            values[i] = v.isoformat()
    return tuple(values)


def _bulk_insert(session: Session, model: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert many rows fast, in the session's transaction: COPY on PostgreSQL (psycopg), one
    executemany on SQLite, SQLAlchemy's executemany elsewhere. JSON columns arrive serialised; values are
    written exactly as the ORM types would write them (JSON text, booleans, ISO dates on SQLite), so the
    ORM reads them back unchanged."""
    if not rows:
        return
    table = model.__table__
    conn = session.connection()
    names = ", ".join(f'"{c}"' for c in columns)
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        return
    if conn.dialect.name == "sqlite":
        convert = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, Boolean | Date)]
        if convert:
            rows = [_sqlite_values(r, convert) for r in rows]
        placeholders = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({placeholders})', rows)
        return
    json_columns = {i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)}
    dicts = [
        {
            c: orjson.loads(v) if i in json_columns else v
            for i, (c, v) in enumerate(zip(columns, r, strict=True))
        }
        for r in rows
    ]
    for start in range(0, len(dicts), _BATCH):
        conn.execute(insert(table), dicts[start : start + _BATCH])


def import_sbom(
    session: Session,
    product: Product | str,
    version: ProductVersion | str,
    source: Path | str | bytes,
    *,
    name: str | None = None,
    lenient: bool = False,
    kind: str = "software",
    organisation: str | None = None,
    limits: Any = None,
) -> SbomRecord:
    """Read, check and store one SBOM under a product version; returns the stored record.

    ``product`` and ``version`` may be names (created when missing). An invalid SBOM is refused with its
    problems unless ``lenient``, which stores what could be read and records what was dropped
    (``record.dropped``) and the schema errors (``record.errors``). The same bytes twice under the same
    version are refused. Nothing is written before every check has passed.
    """
    from ..sbom.reader import Limits, read_sbom

    if kind not in SBOM_KINDS:
        raise ServiceError(f"SBOM kind must be one of {', '.join(SBOM_KINDS)}, not {kind!r}")
    data, file_name = _source_bytes(source, name)
    label = file_name or "SBOM"
    try:
        result: ReadResult = read_sbom(data, name=label, lenient=lenient, limits=limits or Limits())
    except SbomError as exc:
        raise SbomImportError(label, str(exc).removeprefix(f"{label}: ")) from exc
    problems = [str(e) for e in result.errors]
    if not result.valid and not lenient:
        raise SbomImportError(
            label,
            f"is not a valid {_format_label(result)} document ({len(problems)} problem(s)); "
            "nothing was stored",
            problems,
        )
    if result.sbom is None:
        raise SbomImportError(label, "could not be read as an SBOM; nothing was stored", problems)
    digest = hashlib.sha256(data).hexdigest()

    # every check that needs no writing is done; now the rows
    prod = (
        product
        if isinstance(product, Product)
        else get_or_create_product(session, product, organisation=organisation)
    )
    pv = version if isinstance(version, ProductVersion) else get_or_create_version(session, prod, version)
    duplicate = session.scalar(
        select(SbomRecord).where(SbomRecord.version_id == pv.id, SbomRecord.sha256 == digest)
    )
    if duplicate is not None:
        raise ConflictError(
            f"{label}: the same SBOM (sha256 {digest[:12]}...) is already stored for "
            f"{prod.name} {pv.version} as SBOM #{duplicate.id}"
            f"{f' ({duplicate.file_name})' if duplicate.file_name else ''}"
        )
    sbom = result.sbom
    doc = sbom.document
    record = SbomRecord(
        product_version=pv,
        kind=kind,
        format=doc.format,
        spec_version=doc.spec_version,
        encoding=doc.encoding,
        serial=doc.serial,
        bom_version=doc.version,
        document_name=doc.name,
        document_timestamp=doc.timestamp.isoformat() if doc.timestamp else None,
        authors=list(doc.authors),
        tools=list(doc.tools),
        supplier=doc.supplier,
        lifecycles=list(doc.lifecycles),
        primary_ref=doc.primary,
        file_name=file_name,
        sha256=digest,
        size=len(data),
        content_gz=gzip.compress(data, compresslevel=6, mtime=0),
        valid=result.valid,
        errors=problems,
        dropped=list(result.dropped),
        component_count=len(sbom.components),
    )
    session.add(record)
    session.flush()
    sid = record.id
    rows = [_component_values(sid, i, c, False) for i, c in enumerate(sbom.components)]
    if sbom.primary_component is not None:
        rows.append(_component_values(sid, -1, sbom.primary_component, True))
    _bulk_insert(session, SbomComponentRow, COMPONENT_COLUMNS, rows)
    deps: list[tuple[Any, ...]] = []
    for ref, targets in sbom.dependencies.items():
        if not targets:
            deps.append((sid, ref, None))
        deps.extend((sid, ref, t) for t in targets)
    _bulk_insert(session, SbomDependencyRow, DEPENDENCY_COLUMNS, deps)
    session.flush()
    return record


def _format_label(result: ReadResult) -> str:
    fmt = {"cyclonedx": "CycloneDX", "spdx": "SPDX"}.get(result.format or "", "SBOM")
    return f"{fmt} {result.spec_version}" if result.spec_version else fmt


# --- reading back ----------------------------------------------------------------------------------


def get_sbom_record(session: Session, sbom_id: int) -> SbomRecord:
    rec = session.get(SbomRecord, sbom_id)
    if rec is None:
        raise NotFoundError(f"no SBOM with id {sbom_id}")
    return rec


def original_bytes(record: SbomRecord) -> bytes:
    """The SBOM exactly as it was imported."""
    return gzip.decompress(record.content_gz)


_TYPES = {t.value: t for t in ComponentType}
_LEVELS = {level.value: level for level in SupportLevel}
_JSON_COLUMNS = ("cpes", "hashes", "licenses", "properties")
_loads = orjson.loads


def _component_select() -> Any:
    """All sbom_components columns, the JSON ones as text (decoded with orjson: much faster)."""
    c = SbomComponentRow.__table__.c
    return select(
        *[cast(col, Text).label(col.name) if col.name in _JSON_COLUMNS else col for col in c],
    )


def _component_from_row(r: Any) -> Component:
    support = None
    if r.level_text is not None or r.eos_text is not None or r.support_source is not None:
        support = DeclaredSupport(
            level_text=r.level_text,
            level=_LEVELS[r.level] if r.level else None,
            end_of_support_text=r.eos_text,
            end_of_support=r.eos,
            eos_rule=r.eos_rule,
            source=r.support_source,
        )
    return Component(
        ref=r.ref,
        name=r.name,
        version=r.version,
        type=_TYPES[r.type],
        supplier=r.supplier,
        manufacturer=r.manufacturer,
        group=r.group,
        purl=r.purl,
        cpes=tuple(_loads(r.cpes)) if r.cpes else (),
        hashes=tuple(Hash(alg, value) for alg, value in _loads(r.hashes)) if r.hashes else (),
        licenses=tuple(_loads(r.licenses)) if r.licenses else (),
        description=r.description,
        properties=tuple((k, v) for k, v in _loads(r.properties)) if r.properties else (),
        support=support,
        parent=r.parent_ref,
        scope=r.scope,
    )


def load_sbom(session: Session, sbom_id: int) -> Sbom:
    """Rebuild the normalised SBOM of a stored document from its rows."""
    rec = get_sbom_record(session, sbom_id)
    c = SbomComponentRow.__table__.c
    rows = session.execute(_component_select().where(c.sbom_id == sbom_id).order_by(c.position, c.id)).all()
    components: list[Component] = []
    primary: Component | None = None
    for r in rows:
        comp = _component_from_row(r)
        if r.is_primary:
            primary = comp
        else:
            components.append(comp)
    d = SbomDependencyRow.__table__.c
    dependencies: dict[str, list[str]] = {}
    for ref, target in session.execute(
        select(d.ref, d.depends_on).where(d.sbom_id == sbom_id).order_by(d.id)
    ):
        targets = dependencies.setdefault(ref, [])
        if target is not None:
            targets.append(target)
    doc = DocumentInfo(
        format=rec.format,  # type: ignore[arg-type]
        spec_version=rec.spec_version,
        encoding=rec.encoding,  # type: ignore[arg-type]
        serial=rec.serial,
        version=rec.bom_version,
        name=rec.document_name,
        timestamp=dt.datetime.fromisoformat(rec.document_timestamp) if rec.document_timestamp else None,
        authors=tuple(rec.authors or ()),
        tools=tuple(rec.tools or ()),
        supplier=rec.supplier,
        lifecycles=tuple(rec.lifecycles or ()),
        primary=rec.primary_ref,
    )
    return Sbom(
        document=doc,
        components=components,
        dependencies={k: tuple(v) for k, v in dependencies.items()},
        primary_component=primary,
    )


def list_sboms(
    session: Session, *, product: str | None = None, organisation: str | None = None
) -> list[SbomRecord]:
    """Stored SBOMs (newest versions last), optionally of one product."""
    q = (
        select(SbomRecord)
        .join(ProductVersion)
        .join(Product)
        .options(selectinload(SbomRecord.product_version).selectinload(ProductVersion.product))
    )
    if product is not None:
        q = q.where(Product.id == find_product(session, product, organisation=organisation).id)
    elif organisation is not None:
        q = q.join(Organisation).where(Organisation.name == organisation)
    return list(session.scalars(q.order_by(Product.name, ProductVersion.id, SbomRecord.id)))


def delete_sbom(session: Session, sbom_id: int) -> None:
    rec = get_sbom_record(session, sbom_id)
    session.execute(delete(SbomRecord).where(SbomRecord.id == rec.id))
    session.expire_all()


@dataclass(slots=True)
class VersionComponent:
    """A component of a product version, with the SBOM it came from."""

    sbom_id: int
    kind: str
    component: Component


def version_components(
    session: Session,
    product: Product | str,
    version: ProductVersion | str,
    *,
    organisation: str | None = None,
) -> list[VersionComponent]:
    """Every component of every SBOM stored for a product version (primary components left out)."""
    pv = _version_of(session, product, version, organisation)
    c = SbomComponentRow.__table__.c
    q = (
        _component_select()
        .add_columns(SbomRecord.kind)
        .join(SbomRecord, SbomRecord.id == c.sbom_id)
        .where(SbomRecord.version_id == pv.id, c.is_primary.is_(False))
        .order_by(SbomRecord.id, c.position)
    )
    return [VersionComponent(r.sbom_id, r.kind, _component_from_row(r)) for r in session.execute(q)]


def _version_of(
    session: Session, product: Product | str, version: ProductVersion | str, organisation: str | None
) -> ProductVersion:
    if isinstance(version, ProductVersion):
        return version
    prod = (
        product if isinstance(product, Product) else find_product(session, product, organisation=organisation)
    )
    return find_version(session, prod, version)


def version_sbom(
    session: Session,
    product: Product | str,
    version: ProductVersion | str,
    *,
    organisation: str | None = None,
    kind: str | None = None,
) -> Sbom:
    """The SBOM of a product version: the stored one, or all of them (software, firmware, hardware)
    merged into one under a primary component that stands for the device version."""
    pv = _version_of(session, product, version, organisation)
    records = [r for r in pv.sboms if kind is None or r.kind == kind]
    if not records:
        what = f"{kind} SBOM" if kind else "SBOM"
        raise NotFoundError(f"{pv.product.name} {pv.version} has no {what} in the store")
    sboms = [load_sbom(session, r.id) for r in records]
    if len(sboms) == 1:
        return sboms[0]
    return merge_sboms(sboms, name=pv.product.name, version=pv.version, supplier=pv.product.organisation.name)


def merge_sboms(sboms: Sequence[Sbom], *, name: str, version: str, supplier: str | None = None) -> Sbom:
    """One SBOM out of several SBOMs of the same device version (refs kept unique; pure)."""
    device_ref = f"device:{name}@{version}"
    device = Component(
        ref=device_ref, name=name, version=version, type=ComponentType.DEVICE, supplier=supplier
    )
    components: list[Component] = []
    deps: dict[str, tuple[str, ...]] = {}
    roots: list[str] = []
    used: set[str] = {device_ref}
    for i, sbom in enumerate(sboms, start=1):
        members = list(sbom.components)
        if sbom.primary_component is not None and sbom.primary_component.ref not in sbom.by_ref():
            members.insert(0, sbom.primary_component)
        rename: dict[str, str] = {}
        for c in members:
            new = c.ref if c.ref not in used else f"sbom{i}:{c.ref}"
            rename[c.ref] = new
            used.add(new)
        for c in members:
            parent = rename.get(c.parent, c.parent) if c.parent else None
            components.append(replace(c, ref=rename[c.ref], parent=parent))
        for ref, targets in sbom.dependencies.items():
            deps[rename.get(ref, ref)] = tuple(rename.get(t, t) for t in targets)
        if sbom.primary_component is not None:
            roots.append(rename[sbom.primary_component.ref])
        else:
            roots.extend(rename[c.ref] for c in sbom.components if c.parent is None)
    deps[device_ref] = tuple(dict.fromkeys(roots))
    first = sboms[0].document
    doc = DocumentInfo(
        format=first.format,
        spec_version=first.spec_version,
        encoding=first.encoding,
        name=f"{name} {version}",
        supplier=supplier,
        authors=tuple(dict.fromkeys(a for s in sboms for a in s.document.authors)),
        tools=tuple(dict.fromkeys(t for s in sboms for t in s.document.tools)),
        primary=device_ref,
    )
    return Sbom(document=doc, components=components, dependencies=deps, primary_component=device)
