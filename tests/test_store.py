"""The store on SQLite and PostgreSQL: migrations, transactions, assessments and cohorts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, select

from medcyber.benchmark.models import OrgProfile
from medcyber.maturity.bank import load_bank
from medcyber.maturity.scoring import Answer, AnswerError
from medcyber.services import assessments as svc
from medcyber.services import benchmark as bench
from medcyber.services.errors import ServiceError
from medcyber.store import Store
from medcyber.store.models import Assessment, Organisation

PROFILE = OrgProfile(
    employees_band="250-999", revenue_band="50M-250M", device_classes=("II",), region="Europe"
)


def full_answers(level: int = 2) -> list[Answer]:
    return [Answer(question_id=q.id, level=level) for q in load_bank().questions]


def test_migrations_upgrade_and_downgrade_cleanly(store_url: str) -> None:
    s = Store(store_url)
    s.upgrade()
    assert s.current_revision() == s.head_revision()
    assert {
        "organisations",
        "assessments",
        "answers",
        "cohorts",
        "submissions",
        "evidence_attachments",
    } <= set(inspect(s.engine).get_table_names())
    s.downgrade("base")
    assert s.current_revision() is None
    assert not {"answers", "evidence_attachments"} & set(inspect(s.engine).get_table_names())
    s.upgrade()
    assert s.current_revision() == s.head_revision()
    s.dispose()


def test_record_assessment_scores_and_keeps_history(store: Store) -> None:
    with store.session() as session:
        org = svc.get_or_create_organisation(session, "Example Devices", PROFILE)
        svc.record_assessment(
            session, org, full_answers(1), bank_version="1.0.0", assessed_on=dt.date(2025, 1, 5)
        )
        svc.record_assessment(
            session, org, full_answers(3), bank_version="1.0.0", assessed_on=dt.date(2026, 1, 5)
        )
    with store.session() as session:
        org = svc.find_organisation(session, "Example Devices")
        hist = svc.history(session, org)
        assert [d for d, _ in hist] == [dt.date(2025, 1, 5), dt.date(2026, 1, 5)]
        assert [round(s.composite or 0, 2) for _, s in hist] == [1.0, 3.0]
        assert svc.profile_of(org) == PROFILE


def test_bad_answer_set_stores_nothing(store: Store) -> None:
    answers = full_answers(2) + [Answer(question_id="XX-99", level=3)]
    with pytest.raises(AnswerError) as err, store.session() as session:
        org = svc.get_or_create_organisation(session, "Half Written Inc")
        svc.record_assessment(session, org, answers, bank_version="1.0.0", assessed_on=dt.date(2026, 1, 1))
    assert "XX-99" in str(err.value)
    with store.session() as session:
        assert session.scalar(select(Organisation).where(Organisation.name == "Half Written Inc")) is None
        assert session.scalars(select(Assessment)).all() == []


def test_save_answer_resume_and_finish(store: Store) -> None:
    bank = load_bank()
    with store.session() as session:
        org = svc.get_or_create_organisation(session, "Resumer")
        a = svc.start_assessment(session, org, assessed_on=dt.date(2026, 3, 1))
        for q in bank.questions[:5]:
            svc.save_answer(session, a, Answer(question_id=q.id, level=4))
        svc.save_answer(session, a, Answer(question_id=bank.questions[0].id, level=1))  # replaced, not added
        with pytest.raises(ServiceError, match="not complete"):
            svc.finish_assessment(session, a)
    with store.session() as session:
        org = svc.find_organisation(session, "Resumer")
        a = svc.open_assessment(session, org)
        assert a is not None and len(a.answers) == 5
        assert {x.question_id: x.level for x in svc.answers_of(a)}[bank.questions[0].id] == 1
        for q in bank.questions[5:]:
            svc.save_answer(session, a, Answer(question_id=q.id, level=2))
        result = svc.finish_assessment(session, a)
        assert a.status == "complete" and result.complete


def test_submission_needs_consent_profile_and_replaces_same_period(store: Store) -> None:
    with store.session() as session:
        cohort = bench.create_cohort(session, "test-cohort", make_default=True)
        org = svc.get_or_create_organisation(session, "Submitter")
        a = svc.record_assessment(
            session, org, full_answers(2), bank_version="1.0.0", assessed_on=dt.date(2026, 2, 2)
        )
        with pytest.raises(ServiceError, match="consent"):
            bench.submit_assessment(session, a, cohort, period="2026", consent=False)
        with pytest.raises(ServiceError, match="profile"):
            bench.submit_assessment(session, a, cohort, period="2026", consent=True)
        svc.set_profile(org, PROFILE)
        bench.submit_assessment(session, a, cohort, period="2026", consent=True)
        b = svc.record_assessment(
            session, org, full_answers(3), bank_version="1.0.0", assessed_on=dt.date(2026, 6, 2)
        )
        bench.submit_assessment(session, b, cohort, period="2026", consent=True)
        subs = bench.cohort_submissions(session, cohort)
        assert len(subs) == 1 and subs[0].composite == pytest.approx(3.0)


def test_old_periods_age_out_and_newest_submission_counts(store: Store) -> None:
    from medcyber.benchmark.models import Submission

    with store.session() as session:
        cohort = bench.create_cohort(session, "aging", retention_periods=2)
        for period, comp in (("2022", 1.0), ("2023", 2.0), ("2024", 3.0)):
            for i in range(3):
                sub = Submission(
                    submission_id=f"s{i}" if period != "2022" else f"old{i}",
                    period=period,
                    profile=PROFILE,
                    composite=comp,
                    categories=dict.fromkeys(
                        (
                            "organizational_structure",
                            "risk_management",
                            "design_control",
                            "complaint_handling",
                        ),
                        comp,
                    ),
                )
                bench.add_submission(session, cohort, sub, bank_version="1.0.0")
        assert bench.periods_in_force(session, cohort) == ["2023", "2024"]
        subs = bench.cohort_submissions(session, cohort)
        assert sorted(s.submission_id for s in subs) == ["s0", "s1", "s2"]
        assert {s.composite for s in subs} == {3.0}


def test_min_cell_never_below_five(store: Store) -> None:
    with store.session() as session, pytest.raises(ServiceError, match="5"):
        bench.create_cohort(session, "too-small", min_cell=3)
