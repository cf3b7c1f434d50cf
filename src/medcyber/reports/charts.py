"""Charts of the benchmark reports, defined once with Altair and rendered to SVG/PNG with vl-convert.

Every chart function returns an ``alt.Chart`` (or layer) with its data inline, so the same spec
(``to_spec``) serves the HTML/PDF reports (``to_svg``), the Word report (``to_png``) and the web page.
Palette: Okabe-Ito (colour-blind safe); the organisation is always vermillion, the cohort blue.
Font: DejaVu Sans (shipped with Debian, no remote fonts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import altair as alt
import vl_convert as vlc

from ..benchmark.models import MIN_CELL, Bin, CohortStats
from ..maturity.bank import CATEGORY_IDS, LEVEL_NAMES
from ..maturity.scoring import AssessmentScore

FONT = "DejaVu Sans"
ORG = "#D55E00"  # vermillion
COHORT = "#0072B2"  # blue
COHORT_LIGHT = "#9ECAE9"
REFERENCE = "#009E73"  # bluish green
GRID = "#BBBBBB"
INK = "#333333"

SHORT_NAMES = {
    "organizational_structure": "Organizational\nStructure",
    "risk_management": "Risk\nManagement",
    "design_control": "Design\nControl",
    "complaint_handling": "Complaint\nHandling",
}
FLAT_NAMES = {k: v.replace("\n", " ") for k, v in SHORT_NAMES.items()}

Chart = alt.Chart | alt.LayerChart


def _finish(chart: Any, title: str, width: int, height: int) -> Any:
    return (
        chart.properties(
            title=alt.TitleParams(title, anchor="start", fontSize=13, color=INK), width=width, height=height
        )
        .configure(font=FONT, background="white")
        .configure_view(stroke=None)
        .configure_axis(
            labelColor=INK, titleColor=INK, gridColor="#E6E6E6", labelFontSize=11, titleFontSize=11
        )
        .configure_legend(labelColor=INK, titleColor=INK, labelFontSize=11, orient="bottom", title=None)
    )


def _data(rows: list[dict[str, Any]]) -> alt.Data:
    return alt.Data(values=rows)


# --- radar ----------------------------------------------------------------------------------------
def _polar(r: float, i: float, n: int) -> tuple[float, float]:
    theta = 2 * math.pi * i / n
    return r * math.sin(theta), r * math.cos(theta)


def radar_chart(
    org_name: str,
    org: dict[str, float | None],
    cohort_median: dict[str, float] | None,
    *,
    title: str | None = None,
) -> Any:
    """Organisation vs cohort median per category on 0-5 rings (x/y computed here: no polar line mark)."""
    cats = list(CATEGORY_IDS)
    n = len(cats)
    rings = []
    for level in range(1, 6):
        for k in range(73):
            x, y = _polar(level, k * n / 72, n)
            rings.append({"ring": level, "k": k, "x": x, "y": y})
    spokes = []
    for i, _c in enumerate(cats):
        x, y = _polar(5, i, n)
        spokes.append({"x": 0.0, "y": 0.0, "x2": x, "y2": y})
    ring_labels = [
        {"x": _polar(lv, 0.5, n)[0] + 0.1, "y": _polar(lv, 0.5, n)[1], "t": str(lv)} for lv in range(1, 6)
    ]
    cat_labels = []
    for i, c in enumerate(cats):
        x, y = _polar(6.3, i, n)
        cat_labels.append({"x": x, "y": y, "t": SHORT_NAMES[c]})

    series_rows: list[dict[str, Any]] = []
    names: list[str] = []
    colours: list[str] = []
    for label, values, hue in (("Cohort median", cohort_median, COHORT), (org_name, org, ORG)):
        if not values:
            continue
        names.append(label)
        colours.append(hue)
        for k, c in enumerate([*cats, cats[0]]):
            v = values.get(c)
            r = 0.0 if v is None else float(v)
            x, y = _polar(r, k, n)
            series_rows.append(
                {
                    "series": label,
                    "k": k,
                    "x": x,
                    "y": y,
                    "category": FLAT_NAMES[c],
                    "score": round(r, 2),
                    "end": k == n,
                }
            )

    scale_x = alt.Scale(domain=[-8.6, 8.6], nice=False)
    scale_y = alt.Scale(domain=[-7.2, 7.2], nice=False)
    X = alt.X("x:Q", scale=scale_x, axis=None)  # noqa: N806
    Y = alt.Y("y:Q", scale=scale_y, axis=None)  # noqa: N806
    colour = alt.Color(
        "series:N", scale=alt.Scale(domain=names, range=colours), legend=alt.Legend(title=None)
    )

    ring_layer = (
        alt.Chart(_data(rings))
        .mark_line(color=GRID, strokeWidth=0.7)
        .encode(X, Y, detail="ring:N", order="k:Q")
    )
    spoke_layer = (
        alt.Chart(_data(spokes)).mark_rule(color=GRID, strokeWidth=0.7).encode(X, Y, x2="x2:Q", y2="y2:Q")
    )
    ring_text = (
        alt.Chart(_data(ring_labels))
        .mark_text(color="#777777", fontSize=9, align="left", dy=-4)
        .encode(X, Y, text="t:N")
    )
    cat_text = (
        alt.Chart(_data(cat_labels))
        .mark_text(color=INK, fontSize=11, fontWeight="bold", lineBreak="\n")
        .encode(X, Y, text="t:N")
    )
    line_layer = (
        alt.Chart(_data(series_rows))
        .mark_line(strokeWidth=2.2)
        .encode(X, Y, colour, order="k:Q", detail="series:N")
    )
    point_layer = (
        alt.Chart(_data([r for r in series_rows if not r["end"]]))
        .mark_point(filled=True, size=55)
        .encode(X, Y, colour, tooltip=["series:N", "category:N", "score:Q"])
    )
    layer = alt.layer(ring_layer, spoke_layer, ring_text, cat_text, line_layer, point_layer)
    return _finish(layer, title or "Category scores: organisation vs cohort median (0-5)", 430, 360)


# --- histogram ------------------------------------------------------------------------------------
def histogram_chart(
    bins: Sequence[Bin],
    *,
    org_name: str | None = None,
    org_composite: float | None = None,
    title: str | None = None,
) -> Any:
    """Cohort composites in the 0.5-wide bins; the organisation's composite marked with a rule."""
    rows: list[dict[str, Any]] = [
        {
            "low": b.low,
            "high": b.low + 0.5,
            "label": b.label,
            "count": b.count if b.count is not None else 0,
            "shown": f"suppressed (<{MIN_CELL})" if b.count is None else (str(b.count) if b.count else ""),
        }
        for b in bins
    ]
    max_count: int = max([int(r["count"]) for r in rows] + [1])
    x = alt.X(
        "low:Q",
        scale=alt.Scale(domain=[0, 5], nice=False),
        title="Composite score (0-5)",
        axis=alt.Axis(values=[0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5], format=".1f"),
    )
    bars = (
        alt.Chart(_data(rows))
        .mark_bar(color=COHORT_LIGHT, stroke="white", strokeWidth=1)
        .encode(
            x,
            x2="high:Q",
            y2=alt.datum(0),
            y=alt.Y(
                "count:Q",
                title="Organisations",
                scale=alt.Scale(domain=[0, max_count + 1]),
                axis=alt.Axis(tickMinStep=1, format="d"),
            ),
            tooltip=["label:N", "shown:N"],
        )
    )
    counts = (
        alt.Chart(_data(rows))
        .transform_calculate(mid="(datum.low + datum.high) / 2")
        .mark_text(dy=-6, color=INK, fontSize=10)
        .encode(x=alt.X("mid:Q"), y="count:Q", text="shown:N")
    )
    layers: list[Any] = [bars, counts]
    if org_composite is not None:
        mark = [
            {
                "v": org_composite,
                "t": f"{org_name or 'Organisation'}: {org_composite:.2f}",
                "top": max_count + 1,
            }
        ]
        layers.append(alt.Chart(_data(mark)).mark_rule(color=ORG, strokeWidth=2.5).encode(x="v:Q"))
        layers.append(
            alt.Chart(_data(mark))
            .mark_text(color=ORG, align="left", dx=5, dy=8, fontWeight="bold", fontSize=11)
            .encode(x="v:Q", y="top:Q", text="t:N")
        )
    return _finish(alt.layer(*layers), title or "Distribution of cohort composite scores", 430, 220)


