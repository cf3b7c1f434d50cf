"""The benchmark steward's cohort report (disclosure control respected) and its builder (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from .. import __version__
from ..benchmark.models import CohortStats, Correlation, Interval, PowerStatement
from ..maturity.bank import CATEGORY_IDS
from . import charts
from .benchmark_report import ChartItem
from .reference import ReferenceFigures, coerce_reference

SCHEMA = "medcyber.cohort-report/1"
CATEGORY_NAMES = {
    "organizational_structure": "Organizational Structure",
    "risk_management": "Risk Management",
    "design_control": "Design Control",
    "complaint_handling": "Complaint Handling",
}
TARGET_NAMES = {"composite": "Composite", **CATEGORY_NAMES}
VARIABLE_NAMES = {"employees_band": "Employees (band)", "revenue_band": "Revenue (band)"}


class SummaryLine(BaseModel):
    id: str
    name: str
    n: int
    median: float
    q1: float
    q3: float
    median_ci: Interval | None
    mean: float
    sd: float
    mean_ci: Interval | None
    reference_mean: float | None = None
    difference: float | None = Field(default=None, description="cohort mean - published mean")


class BinLine(BaseModel):
    label: str
    count: int | None
    shown: str
    reference_count: int | None = None


class SegmentLine(BaseModel):
    dimension: str
    value: str
    shown_n: str
    median: float | None
    q1: float | None
    q3: float | None
    suppressed: bool
    reason: str | None


class CorrelationLine(BaseModel):
    variable: str
    target: str
    method: str
    n: int
    estimate: float | None
    ci: Interval | None
    p_value: float | None
    p_holm: float | None
    reading: str


class CohortReport(BaseModel):
    schema_id: str = Field(default=SCHEMA, alias="schema")
    generator: str = f"medcyber {__version__}"
    generated_on: dt.date
    cohort: str
    periods: list[str]
    n: int
    min_cell: int
    synthetic: bool
    suppressed: bool
    suppression_reason: str | None = None
    summaries: list[SummaryLine] = Field(default_factory=list)
    bins: list[BinLine] = Field(default_factory=list)
    segments: list[SegmentLine] = Field(default_factory=list)
    correlations: list[CorrelationLine] = Field(default_factory=list)
    power: PowerStatement | None = None
    reference: ReferenceFigures | None = None
    charts: list[ChartItem] = Field(default_factory=list)
    methods: list[str] = Field(default_factory=list)
    limitations: list[str] = Field(default_factory=list)

    model_config = {"populate_by_name": True}


def _suppressed_text(min_cell: int) -> str:
    return f"suppressed (<{min_cell})"


def _bin_key(label: str) -> str:
    """Normalise '0.5-0.99', '0.50 - 0.99' and '0.5–0.99' to one key."""
    parts = label.replace("–", "-").replace(" ", "").split("-")
    try:
        return "-".join(f"{float(p):.2f}" for p in parts if p)
    except ValueError:
        return label


def build_cohort_report(
    cohort_stats: CohortStats, reference: Any = None, *, generated_on: dt.date | None = None
) -> CohortReport:
    """Assemble the steward's report. A suppressed cohort carries only the reason; suppressed bins and
    segments are shown as 'suppressed (<min_cell)'."""
    cs = cohort_stats
    ref = coerce_reference(reference)
    base: dict[str, Any] = {
        "generated_on": generated_on or dt.date.today(),
        "cohort": cs.cohort,
        "periods": list(cs.periods),
        "n": cs.n,
        "min_cell": cs.min_cell,
        "synthetic": cs.synthetic,
        "suppressed": cs.suppressed,
        "suppression_reason": cs.suppression_reason,
        "reference": ref,
    }
    limitations = [
        "Scores are self-reported and ordinal; medians and quartiles lead, means are shown for comparison "
        "with the published figures only.",
        "Confidence intervals are approximate at small n (order-statistic interval for the median, bootstrap "
        "percentile interval for the mean, Fisher-z interval for rank correlations).",
        "Disclosure control: nothing is shown for a cohort or cell of fewer than "
        f"{cs.min_cell} organisations; "
        "minima and maxima are withheld where they could identify an organisation.",
    ]
    if cs.synthetic:
        limitations.insert(0, "SYNTHETIC COHORT: demonstration data calibrated to published figures.")
    if cs.suppressed:
        reason = cs.suppression_reason or f"the cohort has fewer than {cs.min_cell} organisations"
        return CohortReport(**base, limitations=[*limitations, f"No statistic is shown: {reason}."])

    summaries: list[SummaryLine] = []
    items = [("composite", cs.composite)] + [(c, cs.categories.get(c)) for c in CATEGORY_IDS]
    for key, s in items:
        if s is None:
            continue
        ref_mean = None
        if ref is not None:
            ref_mean = ref.composite if key == "composite" else ref.categories.get(key)
        summaries.append(
            SummaryLine(
                id=key,
                name=TARGET_NAMES[key],
                n=s.n,
                median=s.median,
                q1=s.q1,
                q3=s.q3,
                median_ci=s.median_ci,
                mean=s.mean,
                sd=s.sd,
                mean_ci=s.mean_ci,
                reference_mean=ref_mean,
                difference=None if ref_mean is None else round(s.mean - ref_mean, 4),
            )
        )
    ref_bins = {_bin_key(b.label): b.count for b in ref.bins} if ref else {}
    bins = [
        BinLine(
            label=b.label,
            count=b.count,
            shown=_suppressed_text(cs.min_cell) if b.count is None else str(b.count),
            reference_count=ref_bins.get(_bin_key(b.label)),
        )
        for b in cs.bins
    ]
    segments = [
        SegmentLine(
            dimension=g.dimension,
            value=g.value,
            shown_n=_suppressed_text(cs.min_cell) if g.suppressed or g.n is None else str(g.n),
            median=None if g.suppressed else g.median,
            q1=None if g.suppressed else g.q1,
            q3=None if g.suppressed else g.q3,
            suppressed=g.suppressed or g.n is None,
            reason=g.reason,
        )
        for g in cs.segments
    ]
    correlations = [_corr_line(c) for c in cs.correlations]

    chart_items: list[ChartItem] = []
    if cs.categories:
        chart_items.append(
            ChartItem(
                id="categories",
                title="Category medians",
                alt="Cohort median per category with 95% confidence intervals"
                + (f" and the published means of {ref.label}" if ref and ref.categories else "")
                + ".",
                spec=charts.to_spec(
                    charts.category_bars_chart(
                        cs,
                        reference=ref.categories if ref and ref.categories else None,
                        reference_label=(f"Published mean ({ref.year})" if ref.year else "Published mean")
                        if ref
                        else "",
                        title="Category medians with 95% CI",
                    )
                ),
            )
        )
    if cs.bins:
        chart_items.append(
            ChartItem(
                id="histogram",
                title="Distribution of composites",
                alt="Histogram of composites in 0.5-wide bins: "
                + ", ".join(f"{b.label}: {b.shown}" for b in bins)
                + ".",
                spec=charts.to_spec(charts.histogram_chart(cs.bins)),
            )
        )
    methods = [
        "Composite = mean of the four category scores per organisation. Summaries lead with median and "
        "quartiles (ordinal scores); the median's 95% CI is distribution-free.",
        "Correlations with banded size (employees, revenue) use Kendall's tau-b with permutation p-values; "
        "p-values are Holm-adjusted across the composite and the categories. A non-significant result at "
        "this n is not evidence of no association: see the power statement.",
    ]
    if ref is not None:
        methods.append(
            f"Published reference: {ref.label}. Its figures are means; the difference column is the cohort "
            "mean minus the published mean."
        )
    return CohortReport(
        **base,
        summaries=summaries,
        bins=bins,
        segments=segments,
        correlations=correlations,
        power=cs.power,
        charts=chart_items,
        methods=methods,
        limitations=limitations,
    )


def _corr_line(c: Correlation) -> CorrelationLine:
    return CorrelationLine(
        variable=VARIABLE_NAMES.get(c.variable, c.variable),
        target=TARGET_NAMES.get(c.target, c.target),
        method="Kendall tau-b" if c.method == "kendall_tau_b" else "Spearman rho",
        n=c.n,
        estimate=c.estimate,
        ci=c.ci,
        p_value=c.p_value,
        p_holm=c.p_holm,
        reading=c.reading,
    )
