"""The matching engine: an index built once from the advisories, and the scan of an SBOM against it.

Index (``VulnIndex.build``):

- OSV ``affected`` entries keyed by (ecosystem base name, normalised package name). The ecosystem base is
  the part before ``:`` ("Debian:11" -> "Debian", the release "11" is kept to check against the purl's
  ``distro`` qualifier when it has one). Names are normalised per ecosystem: PyPI lower-case with runs of
  ``-_.`` folded to ``-``; Maven ``group:artifact``; Go the module path; npm with its ``@scope/``;
  Packagist ``vendor/name``; every name is compared case-insensitively (NuGet and Packagist are
  case-insensitive; for the others purls are routinely written with arbitrary case and no registry holds
  two packages differing only by case).
- Every range bound is turned into a version sort key once (``versions.sort_key``) and the events sorted.
  ECOSYSTEM ranges use the ecosystem's ordering, SEMVER ranges SemVer ordering whatever the ecosystem;
  GIT ranges are commit ranges and are not used for version matching (the ``versions`` list that OSV
  enumerates from them is). A range with a bound that cannot be parsed is left out and counted in
  ``problems`` (never widened or guessed).
- NVD configurations keyed by the (part, vendor, product) of their vulnerable criteria (``cpe.py``).
- Advisories sharing an id or alias (PYSEC-x, GHSA-y and CVE-z) are merged into one vulnerability group,
  reported under the preferred id (the CVE when there is one). Withdrawn advisories are not indexed.

Matching, OSV semantics: a version is affected by a range when, walking its events in version order
("introduced 0" lowest), it is at or above an ``introduced`` and below the next ``fixed`` (or at or below a
``last_affected``); with ``limit`` events it must also be below a limit. Explicit ``versions`` lists match
when the version is the same text or sorts equal (PyPI "1.0" == "1.0.0").

Components that cannot be evaluated (no purl and no CPE, a purl type without an advisory ecosystem, an
ecosystem without a version ordering, no version, a version that does not parse, a too-broad CPE, a CPE
range check without a version) are listed with the reason; none is skipped silently.

The index is built once per process per store generation (``load_index``) and optionally pickled under
``MEDCYBER_HOME/cache`` so the next process starts warm.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import gc
import hashlib
import os
import pickle
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..sbom.model import Component, Sbom
from ..sbom.purl import Purl, parse_purl
from .cpe import (
    CompiledConfig,
    CpeError,
    Hit,
    TargetCpe,
    compile_configuration,
    cpe_version_key,
    evaluate_configuration,
    parse_cpe,
    target_cpe,
)
from .findings import (
    EpssInfo,
    Finding,
    KevInfo,
    NotEvaluated,
    ScanResult,
    SeverityInfo,
    _finding_from_dict,
    epss_info,
    kev_info,
    nearest_fix,
    preferred_id,
    severity_info,
)
from .model import PURL_ECOSYSTEMS, Advisory, Affected, EpssScore, KevEntry, Range
from .names import ecosystem_base, normalise_name
from .versions import Key, UnsupportedEcosystem, sort_key

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

INDEX_FORMAT = 1

# --------------------------------------------------------------------------------- version orderings


SEMVER = "SemVer"  # the ordering of SEMVER ranges: SemVer 2.0.0 precedence, whatever the ecosystem
_SEMVER_RULES = "npm"  # versions.py's strict SemVer 2.0.0 rules (a leading "v", as Go writes it, is allowed)


class UnsupportedOrdering(ValueError):
    pass


def version_key(ecosystem: str, version: str) -> Key:
    """The sort key of ``version`` in ``ecosystem`` ("SemVer" for SEMVER ranges).

    Raises ``UnsupportedOrdering`` when the ecosystem has no ordering, ``versions.InvalidVersion`` (a
    ValueError) when the version does not parse under its rules.
    """
    try:
        return sort_key(_SEMVER_RULES if ecosystem == SEMVER else ecosystem, version)
    except UnsupportedEcosystem:
        raise UnsupportedOrdering(f"no version ordering for the {ecosystem} ecosystem") from None


# ----------------------------------------------------------------------------------- names and purls

_RPM_VENDORS = {
    "redhat": "Red Hat",
    "almalinux": "AlmaLinux",
    "rocky-linux": "Rocky Linux",
    "rocky": "Rocky Linux",
    "opensuse": "openSUSE",
    "suse": "SUSE",
}


def purl_package(p: Purl) -> tuple[str, str] | None:
    """(OSV ecosystem, normalised package name) for a purl, or None when its type has no ecosystem."""
    eco = PURL_ECOSYSTEMS.get(p.type)
    if eco is None:
        return None
    if p.type == "deb" and p.namespace == "ubuntu":
        eco = "Ubuntu"
    elif p.type == "rpm" and p.namespace:
        eco = _RPM_VENDORS.get(p.namespace, eco)
    if p.type == "maven":
        name = f"{p.namespace}:{p.name}" if p.namespace else p.name
    elif p.type in ("golang", "npm", "composer", "swift") and p.namespace:
        name = f"{p.namespace}/{p.name}"
    else:
        name = p.name
    return eco, normalise_name(eco, name)


_DIGITS = re.compile(r"\d+(?:\.\d+)*")


def _release_matches(entry_release: str | None, distro: str | None) -> bool:
    """Does an OSV release ("11", "v3.18", "22.04:LTS") fit the purl's distro qualifier? Unknown: yes."""
    if entry_release is None or not distro:
        return True
    a, b = _DIGITS.search(entry_release), _DIGITS.search(distro)
    if a is None or b is None:
        return True
    ea, eb = a.group(0).split("."), b.group(0).split(".")
    n = min(len(ea), len(eb))
    return ea[:n] == eb[:n]


