"""CPE 2.3 names and the evaluation of NVD ``configurations`` against the CPEs of an SBOM (pure, typed).

Parsing: CPE 2.3 formatted strings (``cpe:2.3:part:vendor:product:version:update:edition:language:
sw_edition:target_sw:target_hw:other``) with the escaping of the specification (``\\:``, ``\\/``, ``\\.``
...); CPE 2.2 URIs (``cpe:/a:vendor:product:version``) are accepted for component CPEs. ``*`` is ANY and
``-`` is NA; values are compared unescaped and case-insensitively.

Attribute matching (the NVD criterion is the source, the component's CPE is the target):

- part, vendor and product must be equal. A criterion whose vendor or product is a wildcard never matches,
  and a component CPE with a wildcard vendor or product is refused (``CpeRefused``): either would match
  everything from one vendor or everything at all, the classic flood of false positives.
- version: a criterion ANY matches every version inside its ``versionStart*``/``versionEnd*`` bounds (no
  bounds: every version, even an unknown one); a concrete criterion version must compare equal. When the
  component's CPE gives no version (ANY) the component's own ``version`` is used; when there is none the
  match is *undetermined* (reported as not evaluated, never guessed). A criterion NA (``-``, "a product
  without versions") matches a component version NA or ANY.
- update: a component CPE that names a concrete version and leaves update ANY means the plain release, so
  its update is taken as NA (``openssl:1.0.2:*`` is not ``openssl:1.0.2:beta1``; it is ``vxworks:7.0:-``).
- edition, language, sw_edition, target_sw, target_hw, other: a criterion ANY matches anything; a component
  ANY matches any criterion value (the SBOM did not narrow it, e.g. ``target_sw=ruby`` for nokogiri);
  otherwise the values must be equal.

Versions in CPEs are compared with a generic ordering (``cpe_version_key``): the version is split into
runs of digits and runs of letters (any other character separates); numbers compare numerically (so
``07.0.07`` == ``7.0.7``), trailing zeros of a run of numbers are insignificant (``1.0`` == ``1.0.0``,
``2.0.0-beta1`` == ``2-beta1``); the
pre-release words dev < alpha < beta < milestone < pre/preview < rc sort before the release, any other
letters sort after it (OpenSSL ``1.0.2zg`` > ``1.0.2``, ``4.0e`` > ``4.0``, OpenSSH ``7.4p1`` > ``7.4``);
at the same position a number sorts after letters.

Configurations: a node is satisfied when any (OR) or all (AND) of its criteria match some CPE of the SBOM
(a node's ``negate`` inverts it); a configuration combines its nodes with its operator (and ``negate``).
Findings come from criteria marked ``vulnerable`` in satisfied, non-negated nodes. An AND configuration
("running on/with": a vulnerable application or firmware AND a platform marked ``vulnerable: false``)
whose platform node is not satisfied by any component of the SBOM (nor its primary component) yields a
*conditional* hit naming the unmet platform condition; it is reported, never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from .model import ConfigNode, Configuration, CpeMatch

ANY = "*"
NA = "-"
ATTRIBUTES = (
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
)


class CpeError(ValueError):
    """Not a CPE 2.3 formatted string or CPE 2.2 URI."""


@dataclass(slots=True, frozen=True)
class Cpe:
    """A parsed CPE; every attribute is unescaped and lower-cased, or ANY (``*``) or NA (``-``)."""

    part: str
    vendor: str
    product: str
    version: str = ANY
    update: str = ANY
    edition: str = ANY
    language: str = ANY
    sw_edition: str = ANY
    target_sw: str = ANY
    target_hw: str = ANY
    other: str = ANY
    text: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.part, self.vendor, self.product)

    def has_wildcard_identity(self) -> bool:
        """Vendor or product is ANY/NA or contains a wildcard: too broad to match anything safely."""
        return any(_is_wild(v) or v == NA for v in (self.vendor, self.product))


def _is_wild(value: str) -> bool:
    return value == ANY or "\x00" in value or "\x01" in value


# Inside parsed values unescaped wildcards are kept as \x00 (multi, "*") and \x01 (single, "?") so that
# they cannot be confused with the literal characters, which the formatted string writes escaped.
_UNESCAPE = re.compile(r"\\(.)|(\*)|(\?)")


def _value(raw: str) -> str:
    if raw == "" or raw == ANY:
        return ANY
    if raw == NA:
        return NA

    def repl(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return m.group(1)
        return "\x00" if m.group(2) else "\x01"

    return _UNESCAPE.sub(repl, raw).lower()


def _split_formatted(body: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            cur.append(body[i : i + 2])
            i += 2
            continue
        if ch == ":":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def parse_cpe(text: str) -> Cpe:
    """Parse a CPE 2.3 formatted string (or a CPE 2.2 URI); raise ``CpeError`` when it is neither."""
    t = text.strip()
    low = t.lower()
    if low.startswith("cpe:2.3:"):
        fields = _split_formatted(t[8:])
        if len(fields) != 11:
            raise CpeError(
                f"{text!r}: a CPE 2.3 name has 11 attributes after 'cpe:2.3:', found {len(fields)}"
            )
        values = [_value(f) for f in fields]
    elif low.startswith("cpe:/"):
        from urllib.parse import unquote

        raw = t[5:].split(":")
        if len(raw) > 7:
            raise CpeError(f"{text!r}: a CPE 2.2 URI has at most 7 components")
        raw += [""] * (7 - len(raw))
        part, vendor, product, version, update, edition, language = (unquote(x) for x in raw)
        ext = ["", "", "", "", ""]
        if edition.startswith("~"):  # packed edition: ~edition~sw_edition~target_sw~target_hw~other
            ext = (edition[1:].split("~") + [""] * 5)[:5]
            edition = ext[0]
        values = [
            _value(x.replace("*", "\\*").replace("?", "\\?")) if x else ANY
            for x in (part, vendor, product, version, update, edition, language, *ext[1:], "")[:11]
        ]
        while len(values) < 11:
            values.append(ANY)
    else:
        raise CpeError(f"{text!r} is not a CPE 2.3 formatted string ('cpe:2.3:...') nor a CPE 2.2 URI")
    if values[0] not in ("a", "o", "h"):
        raise CpeError(f"{text!r}: part must be 'a', 'o' or 'h', not {values[0]!r}")
    return Cpe(*values, text=t)  # type: ignore[misc]


def display(value: str) -> str:
    return value.replace("\x00", "*").replace("\x01", "?")


# ---------------------------------------------------------------------------------------------- versions

_PRE = {"dev": 0, "alpha": 1, "beta": 2, "milestone": 3, "pre": 4, "preview": 4, "rc": 5}
_TOKEN = re.compile(r"\d+|[a-z]+")
CpeVersionKey = tuple[tuple[int, int, str], ...]
_END = (1, 0, "")


def cpe_version_key(version: str) -> CpeVersionKey:
    """A sort key for a CPE version with the generic ordering described in the module docstring."""
    toks: list[tuple[int, int, str]] = []
    run = 0  # length of the current run of numbers
    for tok in _TOKEN.findall(version.lower()):
        if tok.isdigit():
            toks.append((3, int(tok), ""))
            run += 1
            continue
        _strip_zeros(toks, run)
        run = 0
        toks.append((0, _PRE[tok], "") if tok in _PRE else (2, 0, tok))
    _strip_zeros(toks, run)
    toks.append(_END)
    return tuple(toks)


def _strip_zeros(toks: list[tuple[int, int, str]], run: int) -> None:
    """Trailing zeros of a run of numbers are insignificant (1.0.0 == 1); the run keeps one number."""
    while run > 1 and toks[-1] == (3, 0, ""):
        toks.pop()
        run -= 1


def compare_cpe_versions(a: str, b: str) -> int:
    ka, kb = cpe_version_key(a), cpe_version_key(b)
    return (ka > kb) - (ka < kb)


# ------------------------------------------------------------------------------------ compiled criteria


@dataclass(slots=True, frozen=True)
class Criterion:
    """One ``cpeMatch`` parsed once, with its range bounds as pre-computed version keys."""

    match: CpeMatch
    cpe: Cpe
    start: CpeVersionKey | None
    start_incl: bool
    end: CpeVersionKey | None
    end_incl: bool

    @property
    def bounded(self) -> bool:
        return self.start is not None or self.end is not None

    def describe(self) -> str:
        m = self.match
        bits = [m.criteria]
        for label, v in (
            ("versionStartIncluding", m.version_start_including),
            ("versionStartExcluding", m.version_start_excluding),
            ("versionEndIncluding", m.version_end_including),
            ("versionEndExcluding", m.version_end_excluding),
        ):
            if v:
                bits.append(f"{label} {v}")
        return " ".join(bits) if len(bits) == 1 else bits[0] + ": " + " ".join(bits[1:])


@dataclass(slots=True, frozen=True)
class CompiledNode:
    operator: Literal["OR", "AND"]
    negate: bool
    criteria: tuple[Criterion, ...]


@dataclass(slots=True, frozen=True)
class CompiledConfig:
    operator: Literal["OR", "AND"]
    negate: bool
    nodes: tuple[CompiledNode, ...]

    def vulnerable_keys(self) -> set[tuple[str, str, str]]:
        return {c.cpe.key for n in self.nodes if not n.negate for c in n.criteria if c.match.vulnerable}


def compile_criterion(m: CpeMatch) -> Criterion | None:
    """Parse a criterion; None when it cannot be parsed or names no concrete vendor and product."""
    try:
        cpe = parse_cpe(m.criteria)
    except CpeError:
        return None
    if cpe.has_wildcard_identity():
        return None
    start = m.version_start_including or m.version_start_excluding
    end = m.version_end_including or m.version_end_excluding
    return Criterion(
        match=m,
        cpe=cpe,
        start=cpe_version_key(start) if start else None,
        start_incl=m.version_start_including is not None,
        end=cpe_version_key(end) if end else None,
        end_incl=m.version_end_including is not None,
    )


def _compile_node(node: ConfigNode) -> CompiledNode:
    crit = tuple(c for c in (compile_criterion(m) for m in node.matches) if c is not None)
    return CompiledNode(node.operator, node.negate, crit)


def compile_configuration(conf: Configuration) -> CompiledConfig:
    return CompiledConfig(conf.operator, conf.negate, tuple(_compile_node(n) for n in conf.nodes))


# ----------------------------------------------------------------------------------------------- matching

MatchOutcome = Literal["match", "no", "undetermined"]


@dataclass(slots=True, frozen=True)
class TargetCpe:
    """A component's CPE prepared for matching: the CPE and the version to compare (key pre-computed)."""

    ref: str
    cpe: Cpe
    version: str | None  # concrete version (from the CPE, else from the component), None if unknown
    version_key: CpeVersionKey | None
    version_na: bool  # the CPE says NA
    derived: bool = False  # built from the component's name (--cpe-from-names)


