"""The SYNTHETIC demo cohort calibrated to the published 2022 benchmark, and the "Acme Medical" demo.

The 2022 MDIC benchmark published aggregates only (n=17, four category means, the composite mean and
0.5-wide composite bins; no respondent data). :func:`demo_cohort` builds 17 clearly labelled synthetic
respondents (ids ``synthetic-2022-01`` ..., ``synthetic=True``) with full answer sets such that scoring
them with the bank reproduces every published figure to two decimals:

1. composite targets are spread inside the published bins and shifted so their mean is the published
   composite; category targets add the published category offsets and a double-centred jitter (which
   leaves every cohort mean unchanged);
2. integer answer levels are drawn around each category target (fixed seed) and adjusted one step at a
   time until the category score is as close to the target as the bank's granularity allows;
3. a deterministic repair loop moves single answers by one level until each respondent's composite is
   in its bin and each category mean rounds to the published value (aiming at the centre of the
   rounding interval, never its edge);
4. the profiles (size bands) are assigned to respondents by deterministic pairwise swaps that bring the
   revenue-band rank correlations close to zero, so there is no evidence of a revenue correlation, as
   published.

Works for any bank with the four categories and enough questions for the two-decimal targets (the
granularity of a category mean is about 1/(questions x 17)); raises ``RuntimeError`` otherwise. No
randomness at call time beyond the fixed seeds in ``reference/demo-cohort.yaml``.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict

from ..maturity.bank import CATEGORY_IDS, QuestionBank
from ..maturity.scoring import Answer, AssessmentScore, score
from .models import OrgProfile, Submission
from .reference import load_reference
from .stats import bin_index

_TOL = 0.0045  # a category mean must lie within this of its two-decimal target (rounding edge at 0.005)
_EDGE = 0.005  # a respondent's composite keeps this distance from its bin edges


class _DemoAnswers(BaseModel):
    """A synthetic, dated, complete answer set with the banded profile it is submitted under."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    submission_id: str
    organisation: str
    synthetic: bool = True
    period: str
    profile: OrgProfile
    assessment_type: Literal["self", "third-party"]
    assessed_on: date
    bank_id: str
    bank_version: str
    answers: list[Answer]

    def score(self, bank: QuestionBank) -> AssessmentScore:
        return score(bank, self.answers)

    def submission(self, bank: QuestionBank) -> Submission:
        return _submission(self, bank)


class DemoRespondent(_DemoAnswers):
    """One synthetic respondent of the demo cohort (never a real organisation)."""


class DemoAssessment(_DemoAnswers):
    """One dated assessment of the fictional demo organisation "Acme Medical" (not a cohort member)."""


def _submission(item: _DemoAnswers, bank: QuestionBank) -> Submission:
    s = score(bank, item.answers)
    if s.composite is None:
        raise ValueError("incomplete answer set")
    return Submission(
        submission_id=item.submission_id,
        period=item.period,
        profile=item.profile,
        assessment_type=item.assessment_type,
        composite=s.composite,
        categories={c: v for c, v in s.category_scores().items() if v is not None},
        synthetic=True,
    )


@cache
def _spec() -> dict[str, Any]:
    path = resources.files("medcyber.benchmark") / "reference" / "demo-cohort.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


# --------------------------------------------------------------------------------------------------
# Answer levels for one category


class _Cat:
    """The applicable questions of one category for one respondent and their current levels."""

    def __init__(self, qids: list[str], weights: list[float], levels: np.ndarray):
        self.qids = qids
        self.w = np.asarray(weights, dtype=float)
        self.levels = levels.astype(int)
        self.total = float(self.w.sum())

    def score(self) -> float:
        return float(self.w @ self.levels) / self.total

    def step(self, i: int) -> float:
        return float(self.w[i]) / self.total


def _fit(cat: _Cat, target: float) -> None:
    """Move single answers one level at a time until the score is as close to ``target`` as possible.

    Raises prefer the lowest answers and lowers the highest ones, which keeps the spread realistic.
    """
    for _ in range(10 * len(cat.qids) * 5):
        s = cat.score()
        d = 1 if s < target else -1
        best: tuple[float, int, int] | None = None
        for i, lvl in enumerate(cat.levels):
            if not 0 <= lvl + d <= 5:
                continue
            gap = abs(s + d * cat.step(i) - target)
            if gap < abs(s - target) - 1e-12:
                key = (gap, d * int(lvl), i)
                if best is None or key < best:
                    best = key
        if best is None:
            return
        cat.levels[best[2]] += d