# -------------------------------------------------------------------------------------- compiled OSV


@dataclass(slots=True)
class CompiledRange:
    type: str  # "ECOSYSTEM" or "SEMVER"
    ordering: str  # the ordering used: the ecosystem base name or "SemVer"
    events: tuple[tuple[tuple[Any, ...], str, str], ...]  # ((0,) for "0" | (1, key), kind, version text)
    limits: tuple[Key, ...]

    def contains(self, key: Key) -> bool:
        if self.limits and not any(key < lim for lim in self.limits):
            return False
        vulnerable = False
        for (tag, *rest), kind, _text in self.events:
            if tag == 0:  # introduced "0"
                vulnerable = True
                continue
            ek = rest[0]
            if kind == "introduced":
                if key >= ek:
                    vulnerable = True
                else:
                    break
            elif kind == "fixed":
                if key >= ek:
                    vulnerable = False
                else:
                    break
            elif kind == "last_affected":
                if key > ek:
                    vulnerable = False
                else:
                    break
        return vulnerable

    def describe(self, ecosystem: str) -> str:
        words = ", ".join(f"{kind} {text}" for _k, kind, text in self.events)
        lim = f", limit {len(self.limits)} bound(s)" if self.limits else ""
        label = ecosystem if self.type == "ECOSYSTEM" else f"{ecosystem} SEMVER"
        return f"{label} range {words}{lim}"

    def fixed(self) -> list[str]:
        return [text for _k, kind, text in self.events if kind == "fixed"]


@dataclass(slots=True)
class CompiledAffected:
    advisory: int  # index into VulnIndex.advisories
    group: int  # index into VulnIndex.groups
    ecosystem: str  # as written by the advisory, e.g. "Debian:11"
    base: str
    release: str | None
    name: str  # as written
    ranges: tuple[CompiledRange, ...]
    versions: frozenset[str]  # explicit versions, as written
    version_keys: tuple[Key, ...]  # their sort keys, sorted (for equality by ordering)
    git_only: bool  # only GIT ranges and no versions list: cannot match by version

    def match(self, version: str, keys: dict[str, Key | None]) -> str | None:
        """Evidence text when ``version`` (sort keys per ordering in ``keys``) is affected, else None."""
        for r in self.ranges:
            rk = keys.get(r.ordering)
            if rk is not None and r.contains(rk):
                return r.describe(self.ecosystem)
        if version in self.versions:
            return f"{self.ecosystem} affected versions list contains {version}"
        k = keys.get(self.base)
        if k is not None and self.version_keys:
            i = bisect.bisect_left(self.version_keys, k)
            if i < len(self.version_keys) and self.version_keys[i] == k:
                return f"{self.ecosystem} affected versions list contains {version} (an equal version)"
        return None

    def fixed(self) -> list[str]:
        out: list[str] = []
        for r in self.ranges:
            out.extend(r.fixed())
        return out


@dataclass(slots=True)
class Group:
    """One vulnerability: the advisories merged through shared ids and aliases."""

    id: str
    aliases: tuple[str, ...]
    members: tuple[int, ...]
    cves: tuple[str, ...]


# ----------------------------------------------------------------------------------------- the index


@dataclass(slots=True)
class OsvEvidence:
    affected: CompiledAffected
    text: str


@dataclass(slots=True)
class CpeEvidence:
    advisory: int
    hit: Hit


@dataclass(slots=True)
class ComponentMatch:
    """The raw matches of one component: per vulnerability group, the evidence that produced them."""

    component: Component
    version: str | None
    ecosystem: str | None
    keys: dict[str, Key | None]
    osv: dict[int, list[OsvEvidence]] = field(default_factory=dict)  # shared with the index memo: read-only
    cpe: dict[int, list[CpeEvidence]] = field(default_factory=dict)


@dataclass(slots=True)
class MatchSet:
    matches: list[ComponentMatch]
    not_evaluated: list[NotEvaluated]
    evaluated_purl: int = 0
    evaluated_cpe: int = 0
    evaluated_refs: set[str] = field(default_factory=set)  # refs checked by purl or by CPE
    ecosystems: Counter[str] = field(default_factory=Counter)