def target_cpe(ref: str, cpe: Cpe, component_version: str | None, *, derived: bool = False) -> TargetCpe:
    version: str | None
    if cpe.version == ANY:
        version = component_version or None
    elif cpe.version == NA:
        version = None
    else:
        version = display(cpe.version)
    if cpe.update == ANY and cpe.version not in (ANY, NA):
        cpe = _with_update_na(cpe)
    key = cpe_version_key(version) if version is not None else None
    return TargetCpe(ref, cpe, version, key, cpe.version == NA, derived)


def _with_update_na(cpe: Cpe) -> Cpe:
    return Cpe(
        cpe.part,
        cpe.vendor,
        cpe.product,
        cpe.version,
        NA,
        cpe.edition,
        cpe.language,
        cpe.sw_edition,
        cpe.target_sw,
        cpe.target_hw,
        cpe.other,
        text=cpe.text,
    )


def _pattern_match(pattern: str, value: str) -> bool:
    rx = "".join(".*" if ch == "\x00" else "." if ch == "\x01" else re.escape(ch) for ch in pattern)
    return re.fullmatch(rx, value) is not None


def _attr(src: str, tgt: str, *, lenient_any: bool) -> bool:
    if src == ANY:
        return True
    if tgt == ANY:
        return lenient_any
    if src == NA or tgt == NA:
        return src == tgt
    if "\x00" in src or "\x01" in src:
        return _pattern_match(src, tgt)
    return src == tgt


