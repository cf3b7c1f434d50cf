"""The support timeline of an SBOM: one row per component with a known end of support.

Each bar runs from the cycle's release date (when endoflife.date gives one; otherwise a point at the
end) to the end of support in force, coloured by status on the analysis date, which is marked by a rule.
Same look as the report charts (Okabe-Ito palette, DejaVu Sans), rendered with vl-convert.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import altair as alt

from ..reports.charts import COHORT, FONT, INK, ORG, to_spec, to_svg
from .analysis import LifecycleReport

STATUS_COLOURS = {"supported": COHORT, "end-of-support": ORG, "unknown": "#999999"}
MAX_ROWS = 60  # beyond this the chart keeps the components ending soonest


def timeline_chart(report: LifecycleReport, *, title: str | None = None, max_rows: int = MAX_ROWS) -> Any:
    rows: list[dict[str, Any]] = []
    for c in report.components:
        if c.eol is None:
            continue
        label = f"{c.name} {c.version or ''}".strip()
        start = c.released if c.released is not None and c.released <= c.eol else None
        rows.append(
            {
                "component": label if len(label) <= 48 else label[:47] + "...",
                "start": (start or c.eol).isoformat(),
                "end": c.eol.isoformat(),
                "status": c.support_status,
                "source": c.source,
                "cycle": f"{c.product_title or c.product} {c.cycle}" if c.cycle else "",
                "has_start": start is not None,
            }
        )
    dropped = max(0, len(rows) - max_rows)
    if dropped:  # keep the ends nearest the analysis date: the recently ended and the next to end
        as_of = report.as_of
        rows.sort(key=lambda r: abs((dt.date.fromisoformat(r["end"]) - as_of).days))
        rows = rows[:max_rows]
    rows.sort(key=lambda r: r["end"])
    order = [r["component"] for r in rows]
    domain = [s for s in STATUS_COLOURS if any(r["status"] == s for r in rows)] or ["supported"]
    colour = alt.Color(
        "status:N",
        scale=alt.Scale(domain=domain, range=[STATUS_COLOURS[s] for s in domain]),
        legend=alt.Legend(title=None),
    )
    y = alt.Y("component:N", sort=order, title=None, axis=alt.Axis(labelLimit=260, labelFontSize=10))
    x = alt.X("start:T", title="Date", axis=alt.Axis(format="%Y"))
    tooltip = ["component:N", "cycle:N", "start:T", "end:T", "status:N", "source:N"]
    bars = (
        alt.Chart(alt.Data(values=[r for r in rows if r["has_start"]]))
        .mark_bar(height=10, cornerRadius=2)
        .encode(x, x2="end:T", y=y, color=colour, tooltip=tooltip)
    )
    ends = (
        alt.Chart(alt.Data(values=rows))
        .mark_point(shape="diamond", filled=True, size=60)
        .encode(x=alt.X("end:T"), y=y, color=colour, tooltip=tooltip)
    )
    today = [{"d": report.as_of.isoformat(), "t": f"as of {report.as_of.isoformat()}"}]
    rule = alt.Chart(alt.Data(values=today)).mark_rule(color=INK, strokeDash=[4, 3]).encode(x="d:T")
    text = (
        alt.Chart(alt.Data(values=today))
        .mark_text(color=INK, align="left", dx=4, dy=-4, fontSize=10, baseline="bottom")
        .encode(x="d:T", y=alt.value(0), text="t:N")
    )
    heading = title or "Support timeline: release to end of support, by component"
    if dropped:
        heading += f" ({max_rows} ending nearest {report.as_of}; {dropped} more not shown)"
    layer = alt.layer(bars, ends, rule, text)
    height = max(60, 16 * len(rows))
    return (
        layer.properties(
            title=alt.TitleParams(heading, anchor="start", fontSize=13, color=INK), width=520, height=height
        )
        .configure(font=FONT, background="white")
        .configure_view(stroke=None)
        .configure_axis(
            labelColor=INK, titleColor=INK, gridColor="#E6E6E6", labelFontSize=11, titleFontSize=11
        )
        .configure_legend(labelColor=INK, titleColor=INK, labelFontSize=11, orient="bottom", title=None)
    )


def write_timeline(report: LifecycleReport, path: Path | str, *, title: str | None = None) -> Path:
    """Write the timeline as SVG (``.svg``) or a self-contained HTML page with the SVG inline."""
    out = Path(path)
    chart = timeline_chart(report, title=title)
    suffix = out.suffix.lower()
    if suffix == ".svg":
        out.write_text(to_svg(chart), encoding="utf-8")
    elif suffix in (".html", ".htm"):
        svg = to_svg(chart)
        out.write_text(
            "<!doctype html><html><head><meta charset='utf-8'><title>Support timeline</title></head>"
            f"<body style='font-family:{FONT},sans-serif'>{svg}</body></html>\n",
            encoding="utf-8",
        )
    else:
        raise ValueError(f"{out.name}: the timeline is written as .svg or .html")
    return out


__all__ = ["timeline_chart", "to_spec", "write_timeline"]