class VulnIndex:
    """Everything the matcher needs, pre-computed from the advisories, KEV and EPSS of one store state."""

    def __init__(
        self,
        advisories: Sequence[Advisory],
        *,
        kev: Mapping[str, KevEntry] | None = None,
        epss: Mapping[str, EpssScore] | None = None,
        generation: str | None = None,
    ) -> None:
        self.generation = generation
        self.kev: dict[str, KevEntry] = dict(kev or {})
        self.epss: dict[str, EpssScore] = dict(epss or {})
        self.advisories: list[Advisory] = [a for a in advisories if a.withdrawn is None]
        self.withdrawn = len(advisories) - len(self.advisories)
        self.problems: list[str] = []
        self.groups: list[Group] = []
        self.group_of: list[int] = []
        self._merge_groups()
        self.osv: dict[tuple[str, str], list[CompiledAffected]] = defaultdict(list)
        self.advisories_per_ecosystem: Counter[str] = Counter()
        self.configs: list[tuple[int, CompiledConfig]] = []
        self.cpe: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        for i, adv in enumerate(self.advisories):
            seen_eco: set[str] = set()
            for aff in adv.affected:
                ca = self._compile_affected(i, adv, aff)
                if ca is not None:
                    self.osv[(ca.base, normalise_name(ca.base, aff.name))].append(ca)
                    seen_eco.add(ca.base)
            for eco in seen_eco:
                self.advisories_per_ecosystem[eco] += 1
            for conf in adv.configurations:
                cc = compile_configuration(conf)
                keys = cc.vulnerable_keys()
                if not keys:
                    continue
                ci = len(self.configs)
                self.configs.append((i, cc))
                for k in keys:
                    self.cpe[k].append(ci)
            if adv.configurations:
                self.advisories_per_ecosystem["CPE (NVD)"] += 1
        self.osv = dict(self.osv)
        self.cpe = dict(self.cpe)
        self._severity: dict[int, SeverityInfo] = {}
        self.semver_packages = {
            k for k, cas in self.osv.items() if any(r.ordering == SEMVER for ca in cas for r in ca.ranges)
        }
        self._memo: dict[tuple[str, str, str, str | None], dict[int, list[OsvEvidence]]] = {}

    # pickling: drop the per-process caches
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_memo"] = {}
        state.pop("_findings_cache", None)  # keyed by object identity: rebuilt lazily after loading
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # ----------------------------------------------------------------------------------------- build

    def _merge_groups(self) -> None:
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for adv in self.advisories:
            root = find(adv.id)
            for alias in adv.aliases:
                r2 = find(alias)
                if r2 != root:
                    parent[r2] = root
        by_root: dict[str, list[int]] = defaultdict(list)
        for i, adv in enumerate(self.advisories):
            by_root[find(adv.id)].append(i)
        root_group: dict[str, int] = {}
        self.group_of = [0] * len(self.advisories)
        for root, members in by_root.items():
            ids: list[str] = []
            for m in members:
                ids.append(self.advisories[m].id)
                ids.extend(self.advisories[m].aliases)
            ids = list(dict.fromkeys(ids))
            pid = preferred_id(ids)
            g = Group(
                id=pid,
                aliases=tuple(i for i in ids if i != pid),
                members=tuple(members),
                cves=tuple(sorted({i for i in ids if i.startswith("CVE-")})),
            )
            root_group[root] = len(self.groups)
            self.groups.append(g)
            for m in members:
                self.group_of[m] = root_group[root]

    def _compile_affected(self, i: int, adv: Advisory, aff: Affected) -> CompiledAffected | None:
        base, release = ecosystem_base(aff.ecosystem)
        ranges: list[CompiledRange] = []
        has_git = False
        for r in aff.ranges:
            if r.type == "GIT":
                has_git = True
                continue
            cr = self._compile_range(adv, base, r)
            if cr is not None:
                ranges.append(cr)
        keys: list[Key] = []
        for v in aff.versions:
            with contextlib.suppress(ValueError):  # a version that does not parse still matches by text
                keys.append(version_key(base, v))
        try:
            keys.sort()
        except TypeError:
            keys = []
        return CompiledAffected(
            advisory=i,
            group=self.group_of[i],
            ecosystem=aff.ecosystem,
            base=base,
            release=release,
            name=aff.name,
            ranges=tuple(ranges),
            versions=frozenset(aff.versions),
            version_keys=tuple(keys),
            git_only=has_git and not ranges and not aff.versions,
        )

    def _compile_range(self, adv: Advisory, base: str, r: Range) -> CompiledRange | None:
        ordering = SEMVER if r.type == "SEMVER" else base
        events: list[tuple[tuple[Any, ...], str, str]] = []
        limits: list[Key] = []
        for ev in r.events:
            if ev.kind == "introduced" and ev.version == "0":
                events.append(((0,), ev.kind, ev.version))
                continue
            if ev.kind == "limit" and ev.version == "*":
                continue
            try:
                k = version_key(ordering, ev.version)
            except ValueError as exc:
                self.problems.append(
                    f"{adv.id}: {base} range left out, {ev.kind} {ev.version!r} does not parse ({exc})"
                )
                return None
            if ev.kind == "limit":
                limits.append(k)
            else:
                events.append(((1, k), ev.kind, ev.version))
        try:
            events.sort(key=lambda e: e[0])
        except TypeError as exc:
            self.problems.append(f"{adv.id}: {base} range left out, bounds not comparable ({exc})")
            return None
        return CompiledRange(r.type, ordering, tuple(events), tuple(limits))

    # ------------------------------------------------------------------------------------- lookups

    def severity(self, group: int) -> SeverityInfo:
        s = self._severity.get(group)
        if s is None:
            g = self.groups[group]
            s = severity_info(sev for m in g.members for sev in self.advisories[m].severities)
            self._severity[group] = s
        return s

    def osv_matches(
        self, eco: str, name: str, version: str, keys: dict[str, Key | None], distro: str | None
    ) -> dict[int, list[OsvEvidence]]:
        """The evidence per vulnerability group for one package version (memoised; treat as read-only)."""
        memo_key = (eco, name, version, distro)
        hit = self._memo.get(memo_key)
        if hit is not None:
            return hit
        out: dict[int, list[OsvEvidence]] = {}
        for ca in self.osv.get((eco, name), ()):
            if not _release_matches(ca.release, distro):
                continue
            text = ca.match(version, keys)
            if text is not None:
                out.setdefault(ca.group, []).append(OsvEvidence(ca, text))
        if len(self._memo) > 500_000:
            self._memo.clear()
        self._memo[memo_key] = out
        return out

    def stats(self) -> dict[str, Any]:
        return {
            "advisories": len(self.advisories),
            "withdrawn_ignored": self.withdrawn,
            "vulnerabilities": len(self.groups),
            "packages": len(self.osv),
            "cpe_configurations": len(self.configs),
            "range_problems": len(self.problems),
            "generation": self.generation,
        }


