"""Mapping SBOM components to endoflife.date products and release cycles.

Rules, strongest first, and the first that decides wins:

1. **purl**: type + namespace + name, normalised per type (PyPI lower-case with ``-``/``_``/``.`` equal,
   npm scope kept, Maven group and artifact, Docker's implicit ``library`` namespace), version,
   qualifiers and subpath ignored.
2. **cpe**: part + vendor + product of a CPE 2.2 URI or 2.3 formatted string; a wildcard or
   not-applicable vendor or product never matches.
3. **name**: only when unambiguous -- the normalised component name equals the id, title or an alias of
   exactly one product, is longer than three characters, is not a generic word, and the component's
   purl (if any) does not contradict the product (same purl type listed for the product but not this
   package; or a language-ecosystem package against a product that is not a library/framework, e.g. the
   PyPI client ``redis`` is not the Redis server).

An identifier matching several products decides nothing (ambiguous) and the reason is kept.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

import yaml

from ..sbom.purl import Purl, parse_purl
from .catalog import DATA_DIR, Catalog, Product, Release

MatchRule = Literal["purl", "cpe", "name"]

# Package ecosystems of libraries: a package there is never an OS, a server or a language runtime.
ECOSYSTEM_TYPES = frozenset(
    {
        "npm",
        "pypi",
        "maven",
        "nuget",
        "gem",
        "cargo",
        "golang",
        "composer",
        "hex",
        "pub",
        "cocoapods",
        "swift",
        "conda",
        "cran",
        "hackage",
        "conan",
        "bower",
        "cpan",
        "luarocks",
        "swid",
    }
)
LIBRARY_CATEGORIES = frozenset({"framework"})

# Generic words never matched by name alone (compared after normalisation).
STOP_NAMES = frozenset(
    {
        "core",
        "common",
        "commons",
        "utils",
        "util",
        "utilities",
        "api",
        "client",
        "server",
        "sdk",
        "lib",
        "libs",
        "library",
        "node",
        "framework",
        "runtime",
        "app",
        "application",
        "web",
        "data",
        "test",
        "tests",
        "tools",
        "tool",
        "cli",
        "plugin",
        "plugins",
        "kernel",
        "linux",
        "base",
        "main",
        "config",
        "logging",
        "driver",
        "drivers",
        "firmware",
        "bootloader",
        "system",
        "platform",
        "service",
        "standard",
        "express",
        "unity",
        "office",
        "surface",
        "pixel",
        "flux",
        "beats",
        "composer",
        "foreman",
        "nexus",
        "harbor",
        "consul",
        "puppet",
        "salt",
        "tails",
        "looker",
        "kindle",
        "robo",
        "chrome",
        "windows",
    }
)
MIN_NAME_LENGTH = 4

_WILDCARDS = frozenset({"", "*", "-", "?", "na", "ana"})


# ---- CPE ------------------------------------------------------------------------------------------------
@dataclass(slots=True, frozen=True)
class Cpe:
    part: str
    vendor: str
    product: str
    version: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.part, self.vendor, self.product)

    @property
    def definite(self) -> bool:
        """True when part, vendor and product are all given (no wildcard, no not-applicable)."""
        return all(v not in _WILDCARDS and "*" not in v and "?" not in v for v in self.key)


_CPE23_SPLIT = re.compile(r"(?<!\\):")


def parse_cpe(text: str | None) -> Cpe | None:
    """A CPE 2.3 formatted string or 2.2 URI; None when it is neither."""
    if not text:
        return None
    raw = text.strip()
    low = raw.lower()
    if low.startswith("cpe:2.3:"):
        fields = _CPE23_SPLIT.split(raw)[2:]
        fields = [re.sub(r"\\(.)", r"\1", f) for f in fields]
    elif low.startswith("cpe:/"):
        fields = [unquote(f) for f in raw[5:].split(":")]
    else:
        return None
    if len(fields) < 3:
        return None
    part, vendor, product = (f.strip().lower() for f in fields[:3])
    version = fields[3].strip() if len(fields) > 3 and fields[3].strip() not in _WILDCARDS else None
    return Cpe(part.lstrip("/"), vendor, product, version)


# ---- names ----------------------------------------------------------------------------------------------
_NON_ALNUM = re.compile(r"[^a-z0-9+]")


def normalise_name(name: str) -> str:
    """Lower-case letters, digits and '+' only: "Node.js" -> "nodejs", "Apache Kafka" -> "apachekafka"."""
    return _NON_ALNUM.sub("", name.lower())


def name_allowed(key: str) -> bool:
    return len(key) >= MIN_NAME_LENGTH and key not in STOP_NAMES and not key.isdigit()


# ---- results --------------------------------------------------------------------------------------------
@dataclass(slots=True, frozen=True)
class ProductMatch:
    product: Product
    rule: MatchRule
    identifier: str  # the purl, CPE or name that matched


@dataclass(slots=True, frozen=True)
class MatchOutcome:
    match: ProductMatch | None
    reason: str | None = None  # why nothing matched (or what was ambiguous)


@dataclass(slots=True, frozen=True)
class CycleChoice:
    release: Release | None
    reason: str | None = None  # why no cycle was chosen
    rule: str = "prefix"  # "prefix", "zero-padded", or a product rule


# ---- the matcher ----------------------------------------------------------------------------------------
class Matcher:
    """Indexes of one catalogue for matching (built once per catalogue, see ``matcher_for``)."""

    def __init__(self, catalog: Catalog, rules: list[dict[str, Any]] | None = None):
        self.catalog = catalog
        self.by_purl: dict[tuple[str, str, str], list[Product]] = {}
        self.by_cpe: dict[tuple[str, str, str], list[Product]] = {}
        self.by_name: dict[str, list[Product]] = {}
        self.purl_types: dict[str, frozenset[str]] = {}
        for product in catalog.products.values():
            types: set[str] = set()
            for text in product.purls:
                p = parse_purl(text)
                if p is not None:
                    _add(self.by_purl, p.key, product)
                    types.add(p.type)
            self.purl_types[product.id] = frozenset(types)
            for text in product.cpes:
                c = parse_cpe(text)
                if c is not None and c.definite:
                    _add(self.by_cpe, c.key, product)
            for name in (product.id, product.title, *product.aliases):
                key = normalise_name(name)
                if name_allowed(key):
                    _add(self.by_name, key, product)
        self.rules: dict[str, list[dict[str, Any]]] = {}
        for rule in rules if rules is not None else _version_rules():
            for pid in rule.get("products", ()):
                self.rules.setdefault(pid, []).append(rule)

    # -- products --
    def match(
        self, *, name: str, purl: str | None = None, cpes: tuple[str, ...] | list[str] = ()
    ) -> MatchOutcome:
        reasons: list[str] = []
        parsed = parse_purl(purl)
        if parsed is not None:
            found = self.by_purl.get(parsed.key, ())
            if len(found) == 1:
                return MatchOutcome(ProductMatch(found[0], "purl", purl or ""))
            if len(found) > 1:
                reasons.append(f"purl {purl} is listed by several products ({_ids(found)})")
        for text in cpes:
            cpe = parse_cpe(text)
            if cpe is None:
                continue
            if not cpe.definite:
                reasons.append(f"CPE {text} has a wildcard vendor or product")
                continue
            found = self.by_cpe.get(cpe.key, ())
            if len(found) == 1:
                return MatchOutcome(ProductMatch(found[0], "cpe", text))
            if len(found) > 1:
                reasons.append(f"CPE {text} is listed by several products ({_ids(found)})")
        key = normalise_name(name or "")
        candidates = self.by_name.get(key, ()) if name_allowed(key) else ()
        if len(candidates) > 1:
            reasons.append(f"name '{name}' fits several products ({_ids(candidates)})")
        elif len(candidates) == 1:
            product = candidates[0]
            conflict = self._purl_conflict(parsed, product)
            if conflict is None:
                return MatchOutcome(ProductMatch(product, "name", name))
            reasons.append(conflict)
        if not reasons:
            reasons.append("no endoflife.date product has this component's purl, CPE or name")
        return MatchOutcome(None, "; ".join(reasons))

    def _purl_conflict(self, purl: Purl | None, product: Product) -> str | None:
        if purl is None:
            return None
        if purl.type in self.purl_types.get(product.id, ()):
            return (
                f"name matches {product.id} but its purl (pkg:{purl.type}/"
                f"{purl.namespace + '/' if purl.namespace else ''}{purl.name}) is not one of {product.id}'s"
            )
        if purl.type in ECOSYSTEM_TYPES and product.category not in LIBRARY_CATEGORIES:
            return (
                f"name matches {product.id} ({product.category}) but the component is a {purl.type} package, "
                "not that product"
            )
        return None

    # -- cycles --
    def select_cycle(self, product: Product, version: str | None) -> CycleChoice:
        return select_cycle(product, version, self.rules.get(product.id, ()))


def _add(index: dict[Any, list[Product]], key: Any, product: Product) -> None:
    bucket = index.setdefault(key, [])
    if product not in bucket:
        bucket.append(product)


def _ids(products: Any) -> str:
    return ", ".join(p.id for p in products)


@cache
def _version_rules() -> list[dict[str, Any]]:
    path: Path = DATA_DIR / "version_rules.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return list(data.get("rules", []))


_MATCHERS: weakref.WeakKeyDictionary[Catalog, Matcher] = weakref.WeakKeyDictionary()


def matcher_for(catalog: Catalog) -> Matcher:
    """The matcher of a catalogue (indexes built on first use, then reused)."""
    m = _MATCHERS.get(catalog)
    if m is None:
        m = _MATCHERS[catalog] = Matcher(catalog)
    return m


def clear_cache() -> None:
    _MATCHERS.clear()


# ---- release cycles -------------------------------------------------------------------------------------
_EPOCH = re.compile(r"^\d+:")
_V_PREFIX = re.compile(r"^[vV](?=\d)")


def normalise_version(version: str) -> str:
    """Lower-case, no epoch ("1:3.0.2" -> "3.0.2"), no leading "v" ("v18.19.0" -> "18.19.0")."""
    v = version.strip()
    v = _EPOCH.sub("", v)
    v = _V_PREFIX.sub("", v)
    return v.lower()


def _at_boundary(cycle: str, version: str) -> bool:
    """Is ``cycle`` a prefix of ``version`` ending at a component boundary?"""
    if not version.startswith(cycle):
        return False
    if len(version) == len(cycle):
        return True
    nxt = version[len(cycle)]
    if not nxt.isalnum():
        return True
    # "1.0.2u": a letter after a numeric component is a patch letter, still the 1.0.2 cycle
    return nxt.isalpha() and cycle[-1].isdigit()


_ZEROS = re.compile(r"(\.0+)+")


def _prefix_choice(releases: tuple[Release, ...], version: str) -> tuple[Release | None, str]:
    best: Release | None = None
    for r in releases:
        c = r.cycle.lower()
        if c and _at_boundary(c, version) and (best is None or len(c) > len(best.cycle)):
            best = r
    if best is not None:
        return best, "prefix"
    for r in releases:  # "3" is the "3.0" cycle
        c = r.cycle.lower()
        if c.startswith(version) and _ZEROS.fullmatch(c[len(version) :]):
            return r, "zero-padded"
    return None, ""


def select_cycle(
    product: Product, version: str | None, rules: tuple[dict[str, Any], ...] | list[dict[str, Any]] = ()
) -> CycleChoice:
    """The release cycle of ``product`` a component version belongs to.

    Generic rule: the longest cycle that is a prefix of the version at a component boundary
    (OpenSSL "1.0.2u" -> "1.0.2", "3.0.13" -> "3.0", Android "10.0" -> "10", Node "v18.19.0" -> "18").
    Product rules (``data/version_rules.yaml``) apply only when that finds nothing.
    """
    if not version or not version.strip():
        return CycleChoice(None, f"no version given, so no {product.title} release cycle can be chosen")
    v = normalise_version(version)
    release, how = _prefix_choice(product.releases, v)
    if release is not None:
        return CycleChoice(release, rule=how)
    for rule in rules:
        rewrite = rule.get("rewrite")
        if rewrite:
            changed = re.sub(rewrite["pattern"], rewrite["replace"], v, count=1)
            if changed != v:
                release, how = _prefix_choice(product.releases, changed)
                if release is not None:
                    return CycleChoice(release, rule=f"rewrite {v} -> {changed}")
        depth = rule.get("latest_prefix")
        if depth:
            stem = ".".join(v.split(".")[:depth])
            hits = [
                r
                for r in product.releases
                if r.latest and ".".join(r.latest.lower().split(".")[:depth]) == stem and stem.count(".")
            ]
            if len(hits) == 1:
                return CycleChoice(hits[0], rule=f"latest build {stem}")
            if len(hits) > 1:
                return CycleChoice(
                    None,
                    f"build {stem} belongs to several {product.title} cycles "
                    f"({', '.join(r.cycle for r in hits)}); the edition is needed",
                )
    known = ", ".join(r.cycle for r in product.releases[:8])
    more = "..." if len(product.releases) > 8 else ""
    return CycleChoice(None, f"version {version} is in no {product.title} release cycle ({known}{more})")