_QUALIFIERS = ("edition", "language", "sw_edition", "target_sw", "target_hw", "other")


def match_criterion(crit: Criterion, t: TargetCpe) -> MatchOutcome:
    """Does the component CPE ``t`` fall within the criterion? (Same part/vendor/product is assumed.)"""
    s, c = crit.cpe, t.cpe
    if not _attr(s.update, c.update, lenient_any=True):
        return "no"
    for name in _QUALIFIERS:
        if not _attr(getattr(s, name), getattr(c, name), lenient_any=True):
            return "no"
    sv = s.version
    if sv == NA:
        return "match" if (t.version_na or c.version == ANY) else "no"
    if sv == ANY:
        if not crit.bounded:
            return "match"
        if t.version_key is None:
            return "no" if t.version_na else "undetermined"
        k = t.version_key
        if crit.start is not None and (k < crit.start or (k == crit.start and not crit.start_incl)):
            return "no"
        if crit.end is not None and (k > crit.end or (k == crit.end and not crit.end_incl)):
            return "no"
        return "match"
    # a concrete (or patterned) criterion version
    if t.version is None:
        return "no" if t.version_na else "undetermined"
    if "\x00" in sv or "\x01" in sv:
        return "match" if _pattern_match(sv, t.version.lower()) else "no"
    return "match" if cpe_version_key(sv) == t.version_key else "no"