def _draw(
    cat_qids: list[str], weights: list[float], target: float, spread: float, rng: np.random.Generator
) -> _Cat:
    noise = rng.normal(0.0, spread, size=len(cat_qids))
    levels = np.clip(np.rint(target + noise), 0, 5)
    cat = _Cat(cat_qids, weights, levels)
    _fit(cat, target)
    return cat


def _answers(bank: QuestionBank, cats: dict[str, _Cat], na: dict[str, str]) -> list[Answer]:
    level_of = {q: int(lvl) for c in cats.values() for q, lvl in zip(c.qids, c.levels, strict=True)}
    out: list[Answer] = []
    for q in bank.questions:
        if q.id in na:
            out.append(Answer(question_id=q.id, not_applicable=True, na_reason=na[q.id]))
        else:
            out.append(Answer(question_id=q.id, level=level_of[q.id]))
    return out


# --------------------------------------------------------------------------------------------------
# The cohort


def _composite_targets(means: float, bins: list[tuple[float, float, int]], margin: float) -> list[float]:
    """Targets spread evenly inside each bin, compressed towards the lower edges so the mean is exact."""
    n = sum(k for _, _, k in bins)
    fixed = sum(k * (lo + margin) for lo, _, k in bins)
    spread = sum(k * (hi - lo - 2 * margin) / 2 for lo, hi, k in bins)
    factor = (means * n - fixed) / spread if spread > 0 else 0.0
    if not 0 <= factor <= 1:
        raise RuntimeError("the published composite mean does not fit inside the published bins")
    out: list[float] = []
    for lo, hi, k in bins:
        width = (hi - lo - 2 * margin) * factor
        out += [lo + margin + width * (j + 0.5) / k for j in range(k)]
    return out


def _rank(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v))
    ranks[order] = np.arange(1, len(v) + 1)
    for value in np.unique(v):  # mid-ranks for ties
        mask = v == value
        ranks[mask] = ranks[mask].mean()
    return ranks


def _association(x: np.ndarray, y: np.ndarray) -> float:
    """max(|Spearman rho|, |Kendall tau-b|) of two vectors."""
    rx, ry = _rank(x) - (len(x) + 1) / 2, _rank(y) - (len(y) + 1) / 2
    rho = float(rx @ ry / np.sqrt((rx @ rx) * (ry @ ry)))
    sx, sy = np.sign(x[:, None] - x[None, :]), np.sign(y[:, None] - y[None, :])
    tau = float((sx * sy).sum() / np.sqrt((sx != 0).sum() * (sy != 0).sum()))
    return max(abs(rho), abs(tau))


def _assign_profiles(revenue_ranks: list[int], composites: list[float]) -> list[int]:
    """Slot -> profile index, chosen by deterministic best-swap descent on the revenue association."""
    n = len(composites)
    y = np.asarray(composites)
    perm = list(range(n))

    def cost(p: list[int]) -> float:
        return _association(np.asarray([revenue_ranks[j] for j in p], dtype=float), y)

    current = cost(perm)
    while current > 0.02:
        best: tuple[float, int, int] | None = None
        for a in range(n):
            for b in range(a + 1, n):
                p = perm.copy()
                p[a], p[b] = p[b], p[a]
                c = cost(p)
                if c < current - 1e-12 and (best is None or c < best[0]):
                    best = (c, a, b)
        if best is None:
            break
        current, a, b = best
        perm[a], perm[b] = perm[b], perm[a]
    return perm