# --- category bars with CIs ----------------------------------------------------------------------
def category_bars_chart(
    cohort: CohortStats,
    *,
    org_name: str | None = None,
    org: dict[str, float | None] | None = None,
    reference: dict[str, float] | None = None,
    reference_label: str = "Published reference",
    title: str | None = None,
) -> Any:
    """Cohort median per category (bar) with its CI (rule), the organisation's score as a point and,
    optionally, a published reference figure as a tick."""
    rows = []
    for cid in CATEGORY_IDS:
        s = cohort.categories.get(cid)
        if s is None:
            continue
        ci = s.median_ci
        rows.append(
            {
                "category": FLAT_NAMES[cid],
                "median": round(s.median, 2),
                "low": round(ci.low, 2) if ci else None,
                "high": round(ci.high, 2) if ci else None,
                "series": "Cohort median (95% CI)",
            }
        )
    order = [FLAT_NAMES[c] for c in CATEGORY_IDS]
    names = ["Cohort median (95% CI)"]
    colours = [COHORT_LIGHT]
    if reference:
        names.append(reference_label)
        colours.append(REFERENCE)
    if org:
        names.append(org_name or "Organisation")
        colours.append(ORG)
    colour = alt.Color("series:N", scale=alt.Scale(domain=names, range=colours))
    y = alt.Y("category:N", sort=order, title=None, axis=alt.Axis(labelFontSize=11, labelLimit=200))
    x_scale = alt.Scale(domain=[0, 5], nice=False)
    layers: list[Any] = [
        alt.Chart(_data(rows))
        .mark_bar(height=18)
        .encode(
            x=alt.X("median:Q", scale=x_scale, title="Score (0-5)"),
            y=y,
            color=colour,
            tooltip=["category:N", "median:Q", "low:Q", "high:Q"],
        ),
        alt.Chart(_data([r for r in rows if r["low"] is not None]))
        .mark_rule(color=COHORT, strokeWidth=2)
        .encode(x="low:Q", x2="high:Q", y=y),
        alt.Chart(_data([r for r in rows if r["low"] is not None]))
        .mark_tick(color=COHORT, thickness=2, size=12)
        .encode(x="low:Q", y=y),
        alt.Chart(_data([r for r in rows if r["high"] is not None]))
        .mark_tick(color=COHORT, thickness=2, size=12)
        .encode(x="high:Q", y=y),
    ]
    if reference:
        ref_rows = [
            {"category": FLAT_NAMES[c], "value": v, "series": reference_label}
            for c, v in reference.items()
            if c in FLAT_NAMES
        ]
        layers.append(
            alt.Chart(_data(ref_rows))
            .mark_point(shape="triangle-up", filled=True, size=90)
            .encode(x="value:Q", y=y, color=colour, tooltip=["category:N", "value:Q"])
        )
    if org:
        label = org_name or "Organisation"
        org_rows = [
            {"category": FLAT_NAMES[c], "value": round(v, 2), "series": label, "t": f"{v:.2f}"}
            for c, v in org.items()
            if v is not None and c in FLAT_NAMES
        ]
        layers.append(
            alt.Chart(_data(org_rows))
            .mark_point(shape="diamond", filled=True, size=140, stroke="white", strokeWidth=1)
            .encode(x="value:Q", y=y, color=colour, tooltip=["category:N", "value:Q"])
        )
        layers.append(
            alt.Chart(_data(org_rows))
            .mark_text(color=ORG, dy=-13, fontSize=10, fontWeight="bold")
            .encode(x="value:Q", y=y, text="t:N")
        )
    chart = alt.layer(*layers)
    return _finish(chart, title or "Category scores with the cohort median and its 95% CI", 430, 200)


