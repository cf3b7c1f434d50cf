"""Charts of the device portfolio (the dashboard), in the style of ``reports.charts``, and a memo of
rendered SVG for pages that show the same chart many times.

Building an Altair chart and rendering it with vl-convert costs tens of milliseconds; a page that is
requested again and again with the same figures would pay that on every request. ``cached_svg`` renders
a chart once per distinct key (the figures it shows) and keeps the last few hundred SVGs in memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import altair as alt

from ..vulns.findings import LEVELS
from .charts import _data, _finish, to_svg

# the severity colours of the web pages (static/app.css) and of the scan reports
SEVERITY_COLOURS = {
    "critical": "#8b1a1a",
    "high": "#c2410c",
    "medium": "#b7791f",
    "low": "#2f6f3e",
    "none": "#6b7280",
    "unknown": "#9ca3af",
}


def severity_chart(by_severity: Mapping[str, int], *, title: str | None = None) -> Any:
    """Open findings per severity level (bars, most severe on top, the count beside each)."""
    rows: list[dict[str, Any]] = []
    for level in LEVELS:
        n = int(by_severity.get(level, 0))
        label = f"{n:,}"
        rows.append({"severity": level.capitalize(), "level": level, "findings": n, "label": label})
    order = [level.capitalize() for level in LEVELS]
    top = max([int(by_severity.get(level, 0)) for level in LEVELS] + [1])
    y = alt.Y("severity:N", sort=order, title=None, axis=alt.Axis(labelFontSize=11))
    x = alt.X(
        "findings:Q",
        title="Open findings",
        scale=alt.Scale(domain=[0, top * 1.3], nice=False),
        axis=alt.Axis(format="~s", tickMinStep=1),
    )
    colour = alt.Color(
        "level:N",
        scale=alt.Scale(domain=list(LEVELS), range=[SEVERITY_COLOURS[lv] for lv in LEVELS]),
        legend=None,
    )
    bars = (
        alt.Chart(_data(rows))
        .mark_bar(height=16)
        .encode(x=x, y=y, color=colour, tooltip=["severity:N", "findings:Q"])
    )
    text = (
        alt.Chart(_data(rows))
        .mark_text(align="left", dx=4, fontSize=11, color="#333333")
        .encode(x="findings:Q", y=y, text="label:N")
    )
    return _finish(alt.layer(bars, text), title or "Open findings by severity", 400, 150)


_CACHE: OrderedDict[Hashable, str] = OrderedDict()
_LOCK = threading.Lock()
CACHE_SIZE = 256


def cached_svg(key: Hashable, build: Callable[[], Any]) -> str:
    """The SVG of ``build()``, rendered once per ``key`` (which must identify everything the chart shows)."""
    with _LOCK:
        svg = _CACHE.get(key)
        if svg is not None:
            _CACHE.move_to_end(key)
            return svg
    svg = to_svg(build())
    with _LOCK:
        _CACHE[key] = svg
        _CACHE.move_to_end(key)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return svg


__all__ = ["SEVERITY_COLOURS", "cached_svg", "severity_chart"]