# ------------------------------------------------------------------------------------------ matching


def _component_version(c: Component, p: Purl | None) -> str | None:
    v = (p.version if p is not None else None) or c.version
    v = v.strip() if v else None
    return v or None


_CPE_WORD = re.compile(r"[^a-z0-9._\-]+")


def _derived_cpe(c: Component) -> str | None:
    """``cpe:2.3:a:vendor:product:version`` from the component's names (only with --cpe-from-names)."""
    product = _CPE_WORD.sub("_", c.name.strip().lower()).strip("_")
    vendor_src = c.supplier or c.manufacturer or c.group or c.name
    vendor = _CPE_WORD.sub("_", vendor_src.strip().lower()).strip("_")
    if not product or not vendor or not c.version:
        return None
    version = _CPE_WORD.sub("_", c.version.strip().lower())
    return f"cpe:2.3:a:{vendor}:{product}:{version}:*:*:*:*:*:*:*"


def match_components(
    index: VulnIndex,
    components: Iterable[Component],
    *,
    platforms: Iterable[Component] = (),
    cpe_from_names: bool = False,
) -> MatchSet:
    """Match components against the index (OSV by purl, NVD by CPE). ``platforms`` are extra components
    (the SBOM's primary component) whose CPEs can satisfy "running on" conditions but are not reported."""
    comps = list(components)
    ms = MatchSet(matches=[], not_evaluated=[])
    targets: dict[tuple[str, str, str], list[TargetCpe]] = defaultdict(list)
    cm_by_ref: dict[str, ComponentMatch] = {}

    def not_eval(c: Component, reason: str, *, cpe: str | None = None, cpe_checked: bool = False) -> None:
        if cpe_checked:
            reason += " (its CPE was evaluated)"
        ms.not_evaluated.append(
            NotEvaluated(ref=c.ref, name=c.name, version=c.version, purl=c.purl, cpe=cpe, reason=reason)
        )

    for c in comps:
        p = parse_purl(c.purl) if c.purl else None
        version = _component_version(c, p)
        cm = ComponentMatch(component=c, version=version, ecosystem=None, keys={})
        cm_by_ref.setdefault(c.ref, cm)
        ms.matches.append(cm)
        cpes = list(c.cpes)
        derived = False
        if not cpes and cpe_from_names:
            d = _derived_cpe(c)
            if d:
                cpes, derived = [d], True
        usable_cpe = False
        for text in cpes:
            try:
                cpe = parse_cpe(text)
            except CpeError as exc:
                not_eval(c, f"CPE not usable: {exc}", cpe=text)
                continue
            if cpe.has_wildcard_identity():
                not_eval(c, f"CPE {text} has a wildcard vendor or product: too broad to match", cpe=text)
                continue
            usable_cpe = True
            targets[cpe.key].append(target_cpe(c.ref, cpe, c.version, derived=derived))
        if usable_cpe:
            ms.evaluated_cpe += 1
            ms.evaluated_refs.add(c.ref)
        # --- purl / OSV
        if p is None:
            if not usable_cpe and not cpes:
                reason = f"purl {c.purl!r} does not parse" if c.purl else "no purl and no CPE"
                not_eval(c, reason)
            continue
        pkg = purl_package(p)
        if pkg is None:
            if not usable_cpe and not cpes:
                not_eval(c, f"purl type '{p.type}' has no advisory ecosystem and the component has no CPE")
            continue
        eco, name = pkg
        cm.ecosystem = eco
        if version is None:
            not_eval(c, f"no version ({eco} package {name})", cpe_checked=usable_cpe)
            continue
        try:
            k = version_key(eco, version)
        except UnsupportedOrdering as exc:
            not_eval(c, f"{exc} (package {name} {version})", cpe_checked=usable_cpe)
            continue
        except ValueError as exc:
            # The ranges cannot be checked; the explicit versions lists still can, by exact text.
            not_eval(
                c,
                f"version {version!r} is not a valid {eco} version ({exc}); only exact entries of the "
                "advisories' versions lists were checked",
                cpe_checked=usable_cpe,
            )
            ms.evaluated_refs.add(c.ref)
            cm.osv = index.osv_matches(eco, name, version, {}, p.qualifiers.get("distro"))
            continue
        keys: dict[str, Key | None] = {eco: k}
        if (eco, name) in index.semver_packages:
            try:
                keys[SEMVER] = version_key(SEMVER, version)
            except ValueError:
                keys[SEMVER] = None
        cm.keys = keys
        ms.evaluated_purl += 1
        ms.evaluated_refs.add(c.ref)
        ms.ecosystems[eco] += 1
        cm.osv = index.osv_matches(eco, name, version, keys, p.qualifiers.get("distro"))
    # --- CPE / NVD configurations
    if targets:
        platform_targets = dict(targets)
        for pc in platforms:
            for text in pc.cpes:
                try:
                    cpe = parse_cpe(text)
                except CpeError:
                    continue
                if not cpe.has_wildcard_identity():
                    platform_targets.setdefault(cpe.key, []).append(target_cpe(pc.ref, cpe, pc.version))
        candidate: set[int] = set()
        for key in targets:
            candidate.update(index.cpe.get(key, ()))
        undetermined: dict[str, list[str]] = defaultdict(list)
        for ci in sorted(candidate):
            adv_i, conf = index.configs[ci]
            res = evaluate_configuration(conf, platform_targets)
            for h in res.hits:
                owner = cm_by_ref.get(h.target.ref)
                if owner is None:  # a platform-only component (primary) matched: not reported
                    continue
                owner.cpe.setdefault(index.group_of[adv_i], []).append(CpeEvidence(adv_i, h))
            for t, crit in res.undetermined:
                if t.ref in cm_by_ref:
                    undetermined[t.ref].append(f"{index.advisories[adv_i].id} ({crit.describe()})")
        for ref, items in undetermined.items():
            cm = cm_by_ref[ref]
            if cm.cpe:
                pass
            items = list(dict.fromkeys(items))
            more = f" and {len(items) - 3} more" if len(items) > 3 else ""
            not_eval(
                cm.component,
                "CPE has no version, needed to check the ranges of " + "; ".join(items[:3]) + more,
                cpe=", ".join(cm.component.cpes) or None,
            )
    return ms


