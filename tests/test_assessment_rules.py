"""Rules of an assessment held by the service (so the CLI, the API and the pages all keep them)."""

from __future__ import annotations

import datetime as dt

import pytest

from medcyber.benchmark.demo import acme_assessments
from medcyber.maturity.bank import load_bank
from medcyber.maturity.scoring import Answer, AnswerError, validate_answers
from medcyber.services import assessments as svc
from medcyber.services import evidence
from medcyber.services.errors import ServiceError
from medcyber.store import Store


def test_an_evidence_note_alone_does_not_complete_a_question() -> None:
    bank = load_bank()
    full = acme_assessments(bank)[-1].answers
    first = full[0]
    note_only = Answer(question_id=first.question_id, evidence="SOP-12 rev 3")
    validate_answers(bank, full, require_complete=True)  # complete as shipped
    with pytest.raises(AnswerError) as exc:
        validate_answers(bank, [note_only, *full[1:]], require_complete=True)
    assert [q for q, _ in exc.value.problems] == [first.question_id]


def test_a_finished_assessment_keeps_its_answers_and_evidence(store: Store) -> None:
    bank = load_bank()
    answers = acme_assessments(bank)[-1].answers
    with store.session() as db:
        org = svc.get_or_create_organisation(db, "Rules Ltd")
        a = svc.start_assessment(db, org)
        for ans in answers[1:]:
            svc.save_answer(db, a, ans)
        svc.save_answer(db, a, Answer(question_id=answers[0].question_id, evidence="note only"))
        with pytest.raises(ServiceError, match="not complete"):
            svc.finish_assessment(db, a)
        svc.save_answer(db, a, answers[0])
        svc.finish_assessment(db, a)
        for change in (
            lambda: svc.save_answer(db, a, answers[0].model_copy(update={"level": 0})),
            lambda: svc.clear_answer(db, a, answers[0].question_id),
            lambda: svc.finish_assessment(db, a),
            lambda: evidence.add_attachment(db, a, answers[0].question_id, "x.txt", b"evidence"),
        ):
            with pytest.raises(svc.AssessmentClosedError):
                change()
        assert {r.question_id: r.level for r in a.answers}[answers[0].question_id] == answers[0].level
        assert a.assessed_on <= dt.date.today()
