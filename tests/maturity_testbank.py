"""A small question bank for the answer-file and questionnaire tests, and the real bank once shipped.

``small_bank()`` has two questions per category with known properties (N/A allowed on some, one
optional question, awkward text) so edge cases can be tested; ``bank_or_small()`` is the shipped bank
(load_bank) when the package has one, else the small bank.
"""

from __future__ import annotations

from typing import Any

from medcyber.maturity.bank import LEVEL_NAMES, BankNotFoundError, QuestionBank, available_versions, load_bank

_CATS = [
    ("organizational_structure", "Organizational Structure", "OS", "governance", "Governance"),
    ("risk_management", "Risk Management", "RM", "threat_modeling", "Threat modeling"),
    ("design_control", "Design Control", "DC", "secure_design", "Secure design"),
    ("complaint_handling", "Complaint Handling", "CH", "vuln_intake", "Vulnerability intake"),
]


def small_bank_dict(version: str = "0.9.0", bank_id: str = "test-jsp") -> dict[str, Any]:
    questions = []
    for cat_id, _name, prefix, area, _area_name in _CATS:
        for n in (1, 2):
            qid = f"{prefix}-0{n}"
            questions.append(
                {
                    "id": qid,
                    "category": cat_id,
                    "practice_area": area,
                    "text": f"{qid}: does the organisation do the thing, with 'quotes', commas, and = signs?",
                    "guidance": 'Look at records | not only "policies".\nSecond line.',
                    "levels": [f"{qid} level {k} descriptor ({LEVEL_NAMES[k]})" for k in range(6)],
                    "references": [{"source": "JSP", "section": f"{n}.{len(questions)}"}],
                    "evidence_examples": ["Procedure", "Records"],
                    "na_allowed": n == 2,
                    "required": qid != "CH-02",
                    "weight": 2.0 if qid == "RM-01" else 1.0,
                }
            )
    return {
        "id": bank_id,
        "version": version,
        "title": "Test maturity bank",
        "description": "Eight questions for tests.",
        "scale": [{"level": k, "name": LEVEL_NAMES[k], "description": f"meaning of {k}"} for k in range(6)],
        "categories": [
            {"id": c, "name": name, "practice_areas": [{"id": area, "name": area_name}]}
            for c, name, _p, area, area_name in _CATS
        ],
        "questions": questions,
    }


def small_bank(version: str = "0.9.0") -> QuestionBank:
    return QuestionBank.model_validate(small_bank_dict(version))


def small_resolver(version: str) -> QuestionBank:
    """A bank resolver like load_bank for the small bank, shipped in versions 0.9.0 and 0.8.0."""
    if version not in ("0.8.0", "0.9.0"):
        raise BankNotFoundError(f"question bank version {version!r} is not available (have: 0.8.0, 0.9.0)")
    return small_bank(version)


def real_bank_available() -> bool:
    return bool(available_versions())


def bank_or_small() -> tuple[QuestionBank, Any]:
    """(bank, resolver): the shipped bank with load_bank, or the small bank with its resolver."""
    if real_bank_available():
        return load_bank(), load_bank
    return small_bank(), small_resolver