# ------------------------------------------------------------------------------------------ findings


def _summary(index: VulnIndex, members: Iterable[int]) -> str | None:
    best: str | None = None
    for m in members:
        a = index.advisories[m]
        if a.summary:
            return a.summary
        if best is None and a.details:
            first = a.details.strip().split("\n", 1)[0]
            best = first if len(first) <= 300 else first[:297] + "..."
    return best


def _osv_fix(cm: ComponentMatch, evidence: list[OsvEvidence]) -> tuple[list[str], str | None]:
    eco = cm.ecosystem
    fixed: list[str] = []
    for ev in evidence:
        fixed.extend(ev.affected.fixed())
    fixed = list(dict.fromkeys(fixed))
    current = cm.keys.get(eco) if eco else None
    if current is None or eco is None:
        return fixed, None
    candidates: list[tuple[Key, str]] = []
    for f in fixed:
        try:
            candidates.append((version_key(eco, f), f))
        except ValueError:
            continue

    def still(key: Key) -> bool:
        text = next(t for k, t in candidates if k == key)
        keys: dict[str, Key | None] = {eco: key}
        try:
            keys[SEMVER] = version_key(SEMVER, text)
        except ValueError:
            keys[SEMVER] = None
        return any(ev.affected.match(text, keys) is not None for ev in evidence)

    try:
        return fixed, nearest_fix(current, candidates, still)
    except TypeError:
        return fixed, None


def _cpe_fix(evidence: list[CpeEvidence]) -> tuple[list[str], str | None]:
    ends = (e.hit.criterion.match.version_end_excluding for e in evidence)
    fixed: list[str] = list(dict.fromkeys(f for f in ends if f))
    current = evidence[0].hit.target.version_key if evidence else None
    if current is None:
        return fixed, None
    from .cpe import match_criterion

    def still(key: Any) -> bool:
        text = next(f for f in fixed if cpe_version_key(f) == key)
        for e in evidence:
            t = target_cpe(e.hit.target.ref, e.hit.target.cpe, text)
            probe = TargetCpe(t.ref, t.cpe, text, cpe_version_key(text), False)
            if match_criterion(e.hit.criterion, probe) == "match":
                return True
        return False

    return fixed, nearest_fix(current, [(cpe_version_key(f), f) for f in fixed], still)


_UNPARSED: Any = object()  # a fixed version that does not parse under the ecosystem's rules
_UNKNOWN: Any = object()  # not probed yet


@dataclass(slots=True)
class _GroupFacts:
    """What every finding of one vulnerability group shares, computed once per index."""

    summary: str | None
    severity: SeverityInfo
    kev: KevInfo
    epss: EpssInfo | None
    not_in_kev: bool  # sort key parts of the scan's order
    level_rank: int
    neg_score: float


@dataclass(slots=True)
class _AffectedFix:
    """The fixed versions of one compiled affected entry, and its nearest-fix candidates in order."""

    ca: CompiledAffected
    eco: str
    fixed: tuple[str, ...]  # deduplicated, as written
    # [sort key, text, probe text, blocked] sorted by key (None when the keys are not comparable);
    # ``blocked``: does the entry itself still match the probe (the first fixed text with an equal key, as
    # nearest_fix probes)? Filled on first need: _UNKNOWN, then True/False, None when probing raised TypeError
    ordered: list[list[Any]] | None