@dataclass(slots=True)
class Hit:
    """A vulnerable criterion matched by a component CPE (``conditional`` when a platform is missing)."""

    target: TargetCpe
    criterion: Criterion
    conditions: tuple[str, ...] = ()  # unmet platform conditions, described

    @property
    def conditional(self) -> bool:
        return bool(self.conditions)


@dataclass(slots=True)
class ConfigResult:
    hits: list[Hit] = field(default_factory=list)
    undetermined: list[tuple[TargetCpe, Criterion]] = field(default_factory=list)


def _node_eval(
    node: CompiledNode, targets: dict[tuple[str, str, str], list[TargetCpe]]
) -> tuple[bool, list[Hit], list[tuple[TargetCpe, Criterion]]]:
    hits: list[Hit] = []
    undetermined: list[tuple[TargetCpe, Criterion]] = []
    results: list[bool] = []
    for crit in node.criteria:
        matched = False
        for t in targets.get(crit.cpe.key, ()):
            out = match_criterion(crit, t)
            if out == "match":
                matched = True
                if crit.match.vulnerable:
                    hits.append(Hit(t, crit))
            elif out == "undetermined" and crit.match.vulnerable:
                undetermined.append((t, crit))
        results.append(matched)
    if not results:
        sat = False
    elif node.operator == "AND":
        sat = all(results)
    else:
        sat = any(results)
    if node.negate:
        return (not sat), [], []
    return sat, hits, undetermined


def _describe_node(node: CompiledNode) -> str:
    names = [c.describe() for c in node.criteria]
    if len(names) > 3:
        names = names[:3] + [f"... ({len(node.criteria) - 3} more)"]
    joined = f" {node.operator.lower()} ".join(names)
    return f"not ({joined})" if node.negate else joined


def evaluate_configuration(
    conf: CompiledConfig, targets: dict[tuple[str, str, str], list[TargetCpe]]
) -> ConfigResult:
    """Evaluate one configuration against the SBOM's CPEs grouped by (part, vendor, product)."""
    evals = [_node_eval(n, targets) for n in conf.nodes]
    result = ConfigResult()
    if not evals:
        return result
    if conf.negate:
        # A negated configuration is only a condition; it never names a vulnerable component itself.
        return result
    if conf.operator == "OR" or len(evals) == 1:
        for sat, hits, und in evals:
            if sat:
                result.hits.extend(hits)
            result.undetermined.extend(und)
        return result
    # AND: every node must hold. Nodes without vulnerable hits are the platform conditions.
    unmet = [_describe_node(n) for n, (sat, _h, _u) in zip(conf.nodes, evals, strict=True) if not sat]
    any_vuln_sat = False
    for (sat, hits, und), node in zip(evals, conf.nodes, strict=True):
        if sat and hits:
            any_vuln_sat = True
            own = _describe_node(node)
            conditions = tuple(u for u in unmet if u != own)
            result.hits.extend(Hit(h.target, h.criterion, conditions) for h in hits)
        result.undetermined.extend(und)
    if not any_vuln_sat:
        result.hits.clear()
    return result
