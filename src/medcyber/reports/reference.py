"""Published reference figures (e.g. the 2022 MDIC/Booz Allen benchmark) as the reports use them.

The benchmark package owns the reference data; the reports accept it in whatever typed shape it comes
(a pydantic model, a dataclass or a mapping) and read the few figures they print through
``coerce_reference``, tolerant of the usual field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field


class ReferenceBin(BaseModel):
    label: str
    count: int | None


class ReferenceFigures(BaseModel):
    id: str = "reference"
    title: str = "Published reference"
    year: int | None = None
    n: int | None = None
    questions: int | None = None
    composite: float | None = None
    categories: dict[str, float] = Field(default_factory=dict)
    bins: list[ReferenceBin] = Field(default_factory=list)
    citation: str | None = None
    notes: list[str] = Field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.title} ({self.year})" if self.year and str(self.year) not in self.title else self.title


def _as_mapping(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, BaseModel):
        return obj.model_dump()
    if hasattr(obj, "__dict__"):
        return {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    raise TypeError(f"cannot read reference figures from {type(obj).__name__}")


def _first(d: Mapping[str, Any], *names: str) -> Any:
    for n in names:
        if n in d and d[n] is not None:
            return d[n]
    return None


def _category_values(raw: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(raw, Mapping):
        for k, v in raw.items():
            if isinstance(v, int | float):
                out[str(k)] = float(v)
            else:
                m = _as_mapping(v)
                val = _first(m, "mean", "score", "value", "median")
                if val is not None:
                    out[str(k)] = float(val)
    elif isinstance(raw, list | tuple):
        for item in raw:
            m = _as_mapping(item)
            key = _first(m, "id", "category")
            val = _first(m, "mean", "score", "value", "median")
            if key is not None and val is not None:
                out[str(key)] = float(val)
    return out


def _bins(raw: Any) -> list[ReferenceBin]:
    if isinstance(raw, Mapping):
        return [ReferenceBin(label=str(k), count=None if v is None else int(v)) for k, v in raw.items()]
    out: list[ReferenceBin] = []
    for item in raw or ():
        m = _as_mapping(item)
        label = _first(m, "label", "range", "bin")
        if label is None and "low" in m and "high" in m:
            label = f"{m['low']}-{m['high']}"
        count = _first(m, "count", "n")
        out.append(ReferenceBin(label=str(label), count=None if count is None else int(count)))
    return out


def coerce_reference(obj: Any) -> ReferenceFigures | None:
    """Read reference figures from a model or mapping; None stays None."""
    if obj is None:
        return None
    if isinstance(obj, ReferenceFigures):
        return obj
    d = _as_mapping(obj)
    comp = _first(d, "composite", "composite_mean", "composite_score")
    if comp is not None and not isinstance(comp, int | float):
        comp = _first(_as_mapping(comp), "mean", "value", "score", "median")
    notes = _first(d, "notes", "caveats") or []
    findings = [_as_mapping(f).get("text") for f in (_first(d, "findings") or ())]
    notes = [*(notes if isinstance(notes, list | tuple) else [notes]), *(f for f in findings if f)]
    year = _first(d, "year")
    published = _first(d, "published", "date")
    if year is None and published is not None and str(published)[:4].isdigit():
        year = int(str(published)[:4])
    citation = _first(d, "citation", "source", "reference")
    if citation is None and _first(d, "publisher"):
        partner = _first(d, "partner")
        citation = f"{_first(d, 'title') or ''}, {d['publisher']}" + (f" with {partner}" if partner else "")
        citation += f", {published}." if published else "."
    return ReferenceFigures(
        id=str(_first(d, "id", "key", "slug") or "reference"),
        title=str(_first(d, "title", "name", "label") or "Published reference"),
        year=year,
        n=_first(d, "n", "respondents", "n_respondents", "organisations"),
        questions=_first(d, "questions", "n_questions"),
        composite=None if comp is None else float(comp),
        categories=_category_values(_first(d, "categories", "category_means", "category_scores") or {}),
        bins=_bins(_first(d, "bins", "composite_bins", "histogram") or []),
        citation=citation,
        notes=[str(n) for n in notes],
    )