class _FindingsCache:
    """Advisory-derived values memoised on a VulnIndex for building findings (never component-specific).

    Keyed by group number and by the identity of the index's compiled affected entries, so it belongs to
    one index object: ``VulnIndex.__getstate__`` leaves it out of pickles and a copy starts empty.
    """

    __slots__ = ("groups", "fixes", "keys", "still")

    def __init__(self) -> None:
        self.groups: dict[int, _GroupFacts] = {}
        self.fixes: dict[tuple[int, str], _AffectedFix] = {}
        self.keys: dict[tuple[str, str], Any] = {}  # (ordering, version) -> sort key or _UNPARSED
        self.still: dict[tuple[int, str, str], bool] = {}  # (id(entry), ecosystem, fixed text)

    def key(self, ordering: str, version: str) -> Any:
        k = self.keys.get((ordering, version))
        if k is None:
            try:
                k = version_key(ordering, version)
            except ValueError:
                k = _UNPARSED
            self.keys[(ordering, version)] = k
        return k

    def still_matches(self, ca: CompiledAffected, eco: str, text: str) -> bool:
        """Does ``ca`` match its ecosystem's version ``text`` (a fixed version)? TypeError is not cached."""
        ck = (id(ca), eco, text)
        hit = self.still.get(ck)
        if hit is None:
            keys: dict[str, Key | None] = {eco: self.key(eco, text)}
            sk = self.key(SEMVER, text)
            keys[SEMVER] = None if sk is _UNPARSED else sk
            hit = self.still[ck] = ca.match(text, keys) is not None
        return hit

    def group(self, index: VulnIndex, group: int) -> _GroupFacts:
        gf = self.groups.get(group)
        if gf is None:
            g = index.groups[group]
            sev = index.severity(group)
            kev = kev_info(g.cves, index.kev)
            gf = _GroupFacts(
                summary=_summary(index, g.members),
                severity=sev,
                kev=kev,
                epss=epss_info(g.cves, index.epss),
                not_in_kev=not kev.in_kev,
                level_rank=_ORDER[sev.level],
                neg_score=-(sev.score or 0.0),
            )
            self.groups[group] = gf
        return gf

    def fix(self, ca: CompiledAffected, eco: str) -> _AffectedFix:
        ck = (id(ca), eco)
        af = self.fixes.get(ck)
        if af is None:
            fixed = tuple(dict.fromkeys(ca.fixed()))
            candidates = [(k, f) for f in fixed if (k := self.key(eco, f)) is not _UNPARSED]
            ordered: list[list[Any]] | None
            try:
                ranked = sorted(candidates, key=lambda kv: kv[0])
            except TypeError:
                ordered = None
            else:
                ordered = [
                    [k, text, next(t for kk, t in candidates if kk == k), _UNKNOWN] for k, text in ranked
                ]
            af = _AffectedFix(ca, eco, fixed, ordered)
            self.fixes[ck] = af
        return af


def _findings_cache(index: VulnIndex) -> _FindingsCache:
    cache: _FindingsCache | None = index.__dict__.get("_findings_cache")
    if cache is None:
        cache = index.__dict__["_findings_cache"] = _FindingsCache()
    return cache


def _nearest_of(cache: _FindingsCache, af: _AffectedFix, current: Key | None) -> str | None:
    """``nearest_fix`` for the evidence of one affected entry, from its memoised ordered candidates."""
    if current is None or af.ordered is None:
        return None
    try:
        for row in af.ordered:
            if row[0] > current:
                blocked = row[3]
                if blocked is _UNKNOWN:
                    try:
                        blocked = cache.still_matches(af.ca, af.eco, row[2])
                    except TypeError:
                        blocked = None
                    row[3] = blocked
                if blocked is None:  # probing this version raised TypeError: as in _osv_fix, no answer
                    return None
                if not blocked:
                    return row[1]  # type: ignore[no-any-return]
    except TypeError:
        return None
    return None


def _osv_fix_cached(
    cache: _FindingsCache, cm: ComponentMatch, evidence: list[OsvEvidence]
) -> tuple[list[str], str | None]:
    """``_osv_fix`` from values memoised per affected entry: the same fixed list and nearest fix."""
    eco = cm.ecosystem
    if eco is None:
        fixed: list[str] = []
        for ev in evidence:
            fixed.extend(ev.affected.fixed())
        return list(dict.fromkeys(fixed)), None
    current = cm.keys.get(eco)
    if len(evidence) == 1:
        af = cache.fix(evidence[0].affected, eco)
        return list(af.fixed), _nearest_of(cache, af, current)
    fixed = []
    for ev in evidence:
        fixed.extend(cache.fix(ev.affected, eco).fixed)
    fixed = list(dict.fromkeys(fixed))
    if current is None:
        return fixed, None
    candidates = [(k, f) for f in fixed if (k := cache.key(eco, f)) is not _UNPARSED]

    def still(key: Key) -> bool:
        text = next(t for k, t in candidates if k == key)
        return any(cache.still_matches(ev.affected, eco, text) for ev in evidence)

    try:
        return fixed, nearest_fix(current, candidates, still)
    except TypeError:
        return fixed, None


def build_findings(
    index: VulnIndex, ms: MatchSet, lifecycle: Mapping[str, tuple[str | None, dt.date | None]] | None = None
) -> list[Finding]:
    return _build_findings(index, ms, lifecycle or {})[0]