def demo_cohort(bank: QuestionBank) -> list[DemoRespondent]:
    """The 17 synthetic respondents that reproduce the published 2022 figures with ``bank``."""
    spec = _spec()
    ref = load_reference(spec["reference"])
    n = ref.respondents
    profiles = spec["profiles"]
    if len(profiles) != n:
        raise RuntimeError(f"demo spec has {len(profiles)} profiles for {n} respondents")
    rng = np.random.default_rng(spec["seed"])
    cat_means = ref.category_means()
    bins = [(b.low, b.high, b.count) for b in ref.composite_bins]
    comp_targets = _composite_targets(ref.composite_mean, bins, spec["bin_margin"])
    target_bins = [bin_index(t) for t in comp_targets]

    offsets = np.array([cat_means[c] for c in CATEGORY_IDS]) - np.mean([cat_means[c] for c in CATEGORY_IDS])
    jitter = rng.normal(0.0, spec["category_jitter"], size=(n, len(CATEGORY_IDS)))
    jitter -= jitter.mean(axis=1, keepdims=True)
    jitter -= jitter.mean(axis=0, keepdims=True)
    cat_targets = np.clip(np.asarray(comp_targets)[:, None] + offsets[None, :] + jitter, 0.0, 5.0)

    na_questions = [q.id for q in bank.questions if q.na_allowed]
    na: list[dict[str, str]] = [{} for _ in range(n)]
    if na_questions:
        for k, i in enumerate(spec["na_respondents"]):
            na[i] = {na_questions[k % len(na_questions)]: spec["na_reason"]}

    state: list[dict[str, _Cat]] = []
    for i in range(n):
        cats: dict[str, _Cat] = {}
        for j, c in enumerate(CATEGORY_IDS):
            qs = [q for q in bank.questions_in(c) if q.id not in na[i]]
            if not qs:
                raise RuntimeError(f"category {c} has no applicable question")
            cats[c] = _draw(
                [q.id for q in qs],
                [q.weight for q in qs],
                float(cat_targets[i, j]),
                spec["level_spread"],
                rng,
            )
        state.append(cats)

    def composite(i: int) -> float:
        return sum(state[i][c].score() for c in CATEGORY_IDS) / len(CATEGORY_IDS)

    def in_bin(i: int, value: float) -> bool:
        b = target_bins[i]
        return bin_index(value) == b and value >= b * 0.5 + _EDGE and value < b * 0.5 + 0.5 - _EDGE

    # Phase A: every respondent's composite in its published bin.
    for i in range(n):
        for _ in range(1000):
            c_now = composite(i)
            if in_bin(i, c_now):
                break
            d = 1 if c_now < comp_targets[i] else -1
            moves = [
                (
                    abs(c_now + d * cat.step(k) / len(CATEGORY_IDS) - comp_targets[i]),
                    -d * (cat_targets[i, j] - cat.score()),
                    j,
                    k,
                )
                for j, (_, cat) in enumerate(state[i].items())
                for k, lvl in enumerate(cat.levels)
                if 0 <= lvl + d <= 5
            ]
            if not moves:
                raise RuntimeError(f"cannot place synthetic respondent {i + 1} in its composite bin")
            _, _, j, k = min(moves)
            state[i][CATEGORY_IDS[j]].levels[k] += d
        else:
            raise RuntimeError(f"cannot place synthetic respondent {i + 1} in its composite bin")

    # Phase B: every category mean rounds to the published value, bins kept.
    for j, c in enumerate(CATEGORY_IDS):
        target = cat_means[c]
        for _ in range(100_000):
            mean = sum(state[i][c].score() for i in range(n)) / n
            if abs(mean - target) <= _TOL and round(mean, 2) == target:
                break
            d = 1 if mean < target else -1
            best: tuple[float, float, int, int] | None = None
            for i in range(n):
                cat = state[i][c]
                for k, lvl in enumerate(cat.levels):
                    if not 0 <= lvl + d <= 5:
                        continue
                    new_mean = mean + d * cat.step(k) / n
                    if abs(new_mean - target) >= abs(mean - target) - 1e-12:
                        continue
                    if not in_bin(i, composite(i) + d * cat.step(k) / len(CATEGORY_IDS)):
                        continue
                    key = (abs(new_mean - target), -d * float(cat_targets[i, j] - cat.score()), i, k)
                    if best is None or key < best:
                        best = key
            if best is None:
                raise RuntimeError(
                    f"bank {bank.id} {bank.version} cannot reproduce the published mean of {c}"
                )
            _, _, i, k = best
            state[i][c].levels[k] += d
        else:
            raise RuntimeError(f"repair of {c} did not converge")

    composites = [composite(i) for i in range(n)]
    revenue_ranks = [OrgProfile(**_profile_fields(p)).revenue_rank() for p in profiles]
    slot_profile = _assign_profiles(revenue_ranks, composites)
    profile_slot = {p: s for s, p in enumerate(slot_profile)}

    respondents: list[DemoRespondent] = []
    for k, p in enumerate(profiles):
        slot = profile_slot[k]
        respondents.append(
            DemoRespondent(
                submission_id=f"{spec['id_prefix']}{k + 1:02d}",
                organisation=f"Synthetic respondent {k + 1:02d}",
                period=spec["period"],
                profile=OrgProfile(**_profile_fields(p)),
                assessment_type=p["assessment_type"],
                assessed_on=date(2022, 3 + k % 6, 1 + (7 * k) % 27),
                bank_id=bank.id,
                bank_version=bank.version,
                answers=_answers(bank, state[slot], na[slot]),
            )
        )
    _verify(bank, respondents)
    return respondents


