"""Content checks for the shipped maturity question bank, version 1.0.0.

The schema (``medcyber.maturity.bank``) checks shape; these tests check the content promised by the
issue: 48 questions in four categories, observable level descriptors, honest references from a known
set of sources, the FD&C 524B must-haves and the benchmark's headline recommendations. The content
checks are plain functions returning problem lists, and the last tests feed them deliberately broken
copies of the bank to show that they do catch problems.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from importlib import resources
from typing import Any

import pytest
import yaml

from medcyber.maturity.bank import CATEGORY_IDS, LEVEL_NAMES, QuestionBank, load_bank

VERSION = "1.0.0"

ALLOWED_SOURCES = {
    "JSP",
    "JSP2",
    "FDA-premarket-2025",
    "FDA-postmarket-2016",
    "FDCA-524B",
    "IEC-81001-5-1",
    "NIST-SSDF",
    "MDCG-2019-16",
    "AAMI-TIR57",
    "ANSI-NEMA-HN1-2019",
}

PREFIX = {
    "organizational_structure": ("OS", "os."),
    "risk_management": ("RM", "rm."),
    "design_control": ("DC", "dc."),
    "complaint_handling": ("CH", "ch."),
}

# Practice areas the issue asks for, by id and a word that must appear in the area's name.
REQUIRED_AREAS = {
    "organizational_structure": {
        "os.roles": "leadership",
        "os.resources": "budget",
        "os.policies": "policies",
        "os.training": "training",
    },
    "risk_management": {
        "rm.process": "risk management",
        "rm.threat_modeling": "threat modeling",
        "rm.supplier": "supplier",
        "rm.inventory": "end of support",
        "rm.acceptance": "benefit-risk",
    },
    "design_control": {
        "dc.requirements": "requirements",
        "dc.architecture": "architecture",
        "dc.testing": "testing",
        "dc.hardening": "hardening",
        "dc.sbom": "sbom",
        "dc.updates": "updates",
    },
    "complaint_handling": {
        "ch.intake": "intake",
        "ch.cvd": "disclosure",
        "ch.isao": "isao",
        "ch.patching": "patching",
        "ch.incident": "incident",
        "ch.communication": "communication",
    },
}

# Section identifiers that really exist in the cited documents (checked against the reference texts
# in shared/reference for the FDA premarket guidance, MDCG 2019-16 and NIST SP 800-218).
FDA_PREMARKET_SECTIONS = {
    "IV.A",
    "IV.A.1",
    "IV.B",
    "IV.C",
    "V",
    "V.A",
    "V.A.1",
    "V.A.2",
    "V.A.3",
    "V.A.4",
    "V.A.4(a)",
    "V.A.4(b)",
    "V.A.5",
    "V.A.6",
    "V.B",
    "V.B.1",
    "V.B.2",
    "V.C",
    "VI.A",
    "VI.B",
    "VII.C.1",
    "VII.C.2",
    "VII.C.3",
    "Appendix 1",
}
FDA_PREMARKET_TITLES = {
    "V.A": "Security Risk Management",
    "V.A.1": "Threat Modeling",
    "V.A.2": "Cybersecurity Risk Assessment",
    "V.A.3": "Interoperability Considerations",
    "V.A.4": "Third-Party Software Components",
    "V.A.5": "Security Assessment of Unresolved Anomalies",
    "V.A.6": "TPLC Security Risk Management",
    "V.B": "Security Architecture",
    "V.B.1": "Implementation of Security Controls",
    "V.B.2": "Security Architecture Views",
    "V.C": "Cybersecurity Testing",
    "VI.A": "Labeling",
    "VI.B": "Cybersecurity Management Plans",
}
FDA_POSTMARKET_SECTIONS = {"V", "VI", "VII", "VIII", "IX", "Appendix"}
FDCA_524B_SECTIONS = {"(b)(1)", "(b)(2)", "(b)(3)"}
MDCG_SECTIONS = {"2.5", "2.6", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "4.1", "4.2", "4.3"}
MDCG_SECTIONS |= {"5.1", "5.2"}
SSDF_RE = re.compile(r"^(PO|PS|PW|RV)\.\d+(\.\d+)?$")
IEC_RE = re.compile(r"^[4-9](\.\d+)?$")
QUESTION_ID_RE = re.compile(r"^(OS|RM|DC|CH)-\d\d$")
JSP_TOPICS = {
    "Organizational Structure",
    "Risk Management",
    "Design Control",
    "Complaint Handling",
    "Customer Security Documentation",
}


# --- content checks (each returns a list of problems) ------------------------------------------


def check_structure(bank: QuestionBank) -> list[str]:
    problems: list[str] = []
    if tuple(c.id for c in bank.categories) != CATEGORY_IDS:
        problems.append("categories out of order")
    if len(bank.questions) < 44:
        problems.append(f"only {len(bank.questions)} questions")
    for cat in bank.categories:
        n = len(bank.questions_in(cat.id))
        if n < 8:
            problems.append(f"{cat.id}: only {n} questions")
    ids = [q.id for q in bank.questions]
    for qid, count in Counter(ids).items():
        if count > 1:
            problems.append(f"{qid}: duplicate id")
    for q in bank.questions:
        if not QUESTION_ID_RE.match(q.id):
            problems.append(f"{q.id}: id does not match the pattern")
        id_prefix, area_prefix = PREFIX[q.category]
        if not q.id.startswith(id_prefix + "-"):
            problems.append(f"{q.id}: id prefix does not match category {q.category}")
        if not q.practice_area.startswith(area_prefix):
            problems.append(f"{q.id}: practice area {q.practice_area} does not match category")
    return problems


def check_practice_areas(bank: QuestionBank) -> list[str]:
    problems: list[str] = []
    used = {q.practice_area for q in bank.questions}
    for cat in bank.categories:
        present = {p.id: p.name.lower() for p in cat.practice_areas}
        for p in cat.practice_areas:
            if p.id not in used:
                problems.append(f"{p.id}: practice area has no question")
            if not p.description.strip():
                problems.append(f"{p.id}: no description")
        for area_id, word in REQUIRED_AREAS[cat.id].items():
            if area_id not in present:
                problems.append(f"{cat.id}: missing practice area {area_id}")
            elif word not in present[area_id]:
                problems.append(f"{area_id}: name {present[area_id]!r} does not mention {word!r}")
    return problems


def check_questions(bank: QuestionBank) -> list[str]:
    problems: list[str] = []
    all_levels: Counter[str] = Counter()
    for q in bank.questions:
        if not q.text.strip().endswith("?"):
            problems.append(f"{q.id}: text is not a question")
        if len(q.guidance.strip()) < 40:
            problems.append(f"{q.id}: guidance missing or too short")
        levels = [lv.strip() for lv in q.levels]
        if len(levels) != 6:
            problems.append(f"{q.id}: {len(levels)} level descriptors")
        if any(len(lv) < 20 for lv in levels):
            problems.append(f"{q.id}: empty or trivial level descriptor")
        if len({lv.lower() for lv in levels}) != len(levels):
            problems.append(f"{q.id}: level descriptors are not distinct")
        all_levels.update(levels)
        if not 2 <= len(q.evidence_examples) <= 4:
            problems.append(f"{q.id}: {len(q.evidence_examples)} evidence examples (want 2-4)")
        if any(not e.strip() for e in q.evidence_examples):
            problems.append(f"{q.id}: empty evidence example")
        if len(q.references) < 2:
            problems.append(f"{q.id}: fewer than 2 references")
        if q.weight != 1.0:
            problems.append(f"{q.id}: weight {q.weight} (benchmark weighs equally)")
        if not q.required:
            problems.append(f"{q.id}: not required")
        cites_524b = any(r.source == "FDCA-524B" for r in q.references)
        if cites_524b != ("fda-524b" in q.tags):
            problems.append(f"{q.id}: fda-524b tag and FDCA-524B reference disagree")
    for text, count in all_levels.items():
        if count > 1:
            problems.append(f"level descriptor used by {count} questions: {text[:50]!r}")
    na = [q.id for q in bank.questions if q.na_allowed]
    if len(na) > 6:
        problems.append(f"too many questions allow N/A: {na}")
    return problems


def _reference_problems(where: str, source: str, section: str) -> list[str]:
    if source not in ALLOWED_SOURCES:
        return [f"{where}: unknown source {source!r}"]
    head = section.split(" ", 1)[0]
    ok = True
    if source == "FDA-premarket-2025":
        if section.startswith("Appendix 1"):
            head = "Appendix 1"
        ok = head in FDA_PREMARKET_SECTIONS
        title = FDA_PREMARKET_TITLES.get(head)
        if ok and title and " " in section and not section.endswith(title):
            return [f"{where}: FDA premarket section {head} is titled {title!r}, not {section!r}"]
    elif source == "FDA-postmarket-2016":
        ok = head in FDA_POSTMARKET_SECTIONS
    elif source == "FDCA-524B":
        ok = section in FDCA_524B_SECTIONS
    elif source == "MDCG-2019-16":
        ok = section in MDCG_SECTIONS
    elif source == "NIST-SSDF":
        ok = bool(SSDF_RE.match(section))
    elif source == "IEC-81001-5-1":
        ok = bool(IEC_RE.match(section))
    elif source in ("JSP", "JSP2"):
        ok = section in JSP_TOPICS
    return [] if ok else [f"{where}: {source} section {section!r} is not a known identifier"]


def check_references(bank: QuestionBank) -> list[str]:
    problems: list[str] = []
    for q in bank.questions:
        for r in q.references:
            problems += _reference_problems(q.id, r.source, r.section)
    for m in bank.must_haves:
        for r in m.references:
            problems += _reference_problems(m.id, r.source, r.section)
    return problems


def check_must_haves(bank: QuestionBank) -> list[str]:
    problems: list[str] = []
    expected = {"postmarket-plan-cvd": "(b)(1)", "patch-process": "(b)(2)", "sbom": "(b)(3)"}
    by_id = {m.id: m for m in bank.must_haves}
    for mid, section in expected.items():
        m = by_id.get(mid)
        if m is None:
            problems.append(f"must-have {mid} missing")
            continue
        if not any(r.source == "FDCA-524B" and r.section == section for r in m.references):
            problems.append(f"{mid}: does not cite FDCA-524B {section}")
        if m.pass_level not in (2, 3):
            problems.append(f"{mid}: pass level {m.pass_level}")
        for qid in m.questions:
            q = bank.question(qid)
            if q.na_allowed:
                problems.append(f"{mid}: linked question {qid} allows N/A")
            if "fda-524b" not in q.tags:
                problems.append(f"{mid}: linked question {qid} is not tagged fda-524b")
    return problems


def check_headlines(bank: QuestionBank) -> list[str]:
    problems: list[str] = []
    recs = bank.headline_recommendations
    if len(recs) < 4:
        problems.append(f"only {len(recs)} headline recommendations")
    wanted = {
        "leadership": ("policies",),
        "end of support": ("end-of-support", "end of support"),
        "60 days": ("60 days",),
        "supplier": ("supplier",),
        "design control": ("design control",),
    }
    for label, needles in wanted.items():
        if not any(any(n in r.text.lower() for n in needles) for r in recs):
            problems.append(f"no headline recommendation about {label}")
    linked: set[str] = set()
    for r in recs:
        if r.source != "MDIC/Booz Allen Medical Device Cybersecurity Maturity Benchmark 2022":
            problems.append(f"{r.id}: source {r.source!r}")
        linked.update(r.questions)
    tagged = {q.id for q in bank.questions if "headline" in q.tags}
    if tagged != linked:
        problems.append(
            f"headline tag mismatch: only tagged {tagged - linked}, only linked {linked - tagged}"
        )
    return problems


ALL_CHECKS = (
    check_structure,
    check_practice_areas,
    check_questions,
    check_references,
    check_must_haves,
    check_headlines,
)


# --- tests on the shipped bank ----------------------------------------------------------------


@pytest.fixture(scope="module")
def bank() -> QuestionBank:
    return load_bank(VERSION)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    path = resources.files("medcyber.maturity") / "content" / f"bank-{VERSION}.yaml"
    data = yaml.safe_load(path.read_bytes().decode("utf-8"))
    assert isinstance(data, dict)
    return data


def test_loads_with_declared_version(bank: QuestionBank) -> None:
    assert bank.version == VERSION
    assert bank.id and bank.title


def test_description_names_sources_and_own_wording(bank: QuestionBank) -> None:
    d = bank.description
    for needle in ("Joint Security Plan", "524B", "premarket", "postmarket", "IEC 81001-5-1", "NIST"):
        assert needle in d
    assert "own wording" in d


def test_scale_is_cmmi(bank: QuestionBank) -> None:
    assert [s.level for s in bank.scale] == list(range(6))
    assert tuple(s.name for s in bank.scale) == LEVEL_NAMES
    assert all(len(s.description) > 40 for s in bank.scale)


def test_counts(bank: QuestionBank) -> None:
    assert [c.id for c in bank.categories] == list(CATEGORY_IDS)
    assert [len(bank.questions_in(c)) for c in CATEGORY_IDS] == [12, 12, 12, 12]
    assert len(bank.questions) == 48


def test_ids_are_sequential_per_category(bank: QuestionBank) -> None:
    for cat in CATEGORY_IDS:
        prefix = PREFIX[cat][0]
        assert [q.id for q in bank.questions_in(cat)] == [f"{prefix}-{i:02d}" for i in range(1, 13)]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda f: f.__name__)
def test_shipped_bank_passes(bank: QuestionBank, check: Any) -> None:
    assert check(bank) == []


def test_level_descriptors_escalate_in_evidence(bank: QuestionBank) -> None:
    # Level 3 is a standard practice on every product line, 4 is measured, 5 is improved.
    improved = re.compile(r"improv|refin|adjust|updat|tun|revis|recalibrat|strengthen|chang|rebalanc|tighten")
    for q in bank.questions:
        l3, l4, l5 = (lv.lower() for lv in q.levels[3:])
        assert re.search(r"every|all|documented|controlled|defined", l3), q.id
        assert re.search(r"measur|metric|trend|track|indicator", l4), q.id
        assert improved.search(l5), q.id


def test_na_allowed_only_where_plausible(bank: QuestionBank) -> None:
    na = {q.id for q in bank.questions if q.na_allowed}
    assert na and len(na) <= 6
    for qid in na:
        assert "N/A" in bank.question(qid).guidance, qid


def test_sources_used(bank: QuestionBank) -> None:
    used = Counter(r.source for q in bank.questions for r in q.references)
    assert set(used) <= ALLOWED_SOURCES
    # The core sources are all actually cited.
    for src in ("JSP", "JSP2", "FDA-premarket-2025", "FDA-postmarket-2016", "FDCA-524B", "IEC-81001-5-1"):
        assert used[src] > 0, src
    assert used["NIST-SSDF"] > 0


def test_sixty_day_remediation_question(bank: QuestionBank) -> None:
    texts = [q for q in bank.questions_in("complaint_handling") if "60 days" in q.text]
    assert texts, "a question must ask about remediation within 60 days"
    assert all(q.practice_area == "ch.patching" for q in texts)


def test_yaml_is_block_style_readable(raw: dict[str, Any]) -> None:
    path = resources.files("medcyber.maturity") / "content" / f"bank-{VERSION}.yaml"
    text = path.read_text(encoding="utf-8")
    assert max(len(line) for line in text.splitlines()) <= 110
    assert raw["version"] == VERSION
    assert isinstance(raw["questions"], list)


# --- the checks catch broken content -----------------------------------------------------------


def _broken(bank: QuestionBank, mutate: Any) -> QuestionBank:
    data = copy.deepcopy(bank.model_dump(mode="python"))
    mutate(data)
    return QuestionBank.model_validate(data)


def _q(data: dict[str, Any], qid: str) -> dict[str, Any]:
    return next(q for q in data["questions"] if q["id"] == qid)


def test_checks_catch_repeated_level(bank: QuestionBank) -> None:
    def mutate(d: dict[str, Any]) -> None:
        q = _q(d, "DC-07")
        q["levels"] = (*q["levels"][:5], q["levels"][4])

    assert any("not distinct" in p for p in check_questions(_broken(bank, mutate)))


def test_checks_catch_unknown_source_and_invented_section(bank: QuestionBank) -> None:
    def mutate(d: dict[str, Any]) -> None:
        q = _q(d, "RM-04")
        q["references"] = (
            {"source": "Wikipedia", "section": "Threat model", "note": None},
            {"source": "FDA-premarket-2025", "section": "V.A.9 Threat Modeling", "note": None},
            {"source": "FDA-premarket-2025", "section": "V.A.1 Threat Assessment", "note": None},
        )

    problems = check_references(_broken(bank, mutate))
    assert any("unknown source" in p for p in problems)
    assert any("not a known identifier" in p for p in problems)
    assert any("is titled" in p for p in problems)


def test_checks_catch_missing_practice_area_and_must_have(bank: QuestionBank) -> None:
    def mutate(d: dict[str, Any]) -> None:
        for cat in d["categories"]:
            if cat["id"] == "design_control":
                cat["practice_areas"] = tuple(p for p in cat["practice_areas"] if p["id"] != "dc.updates")
        d["questions"] = tuple(q for q in d["questions"] if q["practice_area"] != "dc.updates")
        d["must_haves"] = tuple(m for m in d["must_haves"] if m["id"] != "patch-process")

    broken = _broken(bank, mutate)
    assert any("dc.updates" in p for p in check_practice_areas(broken))
    assert "must-have patch-process missing" in check_must_haves(broken)


def test_checks_catch_wrong_id_and_short_category(bank: QuestionBank) -> None:
    def mutate(d: dict[str, Any]) -> None:
        _q(d, "CH-01")["id"] = "CH-1"
        d["questions"] = tuple(q for q in d["questions"] if not q["id"].startswith("OS-0"))
        d["headline_recommendations"] = ()

    problems = check_structure(_broken(bank, mutate))
    assert any("CH-1: id does not match" in p for p in problems)
    assert any("organizational_structure: only 3 questions" in p for p in problems)