# --- strip / dot plot -------------------------------------------------------------------------------
def strip_chart(
    composites: Sequence[float],
    *,
    org_name: str | None = None,
    org_composite: float | None = None,
    title: str | None = None,
) -> Any:
    """Each cohort composite as a dot (equal values stacked), the organisation highlighted."""
    stacks: dict[float, int] = {}
    rows = []
    for v in sorted(composites):
        key = round(v / 0.05) * 0.05
        stacks[key] = stacks.get(key, 0) + 1
        rows.append({"v": round(v, 2), "y": stacks[key], "series": "Other organisations"})
    top = max(stacks.values(), default=1)
    x = alt.X("v:Q", scale=alt.Scale(domain=[0, 5], nice=False), title="Composite score (0-5)")
    y = alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[0, top + 2]))
    names = ["Other organisations"]
    colours = [COHORT]
    if org_composite is not None:
        names.append(org_name or "Organisation")
        colours.append(ORG)
    colour = alt.Color("series:N", scale=alt.Scale(domain=names, range=colours))
    layers: list[Any] = [
        alt.Chart(_data(rows)).mark_circle(size=60, opacity=0.8).encode(x, y, color=colour, tooltip=["v:Q"])
    ]
    if org_composite is not None:
        label = org_name or "Organisation"
        mark = [
            {
                "v": round(org_composite, 2),
                "y": top + 1,
                "series": label,
                "t": f"{label}: {org_composite:.2f}",
            }
        ]
        layers.append(alt.Chart(_data(mark)).mark_rule(color=ORG, strokeDash=[4, 3]).encode(x="v:Q"))
        layers.append(
            alt.Chart(_data(mark))
            .mark_point(shape="diamond", filled=True, size=180)
            .encode(x, y, color=colour, tooltip=["v:Q"])
        )
        layers.append(
            alt.Chart(_data(mark))
            .mark_text(color=ORG, align="left", dx=9, fontWeight="bold", fontSize=11)
            .encode(x, y, text="t:N")
        )
    chart = alt.layer(*layers)
    return _finish(chart, title or "Where the organisation sits among the cohort composites", 430, 120)