def _profile_fields(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "employees_band": p["employees_band"],
        "revenue_band": p["revenue_band"],
        "device_classes": tuple(p.get("device_classes", ())),
        "region": p.get("region"),
    }


def _verify(bank: QuestionBank, respondents: list[DemoRespondent]) -> None:
    """Score with the real scorer and check every published figure; raise if one does not match."""
    ref = load_reference(_spec()["reference"])
    scores = [r.score(bank) for r in respondents]
    problems: list[str] = []
    if len(scores) != ref.respondents:
        problems.append("n")
    for c, target in ref.category_means().items():
        mean = sum(s.categories[c].score or 0.0 for s in scores) / len(scores)
        if round(mean, 2) != target:
            problems.append(f"{c} mean {mean:.4f} != {target}")
    comps = [s.composite for s in scores]
    if any(v is None for v in comps):
        problems.append("incomplete respondent")
    else:
        mean = sum(v for v in comps if v is not None) / len(comps)
        if round(mean, 2) != ref.composite_mean:
            problems.append(f"composite mean {mean:.4f} != {ref.composite_mean}")
        for b in ref.composite_bins:
            count = sum(1 for v in comps if v is not None and bin_index(v) == int(round(b.low * 2)))
            if count != b.count:
                problems.append(f"bin {b.label}: {count} != {b.count}")
    if problems:
        raise RuntimeError("demo cohort does not reproduce the published figures: " + "; ".join(problems))


def demo_submissions(bank: QuestionBank) -> list[Submission]:
    """The demo cohort as cohort submissions (scores only)."""
    return [r.submission(bank) for r in demo_cohort(bank)]


# --------------------------------------------------------------------------------------------------
# Acme Medical


def acme_assessments(bank: QuestionBank) -> list[DemoAssessment]:
    """Two dated complete assessments of "Acme Medical" (not a cohort member), the later one better.

    Complaint handling is the weak spot (lowest category, with answers at levels 0-1); the second
    assessment only raises answers of the first, as real progress would.
    """
    spec = _spec()["acme"]
    rng = np.random.default_rng(spec["seed"])
    profile = OrgProfile(**_profile_fields(spec["profile"]))
    first, *later = spec["assessments"]
    na_questions = [q.id for q in bank.questions if q.na_allowed]
    weakest = min(first["targets"], key=first["targets"].get)
    weak_na = [q for q in na_questions if bank.question(q).category == weakest] or na_questions
    na = {weak_na[0]: spec["na_reason"]} if weak_na else {}

    cats: dict[str, _Cat] = {}
    for c in CATEGORY_IDS:
        qs = [q for q in bank.questions_in(c) if q.id not in na]
        cats[c] = _draw([q.id for q in qs], [q.weight for q in qs], float(first["targets"][c]), 0.8, rng)
    out = [_acme(bank, spec, profile, first, cats, na)]
    for entry in later:
        for c in CATEGORY_IDS:
            cat = cats[c]
            target = float(entry["targets"][c])
            while True:
                s = cat.score()
                candidates = [i for i, lvl in enumerate(cat.levels) if lvl < 5]
                if not candidates:
                    break
                i = min(candidates, key=lambda k: (cat.levels[k], k))
                if abs(s + cat.step(i) - target) >= abs(s - target):
                    break
                cat.levels[i] += 1
        out.append(_acme(bank, spec, profile, entry, cats, na))
    return out


def _acme(
    bank: QuestionBank,
    spec: dict[str, Any],
    profile: OrgProfile,
    entry: dict[str, Any],
    cats: dict[str, _Cat],
    na: dict[str, str],
) -> DemoAssessment:
    assessed = entry["assessed_on"]
    return DemoAssessment(
        organisation=spec["organisation"],
        submission_id=spec["submission_id"],
        period=str(entry["period"]),
        profile=profile,
        assessment_type=spec["assessment_type"],
        assessed_on=assessed if isinstance(assessed, date) else date.fromisoformat(str(assessed)),
        bank_id=bank.id,
        bank_version=bank.version,
        answers=_answers(bank, cats, na),
    )
