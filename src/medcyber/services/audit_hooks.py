"""Every change made through the store goes into the audit trail, whoever makes it (CLI, web, API, scripts).

:func:`install` hooks SQLAlchemy session events on a session factory (``Store`` does it for its own):

* after each flush, every created, updated (a real change of a column value) or deleted row of an
  audited model (:data:`AUDITED`) becomes a pending event ``<entity>.create|update|delete`` with its
  primary key, the organisation it belongs to and its values: all of them for a create (``after``) and a
  delete (``before``), only the changed ones for an update (old in ``before``, new in ``after``);
* ORM ``UPDATE`` / ``DELETE`` statements run through the session on an audited table are read before (and
  after) they run and give the same events, row by row; an ``INSERT`` statement on one is refused (add
  objects instead, so the rows are recorded);
* just before the commit the pending events are appended to the hash chain (``services.audit``) in the
  same transaction: the change and its record commit or roll back together. A rollback (of a savepoint:
  its part) discards them; a unit of work that changes no audited row does not touch the chain.

Who: ``session.info["actor"]`` (:func:`set_actor`; ``"system"`` when nobody set it): the CLI sets
``cli:<login name>``, the web layer ``user:<email>`` or ``token:<id>:<email>``. :func:`note` records an
event that is not a row change (a sign-in, a vulnerability data import).

Never recorded: secrets (a password hash or token digest: an update only says it changed), binary columns
(files, compressed SBOMs: their size and SHA-256 are columns of their own), and columns that change on
every use (``updated_at``, last sign-in, last token use) as a reason for an update event. Tables left
out on purpose: sessions and login attempts (every request / sign-in), the audit tables themselves,
the vulnerability data (bulk imports; one ``vulndb.import`` event each), monitoring results (derived) and
SBOM components and dependencies (bulk; the ``sbom.create`` event carries ``component_count``). Rows the
database deletes by ``ON DELETE CASCADE`` are covered by the delete event of their parent. Writes that do
not go through an ORM session (``Connection.execute``, e.g. the bulk component insert) are not seen.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import LargeBinary, Table, event, inspect, select, tuple_
from sqlalchemy.orm import (
    Mapper,
    ORMExecuteState,
    Session,
    SessionTransaction,
    UOWTransaction,
    sessionmaker,
)
from sqlalchemy.orm.attributes import NO_VALUE

from ..store.models import (
    AnswerRow,
    ApiToken,
    Assessment,
    Base,
    Cohort,
    EvidenceAttachment,
    Membership,
    Organisation,
    Product,
    ProductVersion,
    SbomRecord,
    SubmissionRow,
    User,
)
from . import audit
from .audit import AuditError, NewEvent

ACTOR_KEY = "actor"
PENDING_KEY = "audit_pending"
DEFAULT_ACTOR = "system"
ALWAYS_VOLATILE = frozenset({"updated_at"})


class _Self:
    """The organisation of an Organisation row is its own id."""


SELF = _Self()
OrgRule = _Self | str | tuple[type[Base], str] | None


@dataclass(frozen=True)
class Audited:
    """How a model is audited.

    ``organisation``: how to find the organisation of a row: ``SELF``, the name of its organisation
    column, ``(Parent, "fk_column")`` (the parent's organisation) or None (not an organisation's row).
    ``secrets``: column -> the key an update records instead of the value (``{"password_changed": true}``).
    ``volatile``: columns whose change alone is no event (they change on every use).
    """

    entity: str
    organisation: OrgRule = None
    secrets: Mapping[str, str] = field(default_factory=dict)
    volatile: frozenset[str] = frozenset()


# One line per audited model (a new model that holds what users change gets a line here).
AUDITED: dict[type[Base], Audited] = {
    Organisation: Audited("organisation", SELF),
    Assessment: Audited("assessment", "organisation_id"),
    AnswerRow: Audited("answer", (Assessment, "assessment_id")),
    EvidenceAttachment: Audited("attachment", (Assessment, "assessment_id")),
    Cohort: Audited("cohort"),
    SubmissionRow: Audited("submission"),
    Product: Audited("product", "organisation_id"),
    ProductVersion: Audited("product_version", (Product, "product_id")),
    SbomRecord: Audited("sbom", (ProductVersion, "version_id")),
    User: Audited(
        "user", secrets={"password_hash": "password_changed"}, volatile=frozenset({"last_login_at"})
    ),
    Membership: Audited("membership", "organisation_id"),
    ApiToken: Audited(
        "api_token",
        "organisation_id",
        secrets={"secret_sha256": "secret_changed"},
        volatile=frozenset({"last_used_at"}),
    ),
}


@dataclass(frozen=True)
class _Model:
    """What the hooks need of an audited model, worked out once."""

    cls: type[Base]
    spec: Audited
    keys: tuple[str, ...]  # column attributes recorded (secrets and binary columns left out)
    hidden: dict[str, str]  # column attribute -> the key recorded when it changes
    pk: tuple[str, ...]
    deferred: frozenset[str]
    secrets: tuple[str, ...]  # hidden columns that are not binary (an UPDATE statement compares them)


def _model(cls: type[Base], spec: Audited) -> _Model:
    mapper: Mapper[Any] = inspect(cls)
    keys, hidden = [], {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if prop.key in spec.secrets:
            hidden[prop.key] = spec.secrets[prop.key]
        elif isinstance(column.type, LargeBinary):
            hidden[prop.key] = f"{prop.key}_changed"
        else:
            keys.append(prop.key)
    pk = tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)
    deferred = frozenset(p.key for p in mapper.column_attrs if p.deferred)
    return _Model(cls, spec, tuple(keys), hidden, pk, deferred, tuple(spec.secrets))


_MODELS: dict[type[Base], _Model] = {cls: _model(cls, spec) for cls, spec in AUDITED.items()}
_BY_TABLE: dict[str, _Model] = {m.cls.__table__.fullname: m for m in _MODELS.values()}  # type: ignore[attr-defined]


@dataclass
class _Pending:
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    transaction: SessionTransaction | None
    model: _Model | None = None  # row events: the organisation is resolved from ``values`` at commit
    values: dict[str, Any] = field(default_factory=dict)
    organisation_id: int | None = None


# --- the API for callers --------------------------------------------------------------------------------


def set_actor(session: Session, actor: str) -> None:
    """Who the changes of this session are made by, e.g. ``user:ann@acme.example`` (kept until changed)."""
    if not isinstance(actor, str) or not actor.strip():
        raise AuditError("the audit actor must be a non-empty string")
    session.info[ACTOR_KEY] = actor.strip()


def actor_of(session: Session) -> str:
    return str(session.info.get(ACTOR_KEY) or DEFAULT_ACTOR)


def note(
    session: Session,
    action: str,
    entity_type: str,
    entity_id: str | int,
    organisation_id: int | None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    """Record an event that is not a row change (``auth.login``, ``vulndb.import``): written at the commit
    of the unit of work, in order with its row changes, and dropped if it rolls back."""
    _pending(session).append(
        _Pending(
            actor=actor or actor_of(session),
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            before=dict(before) if before is not None else None,
            after=dict(after) if after is not None else None,
            transaction=_current_transaction(session),
            organisation_id=organisation_id,
        )
    )


_INSTALLED = "_medcyber_audit_installed"


def install(factory: sessionmaker[Session]) -> None:
    """Audit every unit of work of the sessions ``factory`` makes (idempotent)."""
    # A flag on the factory itself, not ``event.contains``: SQLAlchemy's event registry keys targets by
    # id(), so a new factory that reuses a collected one's address can look "already listened" and
    # would go unaudited.
    if getattr(factory, _INSTALLED, False):
        return
    setattr(factory, _INSTALLED, True)
    event.listen(factory, "before_flush", _before_flush)
    event.listen(factory, "after_flush", _after_flush)
    event.listen(factory, "do_orm_execute", _on_orm_execute)
    event.listen(factory, "before_commit", _before_commit)
    event.listen(factory, "after_soft_rollback", _after_soft_rollback)
    event.listen(factory, "after_transaction_end", _after_transaction_end)


# --- values ---------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # recorded as text rather than refusing the change
    return value


def _snapshot(model: _Model, state: Any) -> dict[str, Any]:
    """The column values of an instance, without a query (this runs in a flush): a column never set is
    None; an expired or deferred one that is not loaded is left out."""
    values, expired = state.dict, state.expired_attributes
    out = {}
    for k in model.keys:
        if k in values:
            out[k] = _plain(values[k])
        elif k not in expired and k not in model.deferred:
            out[k] = None
    return out


def _entity_id(model: _Model, values: Mapping[str, Any]) -> str:
    return ",".join(str(values.get(k)) for k in model.pk)


def _pending(session: Session) -> list[_Pending]:
    pending: list[_Pending] = session.info.setdefault(PENDING_KEY, [])
    return pending


def _current_transaction(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def _row_event(
    session: Session,
    model: _Model,
    action: str,
    values: dict[str, Any],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> _Pending:
    return _Pending(
        actor=actor_of(session),
        action=f"{model.spec.entity}.{action}",
        entity_type=model.spec.entity,
        entity_id=_entity_id(model, values),
        before=before,
        after=after,
        transaction=_current_transaction(session),
        model=model,
        values=values,
    )


# --- flushes --------------------------------------------------------------------------------------------


def _before_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Load what is not loaded of the rows about to be deleted, while they still exist."""
    for obj in session.deleted:
        model = _MODELS.get(type(obj))
        if model is None:
            continue
        state = inspect(obj)
        missing = [k for k in model.keys if k in state.unloaded]
        if missing and state.key is not None:
            session.refresh(obj, attribute_names=missing)


