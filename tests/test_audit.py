"""The hash-chained audit trail: recording, tamper detection in the store and offline, export, CLI
(on SQLite and, with MEDCYBER_TEST_DATABASE_URL, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from medcyber.audit.chain import (
    GENESIS_HASH,
    ChainedEvent,
    EventFields,
    canonical_timestamp,
    event_hash,
    normalise_payload,
    parse_timestamp,
    verify_csv,
    verify_events,
    verify_lines,
)
from medcyber.cli import common
from medcyber.cli.audit import app as audit_app
from medcyber.services import audit
from medcyber.services.audit import AuditError
from medcyber.store import Store
from medcyber.store.models import AuditChainHead, AuditEvent

runner = CliRunner()


def _record_some(store: Store, n: int = 5) -> None:
    with store.session() as session:
        for i in range(1, n + 1):
            audit.record(
                session,
                actor=f"user{i % 2}@acme.example",
                action="update" if i > 1 else "create",
                entity_type="organisation",
                entity_id=str(i),
                organisation_id=i % 3 or None,
                before=None if i == 1 else {"name": f"Acme {i - 1}", "region": "Europe"},
                after={"name": f"Acme {i}", "région": "Europe", "on": dt.date(2026, 1, i), "n": i / 3},
            )


def _exec(store: Store, sql: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(sql))


# --- pure chain -----------------------------------------------------------------------------------------


def test_canonical_timestamp_is_utc_with_microseconds() -> None:
    naive = dt.datetime(2026, 12, 4, 9, 30, 0, 1)
    assert canonical_timestamp(naive) == "2026-12-04T09:30:00.000001Z"
    aware = dt.datetime(2026, 12, 4, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert canonical_timestamp(aware) == "2026-12-04T09:30:00.000000Z"
    assert parse_timestamp("2026-12-04T09:30:00.000001Z") == naive
    with pytest.raises(ValueError):
        parse_timestamp("2026-12-04T09:30:00Z")


def test_payload_normalisation_and_refusals() -> None:
    got = normalise_payload({"d": dt.date(2026, 1, 2), "s": {"b", "a"}, "t": (1, 2), "n": None})
    assert got == {"d": "2026-01-02", "s": ["a", "b"], "t": [1, 2], "n": None}
    assert normalise_payload(None) is None
    with pytest.raises(ValueError):
        normalise_payload({"x": float("nan")})
    with pytest.raises(TypeError):
        normalise_payload({"x": object()})
    with pytest.raises(TypeError):
        normalise_payload({1: "a"})  # type: ignore[dict-item]


def _chain(n: int) -> list[ChainedEvent]:
    events, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        fields = EventFields(seq, f"2026-12-04T09:00:0{seq}.000000Z", "a", "x", "t", str(seq), None, None, {})
        digest = event_hash(prev, fields)
        events.append(ChainedEvent(**vars(fields), prev_hash=prev, hash=digest))
        prev = digest
    return events


def test_hash_is_sha256_of_prev_hash_and_canonical_json() -> None:
    import hashlib

    event = _chain(1)[0]
    canonical = (
        '{"action":"x","actor":"a","after":{},"before":null,"entity_id":"1","entity_type":"t",'
        '"occurred_at":"2026-12-04T09:00:01.000000Z","organisation_id":null,"seq":1}'
    )
    assert event.canonical() == canonical
    assert event.hash == hashlib.sha256((GENESIS_HASH + canonical).encode()).hexdigest()


def test_verify_events_names_each_kind_of_break() -> None:
    events = _chain(6)
    assert verify_events(events, head=(6, events[-1].hash)).ok

    edited = [*events[:2], ChainedEvent(**{**vars(events[2]), "actor": "mallory"}), *events[3:]]
    result = verify_events(edited)
    assert (result.first_broken_seq, result.problems[0].kind) == (3, "hash_mismatch")

    result = verify_events(events[:3] + events[4:])
    assert (result.first_broken_seq, result.problems[0].kind) == (4, "gap")

    swapped = [*events[:2], events[3], events[2], *events[4:]]
    result = verify_events(swapped)
    assert result.first_broken_seq == 3 and not result.ok

    result = verify_events(events[:4], head=(6, events[-1].hash))
    assert (result.first_broken_seq, result.problems[0].kind) == (5, "truncated")


# --- in the store ---------------------------------------------------------------------------------------


def test_record_and_verify_intact(store: Store) -> None:
    _record_some(store, 6)
    with store.session() as session:
        result = audit.verify(session)
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        head = session.get(AuditChainHead, 1)
    assert result.ok, result.to_dict()
    assert result.events == 6 and result.last_seq == 6
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    assert head is not None and (head.seq, head.hash) == (6, events[-1].hash)
    assert events[1].after == {"name": "Acme 2", "région": "Europe", "on": "2026-01-02", "n": 2 / 3}
    assert events[0].occurred_at <= events[-1].occurred_at
    assert result.last_hash == events[-1].hash


def test_record_validates_its_input(store: Store) -> None:
    with store.session() as session, pytest.raises(AuditError):
        audit.record(
            session,
            actor="",
            action="x",
            entity_type="t",
            entity_id="1",
            organisation_id=None,
            before=None,
            after=None,
        )
    with store.session() as session, pytest.raises(AuditError):
        audit.record(
            session,
            actor="a",
            action="x",
            entity_type="t",
            entity_id="1",
            organisation_id=None,
            before=None,
            after={"bad": object()},
        )


def test_rolled_back_event_leaves_no_gap(store: Store) -> None:
    _record_some(store, 2)
    with pytest.raises(RuntimeError), store.session() as session:
        audit.record(
            session,
            actor="a",
            action="x",
            entity_type="t",
            entity_id="9",
            organisation_id=None,
            before=None,
            after=None,
        )
        raise RuntimeError("the change it described failed")
    _record_some(store, 1)
    with store.session() as session:
        result = audit.verify(session)
        seqs = session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
    assert result.ok and list(seqs) == [1, 2, 3]


def test_update_of_a_payload_column_is_named(store: Store) -> None:
    _record_some(store, 5)
    _exec(store, """UPDATE audit_events SET "after" = '{"name": "evil"}' WHERE seq = 3""")
    with store.session() as session:
        result = audit.verify(session)
    assert not result.ok
    assert result.first_broken_seq == 3
    assert result.problems[0].kind == "hash_mismatch"
    assert [p.seq for p in result.problems] == [3]


def test_edit_with_recomputed_hash_breaks_the_next_link(store: Store) -> None:
    _record_some(store, 5)
    with store.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.seq == 2)).one()
        forged = ChainedEvent(**{**vars(audit.to_chained(event)), "actor": "mallory"})
        new_hash = event_hash(forged.prev_hash, forged)
    _exec(store, f"UPDATE audit_events SET actor = 'mallory', hash = '{new_hash}' WHERE seq = 2")
    with store.session() as session:
        result = audit.verify(session)
    assert (result.first_broken_seq, result.problems[0].kind) == (3, "prev_mismatch")


def test_deleted_row_is_a_gap(store: Store) -> None:
    _record_some(store, 5)
    _exec(store, "DELETE FROM audit_events WHERE seq = 2")
    with store.session() as session:
        result = audit.verify(session)
    assert (result.first_broken_seq, result.problems[0].kind) == (2, "gap")
    assert "event 2 missing" in result.problems[0].detail


def test_deleted_last_row_is_caught_by_the_head(store: Store) -> None:
    _record_some(store, 4)
    _exec(store, "DELETE FROM audit_events WHERE seq = 4")
    with store.session() as session:
        result = audit.verify(session)
    assert (result.first_broken_seq, result.problems[0].kind) == (4, "truncated")


def test_reordered_events_are_named(store: Store) -> None:
    _record_some(store, 4)
    _exec(store, "UPDATE audit_events SET seq = 100 WHERE seq = 2")
    _exec(store, "UPDATE audit_events SET seq = 2 WHERE seq = 3")
    _exec(store, "UPDATE audit_events SET seq = 3 WHERE seq = 100")
    with store.session() as session:
        result = audit.verify(session)
    assert result.first_broken_seq == 2 and result.problems[0].kind in ("prev_mismatch", "hash_mismatch")


def test_event_appended_outside_the_chain_is_named(store: Store) -> None:
    _record_some(store, 3)
    with store.session() as session:
        last = session.scalars(select(AuditEvent).where(AuditEvent.seq == 3)).one()
        fields = EventFields(4, "2026-12-04T09:00:00.000000Z", "m", "x", "t", "1", None, None, None)
        digest = event_hash(last.hash, fields)
        session.add(
            AuditEvent(
                seq=4,
                occurred_at=dt.datetime(2026, 12, 4, 9),
                actor="m",
                action="x",
                entity_type="t",
                entity_id="1",
                organisation_id=None,
                before=None,
                after=None,
                prev_hash=last.hash,
                hash=digest,
            )
        )
    with store.session() as session:
        result = audit.verify(session)
    assert (result.first_broken_seq, result.problems[0].kind) == (4, "beyond_head")


def test_sequence_numbers_are_unique(store: Store) -> None:
    from sqlalchemy.exc import IntegrityError

    _record_some(store, 2)
    with pytest.raises(IntegrityError):
        _exec(
            store,
            "INSERT INTO audit_events (seq, occurred_at, actor, action, entity_type, entity_id,"
            " prev_hash, hash) VALUES (2, '2026-01-01 00:00:00', 'm', 'x', 't', '1', 'p', 'h')",
        )


def test_concurrent_writers_do_not_fork_the_chain(store: Store) -> None:
    writers, each = 4, 15
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(w: int) -> None:
        try:
            start.wait()
            for i in range(each):
                with store.session() as session:
                    audit.record(
                        session,
                        actor=f"w{w}",
                        action="x",
                        entity_type="t",
                        entity_id=str(i),
                        organisation_id=None,
                        before=None,
                        after={"i": i},
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with store.session() as session:
        result = audit.verify(session)
        seqs = session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
    assert result.ok, result.to_dict()
    assert list(seqs) == list(range(1, writers * each + 1))


def test_migration_matches_the_models_downgrades_and_upgrades(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from medcyber.store.models import Base

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "audit_" in repr(d)] == []
    _record_some(store, 2)
    store.downgrade("0004")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM match_runs")).scalar() == 0
    store.upgrade()
    with store.session() as session:
        assert audit.verify(session).events == 0
        audit.record(
            session,
            actor="a",
            action="x",
            entity_type="t",
            entity_id="1",
            organisation_id=None,
            before=None,
            after=None,
        )
        assert audit.verify(session).ok


# --- export and offline verification --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_verifies_offline_and_fails_after_an_edit(store: Store, fmt: str) -> None:
    _record_some(store, 5)
    buffer = io.StringIO()
    with store.session() as session:
        summary = audit.export(session, buffer, format=fmt)  # type: ignore[arg-type]
        in_store = audit.verify(session)
    verify = verify_csv if fmt == "csv" else verify_lines
    lines = buffer.getvalue().splitlines(keepends=True)
    assert summary.events == 5 and len(lines) == 5 + (fmt == "csv")
    offline = verify(lines, head=(summary.last_seq or 0, summary.last_hash or ""))
    assert offline.ok, offline.to_dict()
    assert (offline.last_seq, offline.last_hash) == (in_store.last_seq, in_store.last_hash)

    row = 3 if fmt == "csv" else 2  # event 3
    edited = list(lines)
    assert "Acme 3" in edited[row]
    edited[row] = edited[row].replace("Acme 3", "Acme 7")
    result = verify(edited)
    assert (result.first_broken_seq, result.problems[0].kind) == (3, "hash_mismatch")

    dropped = lines[: row + 1] + lines[row + 2 :]  # event 4 removed
    result = verify(dropped)
    assert (result.first_broken_seq, result.problems[0].kind) == (4, "gap")

    result = verify(lines[:-1], head=(5, summary.last_hash or ""))
    assert (result.first_broken_seq, result.problems[0].kind) == (5, "truncated")


def test_offline_verification_reads_strictly() -> None:
    lines = [json.dumps(e.to_record()) + "\n" for e in _chain(3)]
    record = json.loads(lines[1])
    record["seq"] = "2"
    result = verify_lines([lines[0], json.dumps(record), lines[2]])
    assert (result.first_broken_seq, result.problems[0].kind) == (2, "malformed")
    assert verify_lines(lines[:1] + ["not json\n"] + lines[2:]).first_broken_seq == 2


# --- CLI ------------------------------------------------------------------------------------------------


@pytest.fixture
def audit_cli(store: Store, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(common.state, "database_url", store.url)

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(audit_app, list(args), catch_exceptions=False)

    return invoke


def test_cli_verify_exit_codes(store: Store, audit_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _record_some(store, 4)
    ok = audit_cli("verify")
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output and "4 event(s)" in ok.output
    report = json.loads(audit_cli("verify", "--json").stdout)
    assert report["ok"] is True and report["last_seq"] == 4

    out = tmp_path / "audit.jsonl"
    exported = audit_cli("export", "--format", "jsonl", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert audit_cli("verify", "--file", str(out)).exit_code == 0
    csv_out = tmp_path / "audit.csv"
    assert audit_cli("export", "--format", "csv", "--out", str(csv_out)).exit_code == 0
    assert audit_cli("verify", "--file", str(csv_out)).exit_code == 0
    assert audit_cli("export", "--format", "xml", "--out", str(tmp_path / "x")).exit_code == 1

    logged = json.loads(audit_cli("log", "--limit", "2", "--json").stdout)
    assert [e["seq"] for e in logged["events"]] == [4, 3]
    assert audit_cli("log").exit_code == 0

    _exec(store, "UPDATE audit_events SET entity_id = '99' WHERE seq = 2")
    broken = audit_cli("verify")
    assert broken.exit_code == 1
    assert "BROKEN at event 2" in broken.output
    report = json.loads(audit_cli("verify", "--json").stdout)
    assert report["ok"] is False and report["first_broken_seq"] == 2

    out.write_text(out.read_text().replace('"entity_id": "3"', '"entity_id": "33"'))
    assert audit_cli("verify", "--file", str(out)).exit_code == 1