# --- progress -------------------------------------------------------------------------------------
def progress_chart(
    history: Sequence[tuple[date, AssessmentScore]], *, target: float | None = None, title: str | None = None
) -> Any:
    """Composite per assessment date (and the target as a dashed rule)."""
    rows = [
        {"date": d.isoformat(), "composite": round(s.composite, 2), "t": f"{s.composite:.2f}"}
        for d, s in sorted(history, key=lambda t: t[0])
        if s.composite is not None
    ]
    x = alt.X(
        "date:T", title="Assessment date", axis=alt.Axis(format="%b %Y", tickCount=max(2, min(len(rows), 6)))
    )
    y = alt.Y("composite:Q", scale=alt.Scale(domain=[0, 5], nice=False), title="Composite (0-5)")
    layers: list[Any] = [
        alt.Chart(_data(rows)).mark_line(color=ORG, strokeWidth=2).encode(x, y),
        alt.Chart(_data(rows))
        .mark_point(color=ORG, filled=True, size=60)
        .encode(x, y, tooltip=["date:T", "composite:Q"]),
        alt.Chart(_data(rows)).mark_text(color=ORG, dy=-10, fontSize=10).encode(x, y, text="t:N"),
    ]
    if target is not None:
        tgt = [{"target": round(target, 2), "t": f"target {target:.2f}"}]
        layers.append(
            alt.Chart(_data(tgt)).mark_rule(color=COHORT, strokeDash=[5, 4]).encode(y=alt.Y("target:Q"))
        )
        layers.append(
            alt.Chart(_data(tgt))
            .mark_text(color=COHORT, align="right", dy=-6, fontSize=10)
            .encode(y=alt.Y("target:Q"), x=alt.value(430), text="t:N")
        )
    return _finish(alt.layer(*layers), title or "Composite score over time", 430, 180)


# --- rendering ------------------------------------------------------------------------------------
def to_spec(chart: Any) -> dict[str, Any]:
    """The Vega-Lite spec (a plain JSON-able dict with the data inline)."""
    return chart.to_dict()


def spec_to_svg(spec: dict[str, Any]) -> str:
    return vlc.vegalite_to_svg(spec)


def spec_to_png(spec: dict[str, Any], scale: float = 2.0) -> bytes:
    return vlc.vegalite_to_png(spec, scale=scale)


def to_svg(chart: Any) -> str:
    return spec_to_svg(to_spec(chart))


def to_png(chart: Any, scale: float = 2.0) -> bytes:
    return spec_to_png(to_spec(chart), scale=scale)


__all__ = [
    "LEVEL_NAMES",
    "category_bars_chart",
    "histogram_chart",
    "progress_chart",
    "radar_chart",
    "spec_to_png",
    "spec_to_svg",
    "strip_chart",
    "to_png",
    "to_spec",
    "to_svg",
]
