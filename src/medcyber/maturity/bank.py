"""The maturity question bank: typed models and the loader for the versioned YAML content.

The bank is content, not code: ``content/bank-<version>.yaml`` inside this package holds the
questions, level descriptors and references. Older bank versions stay in the package so that an
assessment answered against them keeps scoring against the questions it was answered on.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

CATEGORY_IDS: tuple[str, ...] = (
    "organizational_structure",
    "risk_management",
    "design_control",
    "complaint_handling",
)
CategoryId = Literal["organizational_structure", "risk_management", "design_control", "complaint_handling"]

LEVEL_NAMES: tuple[str, ...] = (
    "Not initiated",
    "Initiated",
    "Managed",
    "Defined",
    "Quantitatively managed",
    "Optimizing",
)


def level_name(score: float) -> str:
    """The CMMI level name for a (possibly fractional) score: the level reached, i.e. floor."""
    index = max(0, min(5, int(score + 1e-9)))
    return LEVEL_NAMES[index]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reference(_Model):
    source: str = Field(
        description="e.g. JSP, JSP2, FDA-premarket-2025, FDA-postmarket-2016, FDCA-524B, IEC-81001-5-1"
    )
    section: str
    note: str | None = None

    def label(self) -> str:
        return f"{self.source} {self.section}"


class ScaleLevel(_Model):
    level: int = Field(ge=0, le=5)
    name: str
    description: str


class PracticeArea(_Model):
    id: str
    name: str
    description: str = ""


class Category(_Model):
    id: CategoryId
    name: str
    description: str = ""
    practice_areas: tuple[PracticeArea, ...]


class Question(_Model):
    id: str
    category: CategoryId
    practice_area: str
    text: str
    guidance: str
    levels: tuple[str, str, str, str, str, str]
    references: tuple[Reference, ...] = Field(min_length=1)
    evidence_examples: tuple[str, ...] = ()
    weight: float = Field(default=1.0, gt=0)
    na_allowed: bool = False
    required: bool = True
    tags: tuple[str, ...] = ()


class MustHave(_Model):
    """An FD&C 524B must-have, shown as a pass/fail flag apart from the maturity scores."""

    id: str
    name: str
    description: str
    references: tuple[Reference, ...]
    questions: tuple[str, ...] = Field(min_length=1)
    pass_level: int = Field(ge=1, le=5)


class HeadlineRecommendation(_Model):
    """A recommendation of the published benchmark, shown when the linked answers fall below a level."""

    id: str
    text: str
    source: str
    questions: tuple[str, ...] = Field(min_length=1)
    below_level: int = Field(ge=1, le=5)


class QuestionBank(_Model):
    id: str
    version: str
    title: str
    description: str = ""
    scale: tuple[ScaleLevel, ...]
    categories: tuple[Category, ...]
    questions: tuple[Question, ...]
    must_haves: tuple[MustHave, ...] = ()
    headline_recommendations: tuple[HeadlineRecommendation, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> QuestionBank:
        if [c.id for c in self.categories] != list(CATEGORY_IDS):
            raise ValueError(f"categories must be exactly {CATEGORY_IDS} in that order")
        if [s.level for s in self.scale] != list(range(6)):
            raise ValueError("scale must list levels 0..5 in order")
        ids = [q.id for q in self.questions]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate question ids: {sorted(dupes)}")
        areas = {c.id: {p.id for p in c.practice_areas} for c in self.categories}
        for q in self.questions:
            if q.practice_area not in areas[q.category]:
                raise ValueError(f"question {q.id}: practice area {q.practice_area!r} not in {q.category}")
        known = set(ids)
        items: list[MustHave | HeadlineRecommendation] = [*self.must_haves, *self.headline_recommendations]
        for item in items:
            missing = set(item.questions) - known
            if missing:
                raise ValueError(f"{item.id}: unknown questions {sorted(missing)}")
        return self

    # --- look-ups -------------------------------------------------------------------------
    def question(self, question_id: str) -> Question:
        return self._index()[question_id]

    def has_question(self, question_id: str) -> bool:
        return question_id in self._index()

    def questions_in(self, category: str) -> list[Question]:
        return [q for q in self.questions if q.category == category]

    def category(self, category_id: str) -> Category:
        for c in self.categories:
            if c.id == category_id:
                return c
        raise KeyError(category_id)

    def practice_area(self, area_id: str) -> PracticeArea:
        for c in self.categories:
            for p in c.practice_areas:
                if p.id == area_id:
                    return p
        raise KeyError(area_id)

    def _index(self) -> dict[str, Question]:
        cached = self.__dict__.get("_qindex")
        if cached is None:
            cached = {q.id: q for q in self.questions}
            object.__setattr__(self, "_qindex", cached)
        return cached


class BankNotFoundError(LookupError):
    pass


def available_versions() -> list[str]:
    """Bank versions shipped in the package, oldest first."""
    root = resources.files("medcyber.maturity") / "content"
    versions = [
        p.name[len("bank-") : -len(".yaml")]
        for p in root.iterdir()
        if p.name.startswith("bank-") and p.name.endswith(".yaml")
    ]
    return sorted(versions, key=lambda v: tuple(int(x) for x in v.split(".")))


def latest_version() -> str:
    versions = available_versions()
    if not versions:
        raise BankNotFoundError("no question bank is shipped in the package")
    return versions[-1]


def load_bank(version: str | None = None) -> QuestionBank:
    """Load a shipped bank (the latest when ``version`` is None); parsed once per process."""
    return _load_bank(version or latest_version())


@cache
def _load_bank(version: str) -> QuestionBank:
    path = resources.files("medcyber.maturity") / "content" / f"bank-{version}.yaml"
    if not path.is_file():
        raise BankNotFoundError(
            f"question bank version {version!r} is not available (have: {', '.join(available_versions())})"
        )
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (a safe loader)
    bank = QuestionBank.model_validate(data)
    if bank.version != version:
        raise BankNotFoundError(f"bank file for {version!r} declares version {bank.version!r}")
    return bank
