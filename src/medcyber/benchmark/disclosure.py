"""Disclosure control for cohort statistics.

The benchmark publishes statistics about a cohort of organisations; no organisation may learn another's
score. The rules, applied inside :func:`medcyber.benchmark.stats.cohort_stats` and reusable by reports
(:func:`protect_cohort` is idempotent and can be run again on any ``CohortStats`` before it is shown):

1. **Cohort floor.** With fewer than ``min_cell`` submissions no statistic at all is shown
   (``suppressed=True`` with a reason; summaries, bins, correlations, segments and the composites list are
   empty). ``min_cell`` is configurable but never below :data:`~medcyber.benchmark.models.MIN_CELL` (5);
   asking for less raises ``ValueError``.
2. **Segments, primary suppression.** A segment (one value of one dimension, e.g. revenue band "10B+")
   with fewer than ``min_cell`` submissions shows nothing: ``suppressed=True``, ``n=None``, no median or
   quartiles.
3. **Segments, complementary suppression.** If a dimension has any suppressed segment, further segments
   are suppressed, smallest first (ties in dimension order), until the suppressed segments of that
   dimension are at least two *and* together hold at least ``min_cell`` submissions, or all segments of
   the dimension are suppressed. The size of the suppressed union can always be recovered as
   ``cohort n - sum of the shown segments``; the rule makes that union at least two segments and at least
   ``min_cell`` organisations, so no small segment's size is recoverable. (``device_class`` segments may
   overlap, since a manufacturer can make several classes; the same rule is applied, which is
   conservative there.)
4. **Extremes.** Segments never show a minimum or maximum. The cohort summaries (composite and
   categories) show min/max only when ``n >= EXTREMES_MIN_N`` (10): an extreme is one organisation's
   score. For the same reason the order-statistic median CI is withheld when its end points would be the
   sample extremes and ``n < EXTREMES_MIN_N`` (this happens for n <= 8).
5. **Composites list.** The sorted list of composites (for strip plots) is given only when the cohort is
   not suppressed, without ids or profiles. The 0.5-wide bin counts are not cell-suppressed: they are a
   coarsening of that list, which is shown anyway, and carry no profile attribute.
6. **Answers never enter.** Statistics work on :class:`~medcyber.benchmark.models.Submission` objects,
   which carry scores and a banded profile only, never answers or organisation names.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from .models import MIN_CELL, CohortStats, SegmentSummary, Summary

EXTREMES_MIN_N = 10
"""Cohort min/max (and a median CI whose ends are the extremes) only from this many submissions."""

PRIMARY = "primary"
COMPLEMENTARY = "complementary"
UPSTREAM = "upstream"


def check_min_cell(min_cell: int) -> int:
    """Return ``min_cell`` if allowed; raise ``ValueError`` below the floor of 5."""
    if isinstance(min_cell, bool) or not isinstance(min_cell, int):
        raise ValueError(f"min_cell must be an integer, got {min_cell!r}")
    if min_cell < MIN_CELL:
        raise ValueError(f"min_cell must be at least {MIN_CELL} (disclosure floor), got {min_cell}")
    return min_cell


def cohort_suppression_reason(n: int, min_cell: int = MIN_CELL) -> str | None:
    """Why a cohort of ``n`` must be suppressed, or None when statistics may be shown."""
    check_min_cell(min_cell)
    if n < min_cell:
        return f"fewer than {min_cell} submissions in the cohort (n={n}): no statistics are shown"
    return None


def extremes_allowed(n: int) -> bool:
    """Whether a cohort of ``n`` may show its minimum and maximum."""
    return n >= EXTREMES_MIN_N


def suppression_plan(
    sizes: Mapping[str, int], min_cell: int = MIN_CELL, *, hidden: Collection[str] = ()
) -> dict[str, str | None]:
    """Decide which cells of ONE dimension to suppress.

    ``sizes`` maps each segment value (in display order) to its count. ``hidden`` names cells that are
    already suppressed upstream (their size is unknown; they are taken to hold ``min_cell``, so only the
    "at least two hidden cells" part of the rule can add to them). Returns, for each value, None (shown),
    ``"primary"`` (n < min_cell), ``"complementary"`` (hidden to protect a primary cell) or ``"upstream"``.
    See rule 3 in the module docstring.
    """
    check_min_cell(min_cell)
    plan: dict[str, str | None] = {}
    known: dict[str, int] = {}
    for v, n in sizes.items():
        if v in hidden:
            plan[v] = UPSTREAM
            known[v] = min_cell
        else:
            plan[v] = PRIMARY if n < min_cell else None
            known[v] = n
    if not any(plan.values()):
        return plan
    order = {v: i for i, v in enumerate(sizes)}

    def suppressed() -> list[str]:
        return [v for v, r in plan.items() if r]

    while len(suppressed()) < 2 or sum(known[v] for v in suppressed()) < min_cell:
        shown = [v for v, r in plan.items() if not r]
        if not shown:
            break
        nxt = min(shown, key=lambda v: (known[v], order[v]))
        plan[nxt] = COMPLEMENTARY
    return plan


def suppression_reason_text(kind: str, min_cell: int = MIN_CELL) -> str:
    """The reason shown for a suppressed segment of the given kind."""
    if kind == PRIMARY:
        return f"fewer than {min_cell} submissions in this segment"
    if kind == COMPLEMENTARY:
        return "hidden so that a smaller suppressed segment cannot be recovered from the total"
    return "suppressed"


def protect_segments(segments: Sequence[SegmentSummary], min_cell: int = MIN_CELL) -> list[SegmentSummary]:
    """Re-check segment summaries (grouped by ``dimension``, order kept); idempotent.

    Shown segments with n < min_cell are suppressed, and rule 3 is applied. Segments already suppressed
    (``n=None``) keep their reason; their size is unknown here, so the union-size condition is assumed
    to have been met upstream (``cohort_stats`` applies the full rule with the true sizes) and only the
    "at least two hidden cells" condition is enforced on them.
    """
    check_min_cell(min_cell)
    by_dim: dict[str, list[SegmentSummary]] = {}
    for s in segments:
        by_dim.setdefault(s.dimension, []).append(s)
    decided: dict[tuple[str, str], str | None] = {}
    for dim, segs in by_dim.items():
        upstream = {s.value for s in segs if s.suppressed or s.n is None}
        sizes = {s.value: (s.n or 0) for s in segs}
        for value, kind in suppression_plan(sizes, min_cell, hidden=upstream).items():
            decided[(dim, value)] = kind
    out: list[SegmentSummary] = []
    for s in segments:
        kind = decided[(s.dimension, s.value)]
        if kind is None:
            out.append(s)
        elif kind == UPSTREAM:
            out.append(
                s.model_copy(update={"n": None, "median": None, "q1": None, "q3": None, "suppressed": True})
            )
        else:
            out.append(
                SegmentSummary(
                    dimension=s.dimension,
                    value=s.value,
                    n=None,
                    suppressed=True,
                    reason=suppression_reason_text(kind, min_cell),
                )
            )
    return out


def _protect_summary(summary: Summary) -> Summary:
    if extremes_allowed(summary.n):
        return summary
    update: dict[str, object] = {"minimum": None, "maximum": None}
    ci = summary.median_ci
    if ci is not None and (
        (summary.minimum is not None and ci.low <= summary.minimum)
        or (summary.maximum is not None and ci.high >= summary.maximum)
    ):
        update["median_ci"] = None  # its end points are the extremes
    return summary.model_copy(update=update)


def protect_cohort(stats: CohortStats) -> CohortStats:
    """Enforce all rules on a computed ``CohortStats`` (idempotent); returns a protected copy."""
    check_min_cell(stats.min_cell)
    reason = cohort_suppression_reason(stats.n, stats.min_cell)
    if reason is not None or stats.suppressed:
        return CohortStats(
            cohort=stats.cohort,
            periods=stats.periods,
            n=stats.n,
            min_cell=stats.min_cell,
            suppressed=True,
            suppression_reason=stats.suppression_reason or reason,
            synthetic=stats.synthetic,
        )
    composite = _protect_summary(stats.composite) if stats.composite is not None else None
    categories = {cid: _protect_summary(s) for cid, s in stats.categories.items() if s.n >= stats.min_cell}
    return stats.model_copy(
        update={
            "composite": composite,
            "categories": categories,
            "segments": protect_segments(stats.segments, stats.min_cell),
            "composites": sorted(stats.composites),
        }
    )
