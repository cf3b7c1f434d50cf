"""Published benchmark figures (reference data shipped as YAML in ``benchmark/reference/``)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..maturity.bank import CATEGORY_IDS


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PublishedCategory(_Model):
    id: str
    name: str
    mean: float = Field(ge=0, le=5)


class PublishedBin(_Model):
    label: str
    low: float
    high: float
    count: int = Field(ge=0)


class Finding(_Model):
    id: str
    text: str


class LaterEdition(_Model):
    edition: str
    title: str
    partner: str | None = None
    composite_mean: float = Field(ge=0, le=5)


class PublishedBenchmark(_Model):
    """The aggregates a benchmark report published (no respondent-level data)."""

    id: str
    title: str
    publisher: str
    partner: str | None = None
    published: str
    framework: str
    scale: str
    respondents: int = Field(ge=1)
    questions: int = Field(ge=1)
    categories: tuple[PublishedCategory, ...]
    composite_mean: float
    composite_definition: str
    composite_bins: tuple[PublishedBin, ...]
    findings: tuple[Finding, ...] = ()
    later_editions: tuple[LaterEdition, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> PublishedBenchmark:
        if tuple(c.id for c in self.categories) != CATEGORY_IDS:
            raise ValueError(f"categories must be {CATEGORY_IDS} in that order")
        if sum(b.count for b in self.composite_bins) != self.respondents:
            raise ValueError("composite bin counts must add up to the number of respondents")
        return self

    def category_means(self) -> dict[str, float]:
        return {c.id: c.mean for c in self.categories}

    def finding(self, finding_id: str) -> Finding:
        for f in self.findings:
            if f.id == finding_id:
                return f
        raise KeyError(finding_id)


@cache
def load_reference(name: str = "mdic-2022") -> PublishedBenchmark:
    """Load a shipped reference data set, e.g. ``load_reference("mdic-2022")``."""
    path = resources.files("medcyber.benchmark") / "reference" / f"{name}.yaml"
    if not path.is_file():
        raise LookupError(f"no reference data set named {name!r}")
    return PublishedBenchmark.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
