"""Typed models of the benchmark: organisation profiles, submissions and cohort statistics.

These are the contract between the statistics (``stats``), disclosure control (``disclosure``),
the store, the reports and the web pages.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Ordered bands: the order is what the rank correlations use.
EMPLOYEE_BANDS: tuple[str, ...] = ("1-49", "50-249", "250-999", "1000-4999", "5000-19999", "20000+")
REVENUE_BANDS: tuple[str, ...] = ("<10M", "10M-50M", "50M-250M", "250M-1B", "1B-10B", "10B+")
DEVICE_CLASSES: tuple[str, ...] = ("I", "II", "III")
REGIONS: tuple[str, ...] = (
    "North America",
    "Europe",
    "Asia-Pacific",
    "Latin America",
    "Middle East & Africa",
)
ASSESSMENT_TYPES: tuple[str, ...] = ("self", "third-party")
MIN_CELL = 5  # the disclosure floor: never lower


class OrgProfile(BaseModel):
    """A banded, non-identifying profile of an organisation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    employees_band: str
    revenue_band: str
    device_classes: tuple[str, ...] = ()
    region: str | None = None

    def employees_rank(self) -> int:
        return EMPLOYEE_BANDS.index(self.employees_band)

    def revenue_rank(self) -> int:
        return REVENUE_BANDS.index(self.revenue_band)


class Submission(BaseModel):
    """One organisation's scores submitted to a cohort for one period (no answers, no name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    submission_id: str = Field(description="stable per organisation, so it can resubmit each period")
    period: str = Field(description="e.g. '2022' or '2026-H1'")
    profile: OrgProfile
    assessment_type: Literal["self", "third-party"] = "self"
    composite: float = Field(ge=0, le=5)
    categories: dict[str, float]
    synthetic: bool = False


class Interval(BaseModel):
    low: float
    high: float
    level: float = 0.95
    method: str


class Summary(BaseModel):
    """Summary of one score over a cohort. Order statistics lead: the scores are ordinal."""

    n: int
    median: float
    q1: float
    q3: float
    iqr: float
    median_ci: Interval | None
    mean: float
    sd: float
    mean_ci: Interval | None = Field(description="bootstrap percentile interval, approximate")
    minimum: float | None = Field(default=None, description="only where disclosure rules allow it")
    maximum: float | None = None


class Bin(BaseModel):
    """A 0.5-wide bin of composites, labelled as the published report does ('1.5-1.99')."""

    low: float
    high: float
    label: str
    count: int | None = Field(description="None when suppressed")


class Correlation(BaseModel):
    variable: Literal["employees_band", "revenue_band"]
    target: str = Field(description="'composite' or a category id")
    method: Literal["kendall_tau_b", "spearman"]
    n: int
    estimate: float | None
    ci: Interval | None = Field(description="Bonett-Wright (Fisher z) interval")
    p_value: float | None = Field(description="permutation p-value, two-sided")
    p_holm: float | None = Field(description="Holm-adjusted across the categories")
    permutations: int
    reading: str = Field(description="plain-language reading, never 'no correlation' for small n")
    p_method: str | None = Field(
        default=None, description="how p_value was obtained: Monte Carlo permutation or asymptotic test"
    )


class PowerStatement(BaseModel):
    n: int
    alpha: float
    min_detectable_rho: float
    text: str


class SegmentSummary(BaseModel):
    dimension: str = Field(description="employees_band, revenue_band, region, device_class, assessment_type")
    value: str
    n: int | None = Field(description="None when suppressed")
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    suppressed: bool = False
    reason: str | None = None


class CohortStats(BaseModel):
    cohort: str
    periods: list[str]
    n: int
    min_cell: int = MIN_CELL
    suppressed: bool = Field(description="True when n < min_cell: then no statistic is shown")
    suppression_reason: str | None = None
    synthetic: bool = False
    composite: Summary | None = None
    categories: dict[str, Summary] = Field(default_factory=dict)
    bins: list[Bin] = Field(default_factory=list)
    correlations: list[Correlation] = Field(default_factory=list)
    power: PowerStatement | None = None
    segments: list[SegmentSummary] = Field(default_factory=list)
    composites: list[float] = Field(
        default_factory=list, description="sorted cohort composites for strip plots (no ids attached)"
    )


class Rank(BaseModel):
    """An organisation's position among the *other* submissions: 'k of n' and a quintile."""

    score: float
    below: int = Field(description="others strictly below")
    ties: int = Field(description="others with the same score")
    n_others: int
    rank: float = Field(description="1 + below + ties/2: average rank among the others, ties averaged")
    text: str = Field(description="e.g. 'higher than 12 of 17'")
    quintile: int = Field(ge=1, le=5, description="1 = bottom fifth, 5 = top fifth")


class Position(BaseModel):
    composite: Rank | None
    categories: dict[str, Rank | None]
