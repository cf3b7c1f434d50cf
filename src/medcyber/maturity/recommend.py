"""Recommendations, FD&C 524B must-have flags and a 12-month roadmap for one assessment (pure).

The concrete next step for a weak question is the bank's descriptor of the level above the current
answer: the bank already words each level as an observable practice, so "what to do next" is "what
level current+1 looks like". Targets come from the cohort's top quartile (q3) when a cohort is known
and not suppressed, otherwise from ``DEFAULT_TARGET`` (level 3, Defined).

Priority of a practice recommendation, highest first::

    priority_score = gap + CATEGORY_WEIGHT * category_weakness + FDA_524B_BONUS * is_524b

``gap`` is target level minus current level (0-5); ``category_weakness`` is 1.0 for the weakest
(minimum) category down to 0.0 for the strongest, spaced by rank; ``is_524b`` is 1 for questions tagged
``fda-524b``. Ties are broken by the lower current level, then the bank's question order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, Field

from ..benchmark.models import CohortStats
from .bank import CATEGORY_IDS, QuestionBank, level_name
from .scoring import Answer, AreaScore, AssessmentScore

DEFAULT_TARGET = 3.0
CATEGORY_WEIGHT = 1.0
FDA_524B_BONUS = 1.0
HEADLINE_BONUS = 0.5
MAX_HEADLINE_REFS = 4
FDA_524B_TAG = "fda-524b"


# --- models ---------------------------------------------------------------------------------------
class Recommendation(BaseModel):
    """One prioritised recommendation: a next-level practice for a question, or a headline one."""

    id: str = Field(description="question id for practice recommendations, headline id otherwise")
    kind: Literal["practice", "headline"]
    priority: int = Field(description="1 = do first")
    priority_score: float
    category: str
    category_name: str
    practice_area: str | None = None
    practice_area_name: str | None = None
    question_id: str | None = None
    question_text: str | None = None
    current_level: int | None = None
    current_level_name: str | None = None
    target_level: int
    target_level_name: str
    next_level: int | None = Field(default=None, description="current + 1: the level of the next step")
    next_step: str = Field(
        description="the concrete next step (descriptor of level current+1, or headline text)"
    )
    references: list[str] = Field(default_factory=list)
    fda_524b: bool = False
    linked_questions: list[str] = Field(default_factory=list)
    source: str | None = None
    reason: str = ""


class FailingQuestion(BaseModel):
    question_id: str
    question_text: str
    level: int | None
    reason: str


class MustHaveFlag(BaseModel):
    id: str
    name: str
    description: str
    references: list[str]
    pass_level: int
    passed: bool
    questions: list[str]
    failing: list[FailingQuestion] = Field(default_factory=list)
    summary: str


class Targets(BaseModel):
    """Target scores: composite and per category (0-5) and where they come from."""

    composite: float
    categories: dict[str, float]
    source: str = Field(description="e.g. 'cohort top quartile (q3)' or 'default: level 3 (Defined)'")


class CategoryProgress(BaseModel):
    category: str
    name: str
    current: float | None
    target: float
    gap: float = Field(description="target - current, never below 0")
    pct_to_target: float = Field(description="current / target x 100, capped at 100")
    previous: float | None = None
    delta: float | None = Field(default=None, description="change since the previous assessment")


class RoadmapStep(BaseModel):
    question_id: str
    question_text: str
    category: str
    category_name: str
    practice_area: str
    practice_area_name: str
    from_level: int
    to_level: int
    next_step: str
    references: list[str]
    fda_524b: bool
    quarter: int = Field(ge=1)
    priority: int


class Milestone(BaseModel):
    quarter: int
    label: str = Field(description="'Q1' ..")
    months: str = Field(description="e.g. 'months 1-3'")
    steps: list[RoadmapStep]
    projected_categories: dict[str, float | None]
    projected_composite: float | None


class Roadmap(BaseModel):
    months: int
    target_composite: float
    current_composite: float | None
    composite_gap: float
    composite_pct_to_target: float
    previous_composite: float | None = None
    composite_delta: float | None = None
    categories: list[CategoryProgress]
    milestones: list[Milestone]
    reaches_target: bool = Field(description="the plan's projected scores meet every target")
    note: str = ""


class AreaRank(BaseModel):
    id: str
    name: str
    category: str
    category_name: str
    score: float
    level_name: str


# --- targets --------------------------------------------------------------------------------------
def default_targets(cohort: CohortStats | None, score: AssessmentScore | None = None) -> Targets:
    """The cohort's top quartile (q3) for the composite and each category, else level 3 everywhere.

    Where the organisation's score already reaches the top quartile, the target is the next whole level
    above its score instead (a leader still gets a direction, never a target below where it stands).
    """

    def lift(target: float, current: float | None) -> tuple[float, bool]:
        if current is None or current < target - 1e-9:
            return target, False
        return float(min(5, math.floor(current + 1e-9) + 1)), True

    if cohort is not None and not cohort.suppressed and cohort.composite is not None:
        raised = False
        cats = {}
        for cid in CATEGORY_IDS:
            q3 = cohort.categories[cid].q3 if cid in cohort.categories else cohort.composite.q3
            current = score.categories[cid].score if score is not None else None
            cats[cid], up = lift(q3, current)
            raised = raised or up
        composite, up = lift(cohort.composite.q3, score.composite if score is not None else None)
        source = "cohort top quartile (q3)"
        if raised or up:
            source += "; where already at or above it, the next whole level"
        return Targets(composite=composite, categories=cats, source=source)
    return Targets(
        composite=DEFAULT_TARGET,
        categories=dict.fromkeys(CATEGORY_IDS, DEFAULT_TARGET),
        source=f"default: level {int(DEFAULT_TARGET)} ({level_name(DEFAULT_TARGET)})",
    )


def _question_target(category_target: float) -> int:
    """The whole level a question must reach so that its category can reach the category target."""
    return max(1, min(5, math.ceil(category_target - 1e-9)))


def _answers_by_id(answers: Iterable[Answer] | Mapping[str, Answer]) -> dict[str, Answer]:
    items = list(answers.values()) if isinstance(answers, Mapping) else list(answers)
    return {a.question_id: a for a in items}


def _category_weakness(score: AssessmentScore) -> dict[str, float]:
    """1.0 for the minimum category, 0.0 for the strongest, evenly spaced by rank (unscored = weakest)."""
    order = sorted(
        CATEGORY_IDS,
        key=lambda c: (-1.0 if score.categories[c].score is None else score.categories[c].score, c),
    )
    n = len(order)
    return {cid: (n - 1 - i) / (n - 1) for i, cid in enumerate(order)}


def _refs(refs: Iterable) -> list[str]:
    return [r.label() for r in refs]


# --- recommendations ------------------------------------------------------------------------------
def recommendations(
    bank: QuestionBank,
    answers: Iterable[Answer] | Mapping[str, Answer],
    score: AssessmentScore,
    *,
    cohort: CohortStats | None,
    targets: Targets | None = None,
) -> list[Recommendation]:
    """Prioritised recommendations: next-level practices for questions below target, plus the bank's
    headline recommendations whose linked answers fall below their ``below_level``."""
    targets = targets or default_targets(cohort, score)
    by_id = _answers_by_id(answers)
    weakness = _category_weakness(score)
    order = {q.id: i for i, q in enumerate(bank.questions)}
    items: list[tuple[tuple, Recommendation]] = []

    for q in bank.questions:
        a = by_id.get(q.id)
        if a is None or a.level is None:
            continue  # unanswered or N/A: nothing to raise (coverage is reported elsewhere)
        target = _question_target(targets.categories[q.category])
        if a.level >= target:
            continue
        gap = target - a.level
        is524 = FDA_524B_TAG in q.tags
        cat = bank.category(q.category)
        area = bank.practice_area(q.practice_area)
        ps = gap + CATEGORY_WEIGHT * weakness[q.category] + (FDA_524B_BONUS if is524 else 0.0)
        reason_bits = [f"level {a.level} against a target of {target}"]
        if weakness[q.category] == 1.0:
            reason_bits.append("in the weakest category")
        if is524:
            reason_bits.append("relevant to FD&C 524B")
        rec = Recommendation(
            id=q.id,
            kind="practice",
            priority=0,
            priority_score=round(ps, 4),
            category=q.category,
            category_name=cat.name,
            practice_area=area.id,
            practice_area_name=area.name,
            question_id=q.id,
            question_text=q.text,
            current_level=a.level,
            current_level_name=level_name(a.level),
            target_level=target,
            target_level_name=level_name(target),
            next_level=a.level + 1,
            next_step=q.levels[a.level + 1],
            references=_refs(q.references),
            fda_524b=is524,
            linked_questions=[q.id],
            reason="; ".join(reason_bits),
        )
        items.append(((-ps, a.level, order[q.id]), rec))

    for h in bank.headline_recommendations:
        levels = {
            qid: by_id[qid].level for qid in h.questions if qid in by_id and by_id[qid].level is not None
        }
        low = {qid: lv for qid, lv in levels.items() if lv is not None and lv < h.below_level}
        if not low:
            continue
        first = bank.question(h.questions[0])
        cat = bank.category(first.category)
        mean_low = sum(low.values()) / len(low)
        is524 = any(FDA_524B_TAG in bank.question(qid).tags for qid in h.questions)
        ps = (
            (h.below_level - mean_low)
            + CATEGORY_WEIGHT * weakness[first.category]
            + (FDA_524B_BONUS if is524 else 0.0)
            + HEADLINE_BONUS
        )
        refs: list[str] = []  # the linked questions' references, first ones first, at most MAX_HEADLINE_REFS
        for qid in h.questions:
            for r in _refs(bank.question(qid).references):
                if r not in refs:
                    refs.append(r)
        rec = Recommendation(
            id=h.id,
            kind="headline",
            priority=0,
            priority_score=round(ps, 4),
            category=first.category,
            category_name=cat.name,
            current_level=min(low.values()),
            current_level_name=level_name(min(low.values())),
            target_level=h.below_level,
            target_level_name=level_name(h.below_level),
            next_step=h.text,
            references=refs[:MAX_HEADLINE_REFS],
            fda_524b=is524,
            linked_questions=list(h.questions),
            source=h.source,
            reason="linked answers below level {}: {}".format(
                h.below_level, ", ".join(f"{k} at {v}" for k, v in sorted(low.items()))
            ),
        )
        items.append(((-ps, min(low.values()), -1), rec))

    items.sort(key=lambda t: t[0])
    return [rec.model_copy(update={"priority": i + 1}) for i, (_, rec) in enumerate(items)]


# --- must-haves -----------------------------------------------------------------------------------
def must_have_flags(
    bank: QuestionBank, answers: Iterable[Answer] | Mapping[str, Answer]
) -> list[MustHaveFlag]:
    """Pass/fail per bank must-have: every linked question answered at or above ``pass_level``.
    N/A and unanswered count as fail, with the reason shown."""
    by_id = _answers_by_id(answers)
    flags: list[MustHaveFlag] = []
    for m in bank.must_haves:
        failing: list[FailingQuestion] = []
        for qid in m.questions:
            q = bank.question(qid)
            a = by_id.get(qid)
            if a is None or not a.answered:
                failing.append(
                    FailingQuestion(question_id=qid, question_text=q.text, level=None, reason="not answered")
                )
            elif a.not_applicable:
                failing.append(
                    FailingQuestion(
                        question_id=qid,
                        question_text=q.text,
                        level=None,
                        reason=f"marked N/A ({a.na_reason}); a must-have cannot be waived by N/A",
                    )
                )
            elif a.level is not None and a.level < m.pass_level:
                failing.append(
                    FailingQuestion(
                        question_id=qid,
                        question_text=q.text,
                        level=a.level,
                        reason=f"level {a.level} ({level_name(a.level)}) is below pass level {m.pass_level}",
                    )
                )
        passed = not failing
        if passed:
            summary = f"Pass: all {len(m.questions)} linked question(s) at level {m.pass_level} or above."
        else:
            summary = "Fail: " + "; ".join(f"{f.question_id} {f.reason}" for f in failing) + "."
        flags.append(
            MustHaveFlag(
                id=m.id,
                name=m.name,
                description=m.description,
                references=_refs(m.references),
                pass_level=m.pass_level,
                passed=passed,
                questions=list(m.questions),
                failing=failing,
                summary=summary,
            )
        )
    return flags


# --- strongest / weakest practice areas -------------------------------------------------------------
def practice_area_extremes(
    bank: QuestionBank, score: AssessmentScore, n: int = 3
) -> tuple[list[AreaRank], list[AreaRank]]:
    """(strongest, weakest) practice areas by score; each list has at most ``n`` areas and no area
    appears in both (with few scored areas the lists get shorter)."""
    scored: list[AreaScore] = [a for a in score.practice_areas.values() if a.score is not None]
    order = {p.id: i for c in bank.categories for i, p in enumerate(c.practice_areas)}

    def rank(a: AreaScore) -> AreaRank:
        assert a.score is not None
        return AreaRank(
            id=a.id,
            name=a.name,
            category=a.category,
            category_name=bank.category(a.category).name,
            score=a.score,
            level_name=level_name(a.score),
        )

    k = min(n, len(scored) // 2)
    high = sorted(scored, key=lambda a: (-(a.score or 0.0), order.get(a.id, 0), a.id))[:k]
    taken = {a.id for a in high}
    rest = [a for a in scored if a.id not in taken]
    low = sorted(rest, key=lambda a: ((a.score or 0.0), order.get(a.id, 0), a.id))[:k]
    return [rank(a) for a in high], [rank(a) for a in low]


def strongest_areas(bank: QuestionBank, score: AssessmentScore, n: int = 3) -> list[AreaRank]:
    return practice_area_extremes(bank, score, n)[0]


def weakest_areas(bank: QuestionBank, score: AssessmentScore, n: int = 3) -> list[AreaRank]:
    return practice_area_extremes(bank, score, n)[1]


# --- roadmap --------------------------------------------------------------------------------------
def _category_mean(bank: QuestionBank, levels: Mapping[str, int], category: str) -> float | None:
    pairs = [(q.weight, levels[q.id]) for q in bank.questions_in(category) if q.id in levels]
    w = sum(p[0] for p in pairs)
    return sum(p[0] * p[1] for p in pairs) / w if pairs and w > 0 else None


def _composite(cats: Mapping[str, float | None]) -> float | None:
    vals = [cats[c] for c in CATEGORY_IDS]
    if any(v is None for v in vals):
        return None
    return sum(v for v in vals if v is not None) / len(vals)


def _pct(current: float | None, target: float) -> float:
    if current is None:
        return 0.0
    if target <= 0:
        return 100.0
    return round(min(100.0, 100.0 * current / target), 1)


def roadmap(
    bank: QuestionBank,
    answers: Iterable[Answer] | Mapping[str, Answer],
    score: AssessmentScore,
    *,
    target: float,
    category_targets: Mapping[str, float] | None = None,
    previous: AssessmentScore | None = None,
    months: int = 12,
) -> Roadmap:
    """Progress against the targets and a quarterly plan that reaches them.

    ``target`` is the composite target (callers default it to the cohort's q3); ``category_targets``
    default to ``target`` for every category. The plan raises questions one level at a time, in
    recommendation priority order, only as far as needed for every category to meet its target, and
    spreads the steps evenly over the quarters (a question's second step always comes after its first).
    """
    if months < 3:
        raise ValueError("a roadmap needs at least one quarter (3 months)")
    cat_targets = {cid: float((category_targets or {}).get(cid, target)) for cid in CATEGORY_IDS}
    by_id = _answers_by_id(answers)
    levels = {qid: a.level for qid, a in by_id.items() if a.level is not None and bank.has_question(qid)}

    progress: list[CategoryProgress] = []
    for cid in CATEGORY_IDS:
        cur = score.categories[cid].score
        prev = previous.categories[cid].score if previous is not None and cid in previous.categories else None
        t = cat_targets[cid]
        progress.append(
            CategoryProgress(
                category=cid,
                name=bank.category(cid).name,
                current=cur,
                target=t,
                gap=round(max(0.0, t - (cur or 0.0)), 4),
                pct_to_target=_pct(cur, t),
                previous=prev,
                delta=None if cur is None or prev is None else round(cur - prev, 4),
            )
        )

    # Candidate steps in priority order: all first steps, then all second steps, ...
    targets = Targets(composite=target, categories=cat_targets, source="roadmap")
    recs = [
        r
        for r in recommendations(bank, by_id, score, cohort=None, targets=targets)
        if r.kind == "practice" and r.question_id
    ]
    rec_priority = {r.question_id: r.priority for r in recs}
    sim = dict(levels)
    chosen: list[tuple[str, int, int]] = []  # (question id, from, to)
    max_gap = max((r.target_level - (r.current_level or 0) for r in recs), default=0)
    for k in range(max_gap):
        for r in recs:
            qid = r.question_id
            assert qid is not None and r.current_level is not None
            frm = r.current_level + k
            if frm >= r.target_level:
                continue
            cat_score = _category_mean(bank, sim, r.category)
            if cat_score is not None and cat_score >= cat_targets[r.category] - 1e-9:
                continue
            sim[qid] = frm + 1
            chosen.append((qid, frm, frm + 1))

    # The composite target can ask for more than the category targets (q3 of composites is not the mean
    # of the category q3s): top up one level at a time on the lowest answers of the weakest category.
    def sim_composite() -> float | None:
        return _composite({cid: _category_mean(bank, sim, cid) for cid in CATEGORY_IDS})

    order = {q.id: i for i, q in enumerate(bank.questions)}
    while (comp := sim_composite()) is not None and comp < target - 1e-9:
        open_q = [qid for qid, lv in sim.items() if lv < 5]
        if not open_q:
            break
        cats_now = {cid: _category_mean(bank, sim, cid) or 0.0 for cid in CATEGORY_IDS}
        qid = min(open_q, key=lambda x: (cats_now[bank.question(x).category], sim[x], order[x]))
        chosen.append((qid, sim[qid], sim[qid] + 1))
        sim[qid] += 1

    quarters = max(1, months // 3)
    per_q = max(1, math.ceil(len(chosen) / quarters)) if chosen else 1
    last_quarter: dict[str, int] = {}
    buckets: dict[int, list[RoadmapStep]] = {i: [] for i in range(1, quarters + 1)}
    for i, (qid, frm, to) in enumerate(chosen):
        quarter = min(quarters, i // per_q + 1)
        if qid in last_quarter:
            quarter = min(quarters, max(quarter, last_quarter[qid] + 1))
        last_quarter[qid] = quarter
        q = bank.question(qid)
        buckets[quarter].append(
            RoadmapStep(
                question_id=qid,
                question_text=q.text,
                category=q.category,
                category_name=bank.category(q.category).name,
                practice_area=q.practice_area,
                practice_area_name=bank.practice_area(q.practice_area).name,
                from_level=frm,
                to_level=to,
                next_step=q.levels[to],
                references=_refs(q.references),
                fda_524b=FDA_524B_TAG in q.tags,
                quarter=quarter,
                priority=rec_priority.get(qid, 0),
            )
        )

    milestones: list[Milestone] = []
    running = dict(levels)
    for qn in range(1, quarters + 1):
        for st in buckets[qn]:
            running[st.question_id] = max(running.get(st.question_id, 0), st.to_level)
        cats = {cid: _category_mean(bank, running, cid) for cid in CATEGORY_IDS}
        comp = _composite(cats)
        milestones.append(
            Milestone(
                quarter=qn,
                label=f"Q{qn}",
                months=f"months {3 * qn - 2}-{3 * qn}",
                steps=buckets[qn],
                projected_categories={k: (round(v, 4) if v is not None else None) for k, v in cats.items()},
                projected_composite=round(comp, 4) if comp is not None else None,
            )
        )

    final = milestones[-1].projected_categories if milestones else {}
    reaches = all(
        (final.get(cid) is not None and final[cid] >= cat_targets[cid] - 1e-9)  # type: ignore[operator]
        for cid in CATEGORY_IDS
    )
    final_comp = milestones[-1].projected_composite if milestones else None
    if final_comp is not None and final_comp < target - 1e-9:
        reaches = False
    cur = score.composite
    prev_c = previous.composite if previous is not None else None
    note = ""
    if not chosen:
        note = "Every category already meets its target: keep the practices in place and re-assess yearly."
    elif not reaches:
        note = "The listed steps do not reach every target (unanswered questions or N/A limit the plan)."
    return Roadmap(
        months=months,
        target_composite=target,
        current_composite=cur,
        composite_gap=round(max(0.0, target - (cur or 0.0)), 4),
        composite_pct_to_target=_pct(cur, target),
        previous_composite=prev_c,
        composite_delta=None if cur is None or prev_c is None else round(cur - prev_c, 4),
        categories=progress,
        milestones=milestones,
        reaches_target=reaches,
        note=note,
    )