def _update_of(model: _Model, state: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    volatile = ALWAYS_VOLATILE | model.spec.volatile
    changed = False
    for key in (*model.keys, *model.hidden):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        if key in model.hidden:
            after[model.hidden[key]] = True
            changed = True
            continue
        if key in volatile:
            continue
        changed = True
        old = history.deleted[0] if history.deleted else NO_VALUE
        if old is not NO_VALUE:
            before[key] = _plain(old)
        after[key] = _plain(history.added[0]) if history.added else None
    return (before, after) if changed else None


def _after_flush(session: Session, flush: UOWTransaction) -> None:
    events: list[_Pending] = []
    for obj in session.new:
        model = _MODELS.get(type(obj))
        if model is not None:
            values = _snapshot(model, inspect(obj))
            events.append(_row_event(session, model, "create", values, None, dict(values)))
    for obj in session.dirty:
        model = _MODELS.get(type(obj))
        if model is None:
            continue
        state = inspect(obj)
        if state.deleted or state.was_deleted:
            continue
        change = _update_of(model, state)
        if change is not None:
            values = _snapshot(model, state)
            events.append(_row_event(session, model, "update", values, change[0], change[1]))
    # the flush's own list: ``session.deleted`` misses the orphans a delete-orphan cascade removes
    for state, (is_delete, list_only) in flush.states.items():
        model = _MODELS.get(state.class_) if is_delete and not list_only else None
        if model is not None:
            values = _snapshot(model, state)
            events.append(_row_event(session, model, "delete", values, dict(values), None))
    if events:
        _pending(session).extend(events)


# --- UPDATE and DELETE statements -----------------------------------------------------------------------


def _rows(session: Session, model: _Model, where: Any, params: Any = None) -> list[dict[str, Any]]:
    """The rows a statement will touch: their recorded columns, and their secrets (to compare only)."""
    keys = (*model.keys, *model.secrets)
    query = select(*[getattr(model.cls, k) for k in keys])
    if where is not None:
        query = query.where(where)
    result = session.execute(query, params) if params else session.execute(query)
    return [{k: _plain(v) for k, v in zip(keys, row, strict=True)} for row in result]


def _public(model: _Model, row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in model.keys}


def _pk_clause(model: _Model, rows: Iterable[Mapping[str, Any]]) -> Any:
    keys = [tuple(r[k] for k in model.pk) for r in rows]
    if len(model.pk) == 1:
        return getattr(model.cls, model.pk[0]).in_([k[0] for k in keys])
    return tuple_(*[getattr(model.cls, k) for k in model.pk]).in_(keys)


def _on_orm_execute(state: ORMExecuteState) -> Any:
    if not (state.is_update or state.is_delete or state.is_insert):
        return None
    table = getattr(state.statement, "table", None)
    model = _BY_TABLE.get(table.fullname) if isinstance(table, Table) else None
    if model is None:
        return None
    if state.is_insert:
        raise AuditError(
            f"an INSERT statement on {model.cls.__tablename__} would bypass the audit trail: "
            "add ORM objects to the session instead"
        )
    session = state.session
    params = state.parameters
    if isinstance(params, list):  # bulk by primary key: one parameter set per row
        rows = [dict(p) for p in params]
        where = _pk_clause(model, rows) if rows else None
        before_rows = _rows(session, model, where) if rows else []
    else:
        where = state.statement.whereclause  # type: ignore[attr-defined]
        before_rows = _rows(session, model, where, params)
    result = state.invoke_statement()
    if not before_rows:
        return result
    events: list[_Pending] = []
    if state.is_delete:
        for row in before_rows:
            values = _public(model, row)
            events.append(_row_event(session, model, "delete", values, dict(values), None))
    else:
        after_rows = {_entity_id(model, r): r for r in _rows(session, model, _pk_clause(model, before_rows))}
        volatile = ALWAYS_VOLATILE | model.spec.volatile
        for old in before_rows:
            new = after_rows.get(_entity_id(model, old), old)
            changed = [k for k in model.keys if old.get(k) != new.get(k) and k not in volatile]
            after = {k: new[k] for k in changed}
            after.update({model.hidden[k]: True for k in model.secrets if old.get(k) != new.get(k)})
            if after:
                before = {k: old.get(k) for k in changed}
                events.append(_row_event(session, model, "update", _public(model, new), before, after))
    _pending(session).extend(events)
    return result


# --- commit and rollback --------------------------------------------------------------------------------


class _Organisations:
    """The organisation of rows: from the rows of this unit of work first (a parent created or deleted in
    it may not be found, or not yet be committed), then from the store, each parent looked up once."""

    def __init__(self, session: Session, events: Iterable[_Pending]):
        self.session = session
        self.rows: dict[tuple[type[Base], str], Mapping[str, Any]] = {
            (e.model.cls, e.entity_id): e.values for e in events if e.model is not None
        }
        self.known: dict[tuple[type[Base], Any], int | None] = {}

    def of(self, model: _Model, values: Mapping[str, Any]) -> int | None:
        rule = model.spec.organisation
        if rule is None:
            return None
        if isinstance(rule, _Self):
            return _int(values.get(model.pk[0]))
        if isinstance(rule, str):
            return _int(values.get(rule))
        parent, fk = rule
        return self.parent(parent, values.get(fk))

    def parent(self, cls: type[Base], pk: Any) -> int | None:
        if pk is None:
            return None
        key = (cls, pk)
        if key not in self.known:
            model = _MODELS[cls]
            values = self.rows.get((cls, str(pk)))
            if values is None:
                row = self.session.execute(
                    select(*[getattr(cls, k) for k in model.keys]).where(getattr(cls, model.pk[0]) == pk)
                ).one_or_none()
                values = dict(zip(model.keys, row, strict=True)) if row is not None else {}
            self.known[key] = self.of(model, values) if values else None
        return self.known[key]


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _write(session: Session, events: list[_Pending]) -> None:
    orgs = _Organisations(session, events)
    audit.record_many(
        session,
        [
            NewEvent(
                actor=e.actor,
                action=e.action,
                entity_type=e.entity_type,
                entity_id=e.entity_id,
                organisation_id=orgs.of(e.model, e.values) if e.model is not None else e.organisation_id,
                before=e.before,
                after=e.after,
            )
            for e in events
        ],
    )


def _before_commit(session: Session) -> None:
    # the commit flushes what is left only after this event: flush first, so those changes are recorded
    for _ in range(100):
        session.flush()
        events = session.info.pop(PENDING_KEY, None)
        if not events:
            return
        _write(session, events)
    raise AuditError("the audit trail could not settle: changes kept coming while it was being written")


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(PENDING_KEY)
    if pending:
        session.info[PENDING_KEY] = [e for e in pending if not _within(e.transaction, previous)]


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the unit of work is over: anything not written was not committed
        session.info.pop(PENDING_KEY, None)