def _build_findings(
    index: VulnIndex, ms: MatchSet, lifecycle: Mapping[str, tuple[str | None, dt.date | None]]
) -> tuple[list[Finding], list[tuple[Any, ...]]]:
    """The findings in match order, and for each the key of the scan's order (see ``_scan_sbom``).

    Everything that depends only on the advisories (summary, severity, KEV, EPSS, fixed versions, which
    fixed versions a range still covers) comes from the index's ``_FindingsCache``.
    """
    findings: list[Finding] = []
    order_keys: list[tuple[Any, ...]] = []
    cache = _findings_cache(index)
    facts = cache.groups
    fixes = cache.fixes
    groups = index.groups
    advisories = index.advisories
    no_life: tuple[str | None, dt.date | None] = (None, None)
    for cm in ms.matches:
        osv = cm.osv
        cpe = cm.cpe
        if not osv and not cpe:
            continue
        c = cm.component
        ref = c.ref
        status, eol = lifecycle.get(ref, no_life)
        lname = c.name.lower()
        eco = cm.ecosystem
        current = cm.keys.get(eco) if eco is not None else None
        for group in osv if not cpe else list(dict.fromkeys([*osv, *cpe])):
            g = groups[group]
            gf = facts.get(group) or cache.group(index, group)
            osv_ev = osv.get(group)
            cpe_ev = cpe.get(group) if cpe else None
            cpe_text: str | None = None
            if osv_ev and not cpe_ev:
                # the common case: purl evidence only
                unconditional = True
                conditions: list[str] = []
                if len(osv_ev) == 1 and eco is not None:
                    ev = osv_ev[0]
                    ca = ev.affected
                    adv_ids = [advisories[ca.advisory].id]
                    matched = [ev.text]
                    af = fixes.get((id(ca), eco)) or cache.fix(ca, eco)
                    fixed = list(af.fixed)
                    nearest = _nearest_of(cache, af, current)
                else:
                    adv_ids = list(dict.fromkeys([advisories[e.affected.advisory].id for e in osv_ev]))
                    matched = list(dict.fromkeys([e.text for e in osv_ev]))
                    fixed, nearest = _osv_fix_cached(cache, cm, osv_ev)
                sources = ["osv"]
            else:
                osv_ev = osv_ev or []
                cpe_ev = cpe_ev or []
                # a CPE finding is conditional only when no evidence matched without conditions
                unconditional = bool(osv_ev) or any(not e.hit.conditional for e in cpe_ev)
                if unconditional:
                    cpe_used = [e for e in cpe_ev if not e.hit.conditional]
                    conditions = []
                else:
                    cpe_used = cpe_ev
                    conditions = list(dict.fromkeys(cond for e in cpe_ev for cond in e.hit.conditions))
                adv_ids = list(
                    dict.fromkeys([advisories[e.affected.advisory].id for e in osv_ev])
                    | dict.fromkeys(advisories[e.advisory].id for e in cpe_used)
                )
                matched = [e.text for e in osv_ev] + [
                    e.hit.criterion.describe()
                    + (f" [{advisories[e.advisory].id}]" if len(g.members) > 1 else "")
                    for e in cpe_used
                ]
                matched = list(dict.fromkeys(matched))
                if osv_ev:
                    fixed, nearest = _osv_fix_cached(cache, cm, osv_ev)
                else:
                    fixed, nearest = _cpe_fix(cpe_used)
                sources = []
                if osv_ev:
                    sources.append("osv")
                if cpe_used:
                    sources.append("nvd")
                    cpe_text = cpe_used[0].hit.target.cpe.text
            # every value is built here with its declared type, in Finding's field order: no re-validation
            findings.append(
                _finding_from_dict(
                    {
                        "id": g.id,
                        "aliases": list(g.aliases),
                        "advisories": adv_ids,
                        "summary": gf.summary,
                        "status": "affected" if unconditional else "conditional",
                        "conditions": conditions,
                        "severity": gf.severity,
                        "kev": gf.kev,
                        "epss": gf.epss,
                        "matched": matched,
                        "fixed": fixed,
                        "nearest_fix": nearest,
                        "source": sources,
                        "ref": ref,
                        "name": c.name,
                        "version": cm.version,
                        "purl": c.purl,
                        "cpe": cpe_text,
                        "ecosystem": cm.ecosystem if osv_ev else "CPE",
                        "support_status": status,
                        "eol": eol,
                    }
                )
            )
            order_keys.append((not unconditional, gf.not_in_kev, gf.level_rank, gf.neg_score, lname, g.id))
    return findings, order_keys


_CATALOG: Any = None


def _lifecycle_of(sbom: Sbom, as_of: dt.date, refs: set[str]) -> dict[str, tuple[str | None, dt.date | None]]:
    """End-of-support status for the components whose ref is in ``refs`` only (the ones with findings),
    without analysing components whose status no finding reports."""
    global _CATALOG
    from ..lifecycle.analysis import analyse_component
    from ..lifecycle.catalog import Catalog
    from ..lifecycle.match import matcher_for

    if _CATALOG is None:
        _CATALOG = Catalog.load()
    matcher = matcher_for(_CATALOG)
    memo: dict[Any, tuple[object, ...]] = {}
    out: dict[str, tuple[str | None, dt.date | None]] = {}
    for c in sbom.components:
        if c.ref in refs:
            r = analyse_component(c, as_of=as_of, matcher=matcher, _cache=memo)
            out[c.ref] = (r.support_status, r.eol)
    return out


