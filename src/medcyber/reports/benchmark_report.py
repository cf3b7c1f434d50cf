"""An organisation's benchmark report: the data model (= the JSON format) and its builder (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from .. import __version__
from ..benchmark.models import CohortStats, Interval, Position, Rank
from ..maturity.bank import CATEGORY_IDS, QuestionBank, level_name
from ..maturity.recommend import (
    AreaRank,
    MustHaveFlag,
    Recommendation,
    Roadmap,
    Targets,
    default_targets,
    must_have_flags,
    practice_area_extremes,
    recommendations,
    roadmap,
)
from ..maturity.scoring import Answer, AssessmentScore
from . import charts
from .reference import ReferenceFigures, coerce_reference

SCHEMA = "medcyber.benchmark-report/1"
QUINTILE_TEXT = {
    1: "bottom fifth",
    2: "second fifth from the bottom",
    3: "middle fifth",
    4: "second fifth from the top",
    5: "top fifth",
}


class ChartItem(BaseModel):
    id: str
    title: str
    alt: str = Field(description="a sentence describing the chart for readers who cannot see it")
    spec: dict[str, Any] = Field(description="Vega-Lite spec with the data inline")


class CohortInfo(BaseModel):
    name: str
    periods: list[str]
    n: int
    synthetic: bool
    suppressed: bool
    suppression_reason: str | None = None
    min_cell: int


class CategoryLine(BaseModel):
    id: str
    name: str
    score: float | None
    level_name: str | None
    answered: int
    applicable: int
    cohort_median: float | None = None
    cohort_median_ci: Interval | None = None
    cohort_q1: float | None = None
    cohort_q3: float | None = None
    target: float | None = None
    rank_text: str | None = None
    quintile: int | None = None
    reference: float | None = None
    previous: float | None = None
    delta: float | None = None
    is_minimum: bool = False


class ExecutiveSummary(BaseModel):
    composite: float | None
    composite_level_name: str | None
    minimum_category: str | None
    minimum_category_name: str | None
    minimum_category_score: float | None
    minimum_category_level_name: str | None
    position_text: str | None = Field(description="e.g. 'higher than 12 of 17 other organisations'")
    k: int | None = Field(default=None, description="others strictly below")
    n: int | None = Field(default=None, description="others compared with")
    quintile: int | None = None
    quintile_text: str | None = None
    must_haves_passed: int
    must_haves_total: int
    must_haves_failed: list[str]
    must_have_text: str
    top_actions: list[str]
    paragraphs: list[str]


class BenchmarkReport(BaseModel):
    schema_id: str = Field(default=SCHEMA, alias="schema")
    generator: str = f"medcyber {__version__}"
    generated_on: dt.date
    org_name: str
    assessed_on: dt.date
    bank_id: str
    bank_version: str
    bank_title: str
    cohort: CohortInfo
    executive_summary: ExecutiveSummary
    composite: float | None
    composite_level_name: str | None
    previous_composite: float | None = None
    composite_delta: float | None = None
    coverage: float
    complete: bool
    categories: list[CategoryLine]
    targets: Targets
    charts: list[ChartItem]
    strongest_areas: list[AreaRank]
    weakest_areas: list[AreaRank]
    recommendations: list[Recommendation]
    roadmap: Roadmap
    must_haves: list[MustHaveFlag]
    reference: ReferenceFigures | None = None
    methods: list[str]
    limitations: list[str]

    model_config = {"populate_by_name": True}

    def chart(self, chart_id: str) -> ChartItem | None:
        return next((c for c in self.charts if c.id == chart_id), None)


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _position_text(rank: Rank | None) -> str | None:
    if rank is None:
        return None
    text = f"higher than {rank.below} of {rank.n_others} other organisations"
    return text + (f" ({rank.ties} tied)" if rank.ties else "")


def _top_actions(recs: Sequence[Recommendation], n: int = 3) -> list[str]:
    out: list[str] = []
    for r in recs[:n]:
        if r.kind == "practice":
            out.append(f"{r.practice_area_name} ({r.question_id}): {r.next_step}")
        else:
            out.append(r.next_step)
    return out


def _methods(cohort: CohortStats, targets: Targets, reference: ReferenceFigures | None) -> list[str]:
    m = [
        "Each question is answered on the CMMI scale 0-5 (0 Not initiated, 1 Initiated, 2 Managed, "
        "3 Defined, 4 Quantitatively managed, 5 Optimizing). A category score is the weighted mean of its "
        "answered, applicable questions (N/A leaves the denominator); the composite is the plain mean "
        "of the four category scores, as the published benchmark computes it.",
        "The organisation is compared with the other submissions of the cohort: 'higher than k of n' counts "
        "the others strictly below; ties are averaged in the rank; the quintile places the rank in fifths.",
        "Cohort summaries lead with the median and quartiles because the scores are ordinal; the median's "
        "confidence interval is distribution-free (order statistics) and the mean's is a bootstrap interval.",
        f"Targets: {targets.source}. A recommendation is made for each answered question below the whole "
        "level its category target needs; the next step is the bank's description of the level above the "
        "current answer. Priority = gap to target + weakness of the category (the minimum category first) "
        "+ a bonus for FD&C 524B relevance.",
        "FD&C 524B must-haves are pass/fail flags kept apart from the maturity scores: every linked question "
        "must be answered at or above the pass level; N/A does not pass a must-have.",
    ]
    if reference is not None:
        m.append(
            f"Reference figures: {reference.label}"
            + (f", n = {reference.n}" if reference.n else "")
            + ". Published figures are means; they are shown beside, not merged with, this cohort."
        )
    return m


def _limitations(cohort: CohortStats, score: AssessmentScore) -> list[str]:
    lim = [
        "Answers are self-reported unless the assessment was made by a third party; they have not been "
        "audited for this report.",
        f"The cohort is small (n = {cohort.n}); positions and intervals move noticeably with one more or one "
        "fewer organisation.",
        "Scores are ordinal: a 2 is more mature than a 1, but not 'twice' as mature; means are shown for "
        "comparison with the published figures only.",
        "Confidence intervals are approximate (order-statistic and bootstrap intervals at small n).",
        f"Disclosure control: no statistic is shown for fewer than {cohort.min_cell} organisations, and "
        f"cells or segments below that size are shown as 'suppressed (<{cohort.min_cell})'; "
        "minima and maxima are not shown where they could identify an organisation.",
    ]
    if cohort.synthetic:
        lim.insert(
            0,
            "SYNTHETIC COHORT: the comparison cohort is synthetic demonstration data calibrated to published "
            "figures; it describes no real organisation.",
        )
    if not score.complete:
        lim.append(
            f"The assessment is incomplete (coverage {score.coverage:.0%}); "
            "unanswered questions are not scored."
        )
    return lim


def build_benchmark_report(
    bank: QuestionBank,
    org_name: str,
    answers: Iterable[Answer] | Mapping[str, Answer],
    score: AssessmentScore,
    *,
    cohort: CohortStats,
    position: Position | None,
    previous: AssessmentScore | None = None,
    history: Sequence[tuple[dt.date, AssessmentScore]] = (),
    assessed_on: dt.date,
    reference: Any = None,
    targets: Targets | None = None,
    generated_on: dt.date | None = None,
) -> BenchmarkReport:
    """Assemble the organisation's report: everything the renderers print, charts as Vega-Lite specs."""
    answers_list = list(answers.values()) if isinstance(answers, Mapping) else list(answers)
    ref = coerce_reference(reference)
    targets = targets or default_targets(cohort, score)
    show_cohort = not cohort.suppressed and cohort.composite is not None

    recs = recommendations(bank, answers_list, score, cohort=cohort, targets=targets)
    flags = must_have_flags(bank, answers_list)
    plan = roadmap(
        bank,
        answers_list,
        score,
        target=targets.composite,
        category_targets=targets.categories,
        previous=previous,
    )
    strongest, weakest = practice_area_extremes(bank, score)

    # categories
    lines: list[CategoryLine] = []
    for cid in CATEGORY_IDS:
        cs = score.categories[cid]
        summ = cohort.categories.get(cid) if show_cohort else None
        rank = position.categories.get(cid) if position is not None and show_cohort else None
        prev = previous.categories[cid].score if previous is not None and cid in previous.categories else None
        lines.append(
            CategoryLine(
                id=cid,
                name=cs.name,
                score=cs.score,
                level_name=cs.level_name,
                answered=cs.answered,
                applicable=cs.applicable,
                cohort_median=summ.median if summ else None,
                cohort_median_ci=summ.median_ci if summ else None,
                cohort_q1=summ.q1 if summ else None,
                cohort_q3=summ.q3 if summ else None,
                target=targets.categories.get(cid),
                rank_text=f"higher than {rank.below} of {rank.n_others}" if rank else None,
                quintile=rank.quintile if rank else None,
                reference=ref.categories.get(cid) if ref else None,
                previous=prev,
                delta=None if prev is None or cs.score is None else round(cs.score - prev, 4),
                is_minimum=cid == score.minimum_category,
            )
        )

    # executive summary
    comp_rank = position.composite if position is not None and show_cohort else None
    passed = [f for f in flags if f.passed]
    failed = [f for f in flags if not f.passed]
    if not flags:
        mh_text = "The question bank defines no FD&C 524B must-haves."
    elif not failed:
        mh_text = f"All {len(flags)} FD&C 524B must-haves pass."
    else:
        mh_text = (
            f"{len(passed)} of {len(flags)} FD&C 524B must-haves pass; not yet met: "
            + ", ".join(f.name for f in failed)
            + "."
        )
    min_id = score.minimum_category
    min_name = bank.category(min_id).name if min_id else None
    paras: list[str] = []
    if score.composite is not None:
        paras.append(
            f"{org_name} scores {score.composite:.2f} of 5 overall, level {int(score.composite + 1e-9)} "
            f"({score.composite_level_name}). Its weakest category is {min_name} at "
            f"{_fmt(score.minimum_category_score)} ({level_name(score.minimum_category_score or 0)}): "
            "an average can hide a weak area, so the minimum is shown beside the composite."
        )
    else:
        paras.append(
            f"{org_name}'s assessment does not yet have a score in every category, so no composite is shown."
        )
    if comp_rank is not None:
        paras.append(
            f"Among the {comp_rank.n_others} other organisations of the cohort '{cohort.cohort}', "
            f"{org_name} is "
            f"{_position_text(comp_rank)} (the {QUINTILE_TEXT[comp_rank.quintile]})."
            + (f" The cohort median is {cohort.composite.median:.2f}." if cohort.composite else "")
            + (" The cohort is synthetic demonstration data." if cohort.synthetic else "")
        )
    elif cohort.suppressed:
        paras.append(
            "No comparison with the cohort is shown: "
            + (cohort.suppression_reason or f"it has fewer than {cohort.min_cell} organisations")
            + "."
        )
    if previous is not None and previous.composite is not None and score.composite is not None:
        d = score.composite - previous.composite
        paras.append(
            f"Since the previous assessment the composite has changed by {d:+.2f} "
            f"(from {previous.composite:.2f})."
        )
    paras.append(mh_text)
    if recs:
        paras.append(
            f"{len(recs)} recommendations follow, in priority order; the roadmap spreads the steps "
            "needed to reach "
            f"the target ({targets.composite:.2f}, {targets.source}) over {plan.months} months."
        )
    summary = ExecutiveSummary(
        composite=score.composite,
        composite_level_name=score.composite_level_name,
        minimum_category=min_id,
        minimum_category_name=min_name,
        minimum_category_score=score.minimum_category_score,
        minimum_category_level_name=(
            level_name(score.minimum_category_score) if score.minimum_category_score is not None else None
        ),
        position_text=_position_text(comp_rank),
        k=comp_rank.below if comp_rank else None,
        n=comp_rank.n_others if comp_rank else None,
        quintile=comp_rank.quintile if comp_rank else None,
        quintile_text=QUINTILE_TEXT[comp_rank.quintile] if comp_rank else None,
        must_haves_passed=len(passed),
        must_haves_total=len(flags),
        must_haves_failed=[f.name for f in failed],
        must_have_text=mh_text,
        top_actions=_top_actions(recs),
        paragraphs=paras,
    )

    # charts
    org_scores = score.category_scores()
    chart_items: list[ChartItem] = []
    medians = {c: s.median for c, s in cohort.categories.items()} if show_cohort else None
    chart_items.append(
        ChartItem(
            id="radar",
            title="Category profile",
            alt=f"Radar chart of {org_name}'s four category scores"
            + (" against the cohort median" if medians else "")
            + ": "
            + ", ".join(f"{bank.category(c).name} {_fmt(v)}" for c, v in org_scores.items())
            + ".",
            spec=charts.to_spec(charts.radar_chart(org_name, org_scores, medians)),
        )
    )
    if show_cohort:
        chart_items.append(
            ChartItem(
                id="categories",
                title="Categories against the cohort",
                alt="Bar chart of the cohort median per category with 95% confidence intervals and "
                f"{org_name}'s score as a diamond.",
                spec=charts.to_spec(
                    charts.category_bars_chart(
                        cohort,
                        org_name=org_name,
                        org=org_scores,
                        reference=ref.categories if ref and ref.categories else None,
                        reference_label=(f"Published mean ({ref.year})" if ref.year else "Published mean")
                        if ref
                        else "",
                    )
                ),
            )
        )
        if cohort.bins:
            chart_items.append(
                ChartItem(
                    id="histogram",
                    title="Distribution of composites",
                    alt=f"Histogram of cohort composites in 0.5-wide bins with {org_name}'s composite "
                    f"{_fmt(score.composite)} marked.",
                    spec=charts.to_spec(
                        charts.histogram_chart(cohort.bins, org_name=org_name, org_composite=score.composite)
                    ),
                )
            )
        if cohort.composites:
            chart_items.append(
                ChartItem(
                    id="strip",
                    title="Position among the cohort",
                    alt=f"Dot plot of the cohort composites with {org_name} highlighted.",
                    spec=charts.to_spec(
                        charts.strip_chart(
                            cohort.composites, org_name=org_name, org_composite=score.composite
                        )
                    ),
                )
            )
    hist = [(d, s) for d, s in history if s.composite is not None]
    if not any(d == assessed_on for d, _ in hist) and score.composite is not None:
        hist.append((assessed_on, score))
    if len(hist) >= 2:
        chart_items.append(
            ChartItem(
                id="progress",
                title="Progress over time",
                alt="Line chart of the composite per assessment date: "
                + ", ".join(f"{d.isoformat()} {s.composite:.2f}" for d, s in sorted(hist, key=lambda t: t[0]))
                + ".",
                spec=charts.to_spec(charts.progress_chart(hist, target=targets.composite)),
            )
        )

    return BenchmarkReport(
        generated_on=generated_on or dt.date.today(),
        org_name=org_name,
        assessed_on=assessed_on,
        bank_id=bank.id,
        bank_version=bank.version,
        bank_title=bank.title,
        cohort=CohortInfo(
            name=cohort.cohort,
            periods=list(cohort.periods),
            n=cohort.n,
            synthetic=cohort.synthetic,
            suppressed=cohort.suppressed,
            suppression_reason=cohort.suppression_reason,
            min_cell=cohort.min_cell,
        ),
        executive_summary=summary,
        composite=score.composite,
        composite_level_name=score.composite_level_name,
        previous_composite=previous.composite if previous else None,
        composite_delta=(
            None
            if previous is None or previous.composite is None or score.composite is None
            else round(score.composite - previous.composite, 4)
        ),
        coverage=score.coverage,
        complete=score.complete,
        categories=lines,
        targets=targets,
        charts=chart_items,
        strongest_areas=strongest,
        weakest_areas=weakest,
        recommendations=recs,
        roadmap=plan,
        must_haves=flags,
        reference=ref,
        methods=_methods(cohort, targets, ref),
        limitations=_limitations(cohort, score),
    )
