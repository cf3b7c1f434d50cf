"""Export of the questionnaire: JSON, Markdown and the empty workbook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maturity_testbank import bank_or_small
from medcyber.maturity.answers_io import AnswerFileError, read_answers
from medcyber.maturity.questionnaire_io import questionnaire_json, questionnaire_markdown, questionnaire_xlsx

BANK, RESOLVER = bank_or_small()


def test_json_export() -> None:
    doc = questionnaire_json(BANK)
    json.dumps(doc)  # JSON-ready
    assert doc["bank"] == {"id": BANK.id, "version": BANK.version, "title": BANK.title}
    assert [s["level"] for s in doc["scale"]] == list(range(6))
    assert [c["id"] for c in doc["categories"]] == [c.id for c in BANK.categories]
    assert [q["id"] for q in doc["questions"]] == [q.id for q in BANK.questions]
    for item, q in zip(doc["questions"], BANK.questions, strict=True):
        assert item["text"] == q.text and item["category"] == q.category
        assert item["levels"] == [
            {"level": n, "name": BANK.scale[n].name, "descriptor": q.levels[n]} for n in range(6)
        ]
        assert item["references"] == [{"source": r.source, "section": r.section} for r in q.references]
        assert item["na_allowed"] == q.na_allowed and item["weight"] == q.weight
        assert item["evidence_examples"] == list(q.evidence_examples)


def test_markdown_export() -> None:
    md = questionnaire_markdown(BANK)
    assert md.startswith(f"# {BANK.title}\n")
    positions = [md.index(f"## {c.name}\n") for c in BANK.categories]
    assert positions == sorted(positions)
    last = 0
    for q in BANK.questions:
        at = md.index(f"#### {q.id}. ")
        assert at > last, f"{q.id} out of order"
        last = at
        area = BANK.practice_area(q.practice_area)
        cat = BANK.category(q.category)
        # the question sits under its own category and practice area headings
        assert md.rfind(f"## {cat.name}\n", 0, at) == max(
            md.rfind(f"## {c.name}\n", 0, at) for c in BANK.categories
        )
        assert md.rfind(f"### {area.name}\n", 0, at) > md.rfind(f"## {cat.name}\n", 0, at)
    for s in BANK.scale:
        assert f"| {s.level} | {s.name} |" in md
    for q in BANK.questions:  # every descriptor is in a table cell, pipes escaped
        for n, d in enumerate(q.levels):
            assert f"| {n} - {BANK.scale[n].name} | {' '.join(d.split()).replace('|', chr(92) + '|')} |" in md


def test_xlsx_export_is_the_empty_template(tmp_path: Path) -> None:
    path = tmp_path / "questionnaire.xlsx"
    questionnaire_xlsx(BANK, path)
    empty = read_answers(path, RESOLVER, require_complete=False)
    assert empty.answers == [] and empty.bank_version == BANK.version
    with pytest.raises(AnswerFileError) as exc:
        read_answers(path, RESOLVER)
    required = [q.id for q in BANK.questions if q.required]
    assert [p.location for p in exc.value.problems] == [f"question {qid}" for qid in required]
