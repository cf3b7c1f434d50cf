"""Every change made through the store lands in the hash-chained audit trail (services/audit_hooks.py):
who, what, when, before/after, on SQLite and (with MEDCYBER_TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, update

from medcyber.audit.chain import verify_lines
from medcyber.cli import common
from medcyber.maturity.bank import load_bank
from medcyber.maturity.scoring import Answer
from medcyber.services import accounts, audit, audit_hooks, evidence, vulndb
from medcyber.services import assessments as assess_svc
from medcyber.services import products as products_svc
from medcyber.services.audit import AuditError
from medcyber.store import Store
from medcyber.store.models import (
    ApiToken,
    AuditEvent,
    Organisation,
    Product,
    SbomComponentRow,
    User,
)

PASSWORD = "tangerine-orbit-lantern"


def events(store: Store, *, action: str | None = None) -> list[AuditEvent]:
    with store.session() as session:
        q = select(AuditEvent).order_by(AuditEvent.seq)
        if action is not None:
            q = q.where(AuditEvent.action == action)
        return list(session.scalars(q))


def actions(store: Store) -> list[str]:
    return [e.action for e in events(store)]


def assert_intact(store: Store) -> int:
    with store.session() as session:
        result = audit.verify(session)
    assert result.ok, result.to_dict()
    return result.events


@pytest.fixture
def medical(shared_data: Path) -> Path:
    return shared_data / "sbom" / "medical-device-case-study" / "narrow.sbom.json"


# --- rows of the benchmark side ------------------------------------------------------------------------


def test_organisation_assessment_and_answer_changes_are_recorded(store: Store) -> None:
    q1, q2 = (q.id for q in load_bank().questions[:2])
    with store.session() as session:
        audit_hooks.set_actor(session, "user:ann@acme.example")
        org = assess_svc.get_or_create_organisation(session, "Acme Medical")
        a = assess_svc.start_assessment(session, org, assessed_on=dt.date(2026, 3, 1))
        assess_svc.save_answer(session, a, Answer(question_id=q1, level=2, note="first"))
        assess_svc.save_answer(session, a, Answer(question_id=q2, level=1))
        org_id, a_id = org.id, a.id
    assert actions(store) == ["organisation.create", "assessment.create", "answer.create", "answer.create"]

    with store.session() as session:
        audit_hooks.set_actor(session, "user:bob@acme.example")
        a = assess_svc.get_assessment(session, a_id)
        assess_svc.save_answer(session, a, Answer(question_id=q1, level=3, note="first"))  # level only
        assess_svc.save_answer(session, a, Answer(question_id=q2, level=1))  # the same: no event
        assess_svc.clear_answer(session, a, q2)
    updated, deleted = events(store)[4:]
    assert (updated.action, updated.actor, updated.entity_type) == (
        "answer.update",
        "user:bob@acme.example",
        "answer",
    )
    assert updated.before == {"level": 2} and updated.after == {"level": 3}  # no updated_at noise
    assert updated.organisation_id == org_id
    assert deleted.action == "answer.delete" and deleted.after is None
    assert deleted.before is not None and deleted.before["question_id"] == q2 and deleted.before["level"] == 1
    assert deleted.organisation_id == org_id

    created = events(store, action="answer.create")[0]
    assert created.before is None and created.after is not None
    assert {"id", "assessment_id", "question_id", "level", "note", "updated_at"} <= set(created.after)
    assert created.after["note"] == "first" and created.after["assessment_id"] == a_id
    assert isinstance(created.after["updated_at"], str)  # a datetime, recorded as ISO 8601
    assert events(store, action="assessment.create")[0].after["assessed_on"] == "2026-03-01"  # type: ignore[index]
    assert {e.organisation_id for e in events(store)} == {org_id}
    assert {e.actor for e in events(store)[:4]} == {"user:ann@acme.example"}

    with store.session() as session:  # deleting the organisation deletes (and records) its rows
        session.delete(session.get(Organisation, org_id))
    tail = actions(store)[6:]
    assert sorted(tail) == ["answer.delete", "assessment.delete", "organisation.delete"]
    assert {e.organisation_id for e in events(store)[6:]} == {org_id}
    assert assert_intact(store) == 9


def test_evidence_files_are_recorded_without_their_bytes(store: Store) -> None:
    q1 = load_bank().questions[0].id
    content = b"risk management plan, signed off 2026-02-01\n"
    with store.session() as session:
        org = assess_svc.get_or_create_organisation(session, "Acme Medical")
        a = assess_svc.start_assessment(session, org, assessed_on=dt.date(2026, 3, 1))
        att = evidence.add_attachment(session, a, q1, "plan.txt", content, uploaded_by="ann@acme.example")
        org_id, a_id, att_id = org.id, a.id, att.id
    with store.session() as session:
        evidence.delete_attachment(session, assess_svc.get_assessment(session, a_id), att_id)
    (created,) = events(store, action="attachment.create")
    (deleted,) = events(store, action="attachment.delete")
    for e, values in ((created, created.after), (deleted, deleted.before)):
        assert e.organisation_id == org_id and e.entity_id == str(att_id)
        assert values is not None and "content" not in values
        assert values["sha256"] == hashlib.sha256(content).hexdigest() and values["size"] == len(content)
    with store.session() as session:
        out = io.StringIO()
        audit.export(session, out)
    assert "risk management plan" not in out.getvalue()
    assert assert_intact(store) == 4


# --- products, versions and SBOMs ----------------------------------------------------------------------


def test_sbom_import_is_one_event_per_row_not_per_component(store: Store, medical: Path) -> None:
    with store.session() as session:
        rec = products_svc.import_sbom(
            session, "Infusion pump", "3.1", medical, organisation="Case Study Inc"
        )
        sbom_id, components = rec.id, rec.component_count
        org_id = session.scalar(select(Organisation.id))
        assert session.scalar(select(func.count()).select_from(SbomComponentRow)) == components + 1
    assert components > 50
    assert actions(store) == [
        "organisation.create",
        "product.create",
        "product_version.create",
        "sbom.create",
    ]
    (sbom,) = events(store, action="sbom.create")
    assert sbom.entity_type == "sbom" and sbom.entity_id == str(sbom_id)
    assert sbom.organisation_id == org_id
    after: dict[str, Any] = sbom.after or {}
    assert after["component_count"] == components and after["size"] == medical.stat().st_size
    assert len(after["sha256"]) == 64 and "content_gz" not in after  # the bytes are never in the trail
    assert all(e.organisation_id == org_id for e in events(store))

    with store.session() as session:  # a DELETE statement is recorded too, row by row
        products_svc.delete_sbom(session, sbom_id)
    (gone,) = events(store, action="sbom.delete")
    assert gone.organisation_id == org_id and gone.before is not None and gone.before["id"] == sbom_id
    assert "content_gz" not in gone.before
    assert assert_intact(store) == 5


def test_update_and_delete_statements_are_recorded_and_insert_statements_refused(store: Store) -> None:
    with store.session() as session:
        p = products_svc.create_product(session, "Monitor", organisation="Acme")
        products_svc.create_product(session, "Pump", organisation="Acme")
        org_id, p_id = p.organisation_id, p.id
    with store.session() as session:
        session.execute(update(Product).where(Product.name == "Monitor").values(device_class="IIb"))
        session.execute(update(Product).where(Product.name == "Nothing").values(device_class="I"))
    (changed,) = events(store, action="product.update")
    assert changed.entity_id == str(p_id) and changed.organisation_id == org_id
    assert (changed.before, changed.after) == ({"device_class": None}, {"device_class": "IIb"})

    with store.session() as session:  # a database-level delete: the rows are read before they go
        session.execute(delete(Organisation).where(Organisation.name == "Acme"))
    (org_gone,) = events(store, action="organisation.delete")
    assert org_gone.before is not None and org_gone.before["name"] == "Acme"

    with store.session() as session:  # a secret changed by a statement: said, never shown
        user = accounts.create_user(session, "ann@acme.example").user
        session.execute(update(User).where(User.id == user.id).values(password_hash="$argon2id$x"))
    (pw,) = events(store, action="user.update")
    assert pw.after == {"password_changed": True} and pw.before == {}

    with pytest.raises(AuditError, match="bypass the audit trail"), store.session() as session:
        session.execute(insert(Organisation).values(name="Sneaky", benchmark_id="x"))
    with store.session() as session:
        assert session.scalar(select(Organisation).where(Organisation.name == "Sneaky")) is None
    assert assert_intact(store) == 7


# --- transactions --------------------------------------------------------------------------------------


def test_a_rolled_back_unit_of_work_leaves_no_event_and_the_chain_intact(store: Store) -> None:
    with store.session() as session:
        products_svc.create_product(session, "Monitor", organisation="Acme")
    with pytest.raises(RuntimeError), store.session() as session:
        products_svc.create_product(session, "Pump", organisation="Acme")
        audit_hooks.note(session, "test.note", "product", "1", None, after={"x": 1})
        raise RuntimeError("the request failed after the change")
    with store.session() as session:  # a savepoint rolled back drops its own events only
        products_svc.create_product(session, "Scanner", organisation="Acme")
        with pytest.raises(RuntimeError), session.begin_nested():
            products_svc.create_product(session, "Ghost", organisation="Acme")
            raise RuntimeError("undo the savepoint")
    session_reused = store._sessions()  # a session closed without commit starts clean the next time
    products_svc.create_product(session_reused, "Never", organisation="Acme")
    session_reused.close()
    session_reused.begin()
    session_reused.commit()
    session_reused.close()

    names = [(e.after or {}).get("name") for e in events(store, action="product.create")]
    assert names == ["Monitor", "Scanner"]
    assert actions(store) == ["organisation.create", "product.create", "product.create"]
    assert assert_intact(store) == 3


def test_a_unit_of_work_without_audited_changes_does_not_touch_the_chain(store: Store) -> None:
    with store.session() as session:
        products_svc.list_products(session)
        vulndb.db_generation(session)
    assert events(store) == []


# --- accounts: secrets, actors, sign-in ----------------------------------------------------------------


def test_secrets_never_reach_the_trail(store: Store) -> None:
    with store.session() as session:
        org = assess_svc.get_or_create_organisation(session, "Acme")
        user = accounts.create_user(session, "ann@acme.example").user
        accounts.add_membership(session, user, org, "admin")
        token, raw = accounts.create_api_token(session, org, user, "CI", ["sbom:upload"])
        token_id = token.id
    with store.session() as session:
        user = accounts.get_user(session, "ann@acme.example")
        accounts.set_password(session, user, PASSWORD)
        accounts.admin_reset_password(session, user)
        principal = accounts.authenticate_token(session, raw)  # marks last_used_at: no event
        assert principal.token_id == token_id
        accounts.revoke_api_token(session, token_id)
    with store.session() as session:
        user = accounts.get_user(session, "ann@acme.example")
        secrets = [user.password_hash, session.get(ApiToken, token_id).secret_sha256]  # type: ignore[union-attr]
        out = io.StringIO()
        audit.export(session, out)
    text = out.getvalue()
    for secret in [*secrets, raw, raw.rsplit("_", 1)[-1]]:
        assert secret not in text
    assert "$argon2" not in text and "password_hash" not in text and "secret_sha256" not in text

    user_updates = [e for e in events(store, action="user.update")]
    assert len(user_updates) == 2
    assert all((e.after or {}).get("password_changed") is True for e in user_updates)
    assert (user_updates[0].after or {}).get("must_change_password") is False
    token_events = events(store, action="api_token.update")
    assert len(token_events) == 1 and (token_events[0].after or {}).get("revoked_at")
    assert "last_used_at" not in (token_events[0].after or {})
    (token_create,) = events(store, action="api_token.create")
    assert token_create.organisation_id == org.id and token_create.after["scopes"] == ["sbom:upload"]  # type: ignore[index]
    assert verify_lines(text.splitlines()).ok


def test_the_actor_is_recorded(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    with store.session() as session:
        assess_svc.get_or_create_organisation(session, "Nobody set me")
    with store.session() as session:
        audit_hooks.set_actor(session, "token:7:ci@acme.example")
        assess_svc.get_or_create_organisation(session, "From CI")
    monkeypatch.setattr(common.state, "database_url", store.url)
    with common.session_scope() as session:
        assess_svc.get_or_create_organisation(session, "From the CLI")
    with store.session() as session, pytest.raises(AuditError):
        audit_hooks.set_actor(session, " ")
    assert [e.actor for e in events(store)] == [
        "system",
        "token:7:ci@acme.example",
        f"cli:{getpass.getuser()}",
    ]


def test_sign_in_and_sign_out_are_recorded(store: Store) -> None:
    with store.session() as session:
        user = accounts.create_user(session, "ann@acme.example").user
        accounts.set_password(session, user, PASSWORD)
        user_id = user.id
    with store.session() as session:
        refused = accounts.login(session, "ann@acme.example", "wrong-password-here", ip="10.0.0.1")
        assert not refused.ok
    with store.session() as session:
        result = accounts.login(session, "ANN@acme.example", PASSWORD, ip="10.0.0.1")
        assert result.ok and result.session_id
    with store.session() as session:
        assert accounts.revoke_session(session, result.session_id)
        assert not accounts.revoke_session(session, result.session_id)  # already ended: no second event
    (login,) = events(store, action="auth.login")
    assert (login.actor, login.entity_type, login.entity_id) == (
        "user:ann@acme.example",
        "user",
        str(user_id),
    )
    assert login.after == {"email": "ann@acme.example", "ip": "10.0.0.1"}
    (logout,) = events(store, action="auth.logout")
    assert logout.actor == "user:ann@acme.example"
    assert "user.update" not in actions(store)[2:]  # last_login_at alone is not an event
    assert assert_intact(store) == len(events(store))


# --- imports and volume --------------------------------------------------------------------------------


def test_a_vulnerability_import_is_one_summary_event(store: Store, shared_data: Path) -> None:
    with store.session() as session:
        report = vulndb.import_kev(session, shared_data / "kev/known_exploited_vulnerabilities.json")
    (event,) = events(store)
    assert event.action == "vulndb.import" and event.entity_type == "vuln_import"
    assert event.after is not None
    assert (event.after["source"], event.after["read"], event.after["added"]) == (
        "kev",
        report.read,
        report.added,
    )
    assert report.added > 1000


def test_many_mixed_writes_keep_the_chain_verifiable(store: Store, medical: Path) -> None:
    qids = [q.id for q in load_bank().questions[:6]]
    for round_ in range(4):
        with store.session() as session:
            audit_hooks.set_actor(session, f"user:u{round_}@acme.example")
            org = assess_svc.get_or_create_organisation(session, f"Org {round_ % 2}")
            a = assess_svc.open_assessment(session, org) or assess_svc.start_assessment(
                session, org, assessed_on=dt.date(2026, 1, 1 + round_)
            )
            for i, q in enumerate(qids):
                assess_svc.save_answer(session, a, Answer(question_id=q, level=(i + round_) % 5))
            if round_ % 2:
                assess_svc.clear_answer(session, a, qids[0])
            p = products_svc.get_or_create_product(
                session, f"Device {round_}", organisation=org.name, device_class="II"
            )
            products_svc.get_or_create_version(session, p, "1.0", released_on=dt.date(2025, 1, 1))
            if round_ == 2:
                products_svc.import_sbom(session, p, "1.0", medical)
            user = accounts.create_user(session, f"u{round_}@acme.example").user
            accounts.add_membership(session, user, org, "assessor")
        if round_ == 3:
            with store.session() as session:
                session.execute(update(Product).values(description="bulk edit"))
                session.delete(session.scalars(select(User)).first())
    n = assert_intact(store)
    assert n == len(events(store)) > 40
    assert len(events(store, action="product.update")) == 4
    (sbom,) = events(store, action="sbom.create")
    with store.session() as session:
        assert sbom.organisation_id == session.scalar(
            select(Organisation.id).where(Organisation.name == "Org 0")
        )
        out = io.StringIO()
        summary = audit.export(session, out)
    assert verify_lines(out.getvalue().splitlines(), head=(summary.last_seq or 0, summary.last_hash or "")).ok
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["seq"] for r in records] == list(range(1, n + 1))


def test_every_new_session_factory_is_audited_even_when_an_old_one_was_collected(tmp_path: Path) -> None:
    """A factory made after another was garbage-collected may sit at the same address; it must still be
    audited (an id()-keyed "already installed" check once let such factories go unaudited)."""
    import gc

    from sqlalchemy.orm import sessionmaker

    from medcyber.services import assessments, audit_hooks

    store = Store(f"sqlite:///{tmp_path / 'many.db'}")
    store.upgrade()
    unaudited = []
    for i in range(40):
        factory = sessionmaker(store.engine, expire_on_commit=False)
        audit_hooks.install(factory)
        with factory() as session, session.begin():
            assessments.get_or_create_organisation(session, f"Org {i}")
        with factory() as session:
            recorded = session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "organisation.create")
            )
        if recorded != i + 1 - len(unaudited):
            unaudited.append(i)
        del factory
        gc.collect()
    store.dispose()
    assert not unaudited, f"{len(unaudited)} of 40 factories recorded nothing"
