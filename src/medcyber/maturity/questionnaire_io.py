"""Export of the questionnaire itself (no answers): JSON for tools, Markdown for people, XLSX to fill in."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from .answers_io import write_template_xlsx
from .bank import Question, QuestionBank


def _question_dict(bank: QuestionBank, q: Question) -> dict[str, Any]:
    return {
        "id": q.id,
        "category": q.category,
        "practice_area": q.practice_area,
        "text": q.text,
        "guidance": q.guidance,
        "levels": [
            {"level": n, "name": bank.scale[n].name, "descriptor": descriptor}
            for n, descriptor in enumerate(q.levels)
        ],
        "references": [{"source": r.source, "section": r.section} for r in q.references],
        "evidence_examples": list(q.evidence_examples),
        "na_allowed": q.na_allowed,
        "required": q.required,
        "weight": q.weight,
    }


def questionnaire_json(bank: QuestionBank) -> dict[str, Any]:
    """The questionnaire as a JSON-ready dict: bank, scale, categories (with practice areas), questions."""
    return {
        "bank": {"id": bank.id, "version": bank.version, "title": bank.title},
        "scale": [{"level": s.level, "name": s.name, "description": s.description} for s in bank.scale],
        "categories": [
            {
                "id": c.id,
                "name": c.name,
                "description": c.description,
                "practice_areas": [
                    {"id": p.id, "name": p.name, "description": p.description} for p in c.practice_areas
                ],
                "questions": [q.id for q in bank.questions_in(c.id)],
            }
            for c in bank.categories
        ],
        "questions": [_question_dict(bank, q) for q in bank.questions],
    }


def _md(text: str) -> str:
    """Text for a Markdown paragraph: surrounding blank space trimmed, line breaks kept."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def questionnaire_markdown(bank: QuestionBank) -> str:
    """A readable document of the questionnaire, grouped by category and practice area."""
    out: list[str] = [f"# {bank.title}", "", f"Question bank `{bank.id}`, version {bank.version}.", ""]
    if bank.description:
        out += [_md(bank.description), ""]
    n_required = sum(1 for q in bank.questions if q.required)
    out += [
        f"{len(bank.questions)} questions ({n_required} required) in {len(bank.categories)} categories. "
        "Each question is answered with one level of the scale below; questions marked *N/A allowed* may be "
        "declared not applicable with a reason.",
        "",
        "## Scale",
        "",
        "| Level | Name | Meaning |",
        "|---|---|---|",
    ]
    out += [f"| {s.level} | {_cell(s.name)} | {_cell(s.description)} |" for s in bank.scale]
    out.append("")
    for cat in bank.categories:
        qs = bank.questions_in(cat.id)
        out += [f"## {cat.name}", ""]
        if cat.description:
            out += [_md(cat.description), ""]
        for area in cat.practice_areas:
            aqs = [q for q in qs if q.practice_area == area.id]
            if not aqs:
                continue
            out += [f"### {area.name}", ""]
            if area.description:
                out += [_md(area.description), ""]
            for q in aqs:
                out += _question_md(bank, q)
    return "\n".join(out).rstrip() + "\n"


def _question_md(bank: QuestionBank, q: Question) -> list[str]:
    flags = []
    if q.na_allowed:
        flags.append("N/A allowed")
    if not q.required:
        flags.append("optional")
    if q.weight != 1.0:
        flags.append(f"weight {q.weight:g}")
    out = [f"#### {q.id}. {_cell(q.text)}", ""]
    if flags:
        out += [f"*{', '.join(flags)}*", ""]
    if q.guidance:
        out += [f"**Guidance.** {_md(q.guidance)}", ""]
    out += ["| Level | Descriptor |", "|---|---|"]
    out += [f"| {n} - {_cell(bank.scale[n].name)} | {_cell(d)} |" for n, d in enumerate(q.levels)]
    out.append("")
    if q.evidence_examples:
        out += ["**Evidence examples:** " + "; ".join(_cell(e) for e in q.evidence_examples), ""]
    out += ["**References:** " + "; ".join(_cell(r.label()) for r in q.references), ""]
    return out


def questionnaire_xlsx(bank: QuestionBank, path: str | Path | IO[bytes]) -> None:
    """The empty fillable workbook (the same template :func:`read_answers` reads back)."""
    write_template_xlsx(bank, path)