_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "none": 4, "unknown": 5}


def scan_sbom(
    sbom: Sbom,
    index: VulnIndex,
    *,
    as_of: dt.date,
    name: str | None = None,
    cpe_from_names: bool = False,
    lifecycle: bool = True,
) -> ScanResult:
    """Every known vulnerability of the SBOM's components, with evidence, and what could not be evaluated.

    The primary component is scanned too when it carries a purl or CPE, and its CPEs always count as a
    platform for "running on" conditions.
    """
    with _gc_paused():
        return _scan_sbom(
            sbom, index, as_of=as_of, name=name, cpe_from_names=cpe_from_names, lifecycle=lifecycle
        )


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a scan allocates its many short-lived, acyclic objects:
    with a large index in memory, full collections would otherwise cost more than the scan itself."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _scan_sbom(
    sbom: Sbom, index: VulnIndex, *, as_of: dt.date, name: str | None, cpe_from_names: bool, lifecycle: bool
) -> ScanResult:
    comps = list(sbom.components)
    platforms: list[Component] = []
    pc = sbom.primary_component
    if pc is not None and all(c.ref != pc.ref for c in comps):
        if pc.purl or pc.cpes:
            comps.append(pc)
        else:
            platforms.append(pc)
    ms = match_components(index, comps, platforms=platforms, cpe_from_names=cpe_from_names)
    life = (
        _lifecycle_of(sbom, as_of, {cm.component.ref for cm in ms.matches if cm.osv or cm.cpe})
        if lifecycle
        else {}
    )
    unsorted, order_keys = _build_findings(index, ms, life)
    # the order: affected before conditional, KEV first, then severity level, score (highest first),
    # component name (case-insensitive) and id; the keys were built with the findings (stable sort)
    findings = [unsorted[i] for i in sorted(range(len(unsorted)), key=order_keys.__getitem__)]
    # totals from the order keys (conditional, not in KEV, level rank, ...); status: affected|conditional
    per_rank = [0] * len(_ORDER)
    affected = kev = 0
    for ok in order_keys:
        if not ok[0]:
            affected += 1
            kev += not ok[1]
            per_rank[ok[2]] += 1
    nev_refs = {n.ref for n in ms.not_evaluated}
    with_findings = {f.ref for f in findings}
    ecosystems_without = sorted(e for e in ms.ecosystems if index.advisories_per_ecosystem.get(e, 0) == 0)
    stats: dict[str, Any] = {
        "components": len(comps),
        "evaluated_by_purl": ms.evaluated_purl,
        "evaluated_by_cpe": ms.evaluated_cpe,
        "not_evaluated": len(nev_refs - ms.evaluated_refs),
        "partially_evaluated": len(nev_refs & ms.evaluated_refs),
        "components_with_findings": len(with_findings),
        "findings": len(findings),
        "affected": affected,
        "conditional": len(findings) - affected,
        "kev": kev,
        "by_severity": {lvl: per_rank[rank] for lvl, rank in _ORDER.items()},
        "ecosystems": dict(ms.ecosystems),
        "ecosystems_without_advisories": ecosystems_without,
        "index": index.stats(),
    }
    return ScanResult(
        sbom=name or sbom.document.name or "sbom",
        as_of=as_of,
        findings=findings,
        not_evaluated=ms.not_evaluated,
        stats=stats,
    )


# ------------------------------------------------------------------------------ building and caching

_PROCESS_CACHE: dict[str, VulnIndex] = {}


def _cache_dir() -> Path:
    from ..config import home

    return home() / "cache"


def load_index(session: Session, *, use_disk_cache: bool = True) -> VulnIndex:
    """The index of the store behind ``session``: built once per process and store generation, and
    pickled to MEDCYBER_HOME/cache (a user-owned folder; a stale or unreadable file is rebuilt)."""
    from ..services import vulndb

    generation = str(vulndb.db_generation(session))
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    cache_key = f"{INDEX_FORMAT}|{url}|{generation}"
    idx = _PROCESS_CACHE.get(cache_key)
    if idx is not None:
        return idx
    path = _cache_dir() / f"vuln-index-{hashlib.sha256(cache_key.encode()).hexdigest()[:20]}.pickle"
    if use_disk_cache and path.is_file():
        try:
            with path.open("rb") as fh:
                stored_key, idx = pickle.load(fh)
            if stored_key == cache_key and isinstance(idx, VulnIndex):
                _PROCESS_CACHE[cache_key] = idx
                return idx
        except Exception:  # a truncated or incompatible cache file is simply rebuilt
            pass
    idx = VulnIndex(
        vulndb.load_advisories(session),
        kev=vulndb.kev_index(session),
        epss=vulndb.epss_index(session),
        generation=generation,
    )
    _PROCESS_CACHE.clear()
    _PROCESS_CACHE[cache_key] = idx
    if use_disk_cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump((cache_key, idx), fh, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(path)
            for old in path.parent.glob("vuln-index-*.pickle"):
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError:
            pass
    return idx
