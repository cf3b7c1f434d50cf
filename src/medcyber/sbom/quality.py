"""FDA / NTIA / CISA quality of an SBOM: which elements each component and the document declare.

Elements checked
----------------
Per component (each check passes or fails, and names the gap):

* NTIA minimum elements -- ``supplier`` (the supplier, or failing that the manufacturer/author/publisher or
  SPDX originator), ``name``, ``version``, ``identifier`` (a purl or a CPE; a ``pkg:generic/...`` purl
  without a version counts but is noted), ``dependencies`` (the component is a dependent or a dependency
  in the graph, is nested in another component, or -- when the SBOM declares the primary component's
  direct dependencies, the NTIA minimum of "top-level dependencies" -- is covered by that declaration).
* FDA -- ``support_level`` (a level of support is declared) and ``end_of_support`` (an end-of-support value
  is declared). A date, or an explicit rule such as "Until hardware support ends", counts as declared; a
  rule is flagged "no date". "Unknown" counts as declared, and is named as declared-unknown.
* CISA newer elements -- ``hash`` and ``license``.

Per document: ``author``, ``timestamp`` and ``dependency_graph`` (any relationship at all; NTIA),
``tool``, ``generation_context`` (CycloneDX ``metadata.lifecycles``; for SPDX its creation info, i.e. a
creation time and a creator) and ``serial`` (CycloneDX serial number / SPDX document namespace) (CISA group).

Placeholders ("NOASSERTION", "unknown", "n/a", "-", empty) do not count as a supplier, name or version;
"NOASSERTION" does not count as a licence; a licence written as "Unknown" counts as declared-unknown (named).

Score
-----
0-100 = 60 x NTIA + 25 x FDA + 15 x CISA, where each group's value is the plain mean of its elements'
fulfilment; a component element's fulfilment is the share of components meeting it, a document element's
is 1 or 0 (each document element is counted once). Groups: NTIA = supplier, name, version, identifier,
dependencies, author, timestamp, dependency_graph (8 elements, 7.5 points each); FDA = support_level,
end_of_support (12.5 points each); CISA = hash, license, tool, generation_context, serial (3 points each).
An SBOM without components meets none of the component elements. Adding any missing element to any
component or to the document strictly raises the score; declared-but-qualified values (no date, declared
unknown, generic purl) score as met and are listed among the gaps after the outright missing ones.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, Field

from .model import Component, ReadResult, Sbom, SupportLevel

Group = Literal["ntia", "fda", "cisa"]
Level = Literal["component", "document"]

GROUP_WEIGHTS: dict[str, float] = {"ntia": 60.0, "fda": 25.0, "cisa": 15.0}


class ElementDef(BaseModel):
    id: str
    label: str
    group: Group
    level: Level


ELEMENTS: tuple[ElementDef, ...] = (
    ElementDef(id="supplier", label="supplier name", group="ntia", level="component"),
    ElementDef(id="name", label="component name", group="ntia", level="component"),
    ElementDef(id="version", label="version", group="ntia", level="component"),
    ElementDef(id="identifier", label="unique identifier (purl, CPE)", group="ntia", level="component"),
    ElementDef(id="dependencies", label="dependency relationship", group="ntia", level="component"),
    ElementDef(id="author", label="SBOM author", group="ntia", level="document"),
    ElementDef(id="timestamp", label="timestamp", group="ntia", level="document"),
    ElementDef(
        id="dependency_graph", label="dependency relationships declared", group="ntia", level="document"
    ),
    ElementDef(id="support_level", label="level of support", group="fda", level="component"),
    ElementDef(id="end_of_support", label="end-of-support date", group="fda", level="component"),
    ElementDef(id="hash", label="hash", group="cisa", level="component"),
    ElementDef(id="license", label="licence", group="cisa", level="component"),
    ElementDef(id="tool", label="tool name", group="cisa", level="document"),
    ElementDef(id="generation_context", label="generation context", group="cisa", level="document"),
    ElementDef(id="serial", label="serial number / namespace", group="cisa", level="document"),
)
ELEMENT_BY_ID = {e.id: e for e in ELEMENTS}
COMPONENT_ELEMENTS = tuple(e.id for e in ELEMENTS if e.level == "component")
DOCUMENT_ELEMENTS = tuple(e.id for e in ELEMENTS if e.level == "document")


def element_weight(element_id: str) -> float:
    """Points (of 100) the element is worth when fully met."""
    group = ELEMENT_BY_ID[element_id].group
    n = sum(1 for e in ELEMENTS if e.group == group)
    return GROUP_WEIGHTS[group] / n


class Check(BaseModel):
    """One element for one component (or the document): met or not, the declared value verbatim, and a
    note in plain words naming the gap or the qualification ("no date", "declared unknown")."""

    ok: bool
    value: str | None = None
    note: str | None = None
    flag: str | None = None  # short code of a qualification: no-date, declared-unknown, generic-purl, ...


class ComponentQuality(BaseModel):
    ref: str
    name: str
    version: str | None
    type: str
    checks: dict[str, Check]
    met: int
    total: int
    gaps: list[str] = Field(default_factory=list)


class ElementCoverage(BaseModel):
    id: str
    label: str
    group: Group
    level: Level
    weight: float  # points of 100 when fully met
    met: int  # components meeting it (1/0 for a document element)
    total: int  # components assessed (1 for a document element)
    coverage: float  # percent, 0-100
    points: float  # points earned towards the score
    flagged: dict[str, int] = Field(default_factory=dict)  # qualification code -> count


class QualityReport(BaseModel):
    score: float  # 0-100, one decimal
    groups: dict[str, float]  # ntia / fda / cisa fulfilment, percent
    component_count: int
    elements: dict[str, ElementCoverage]
    document: dict[str, Check]
    components: list[ComponentQuality]
    gaps: list[str]


_PLACEHOLDERS = frozenset({"", "noassertion", "none", "unknown", "n/a", "na", "-", "*", "tbd", "null"})


def _placeholder(text: str | None) -> bool:
    return text is None or text.strip().lower() in _PLACEHOLDERS


def _missing_or_placeholder(text: str | None, what: str) -> Check:
    if text is None:
        return Check(ok=False, note=f"no {what}")
    if not text.strip():
        return Check(ok=False, value=text, note=f"{what} is empty")
    if _placeholder(text):
        return Check(ok=False, value=text, note=f"{what} is a placeholder ({text.strip()})")
    return Check(ok=True, value=text)


def _check_supplier(c: Component) -> Check:
    if not _placeholder(c.supplier):
        return Check(ok=True, value=c.supplier)
    if not _placeholder(c.manufacturer):
        return Check(ok=True, value=c.manufacturer, note="from the manufacturer/author, no supplier given")
    shown = c.supplier if c.supplier is not None else c.manufacturer
    if shown is not None:
        return Check(ok=False, value=shown, note=f"supplier is a placeholder ({shown.strip() or 'empty'})")
    return Check(ok=False, note="no supplier or manufacturer")


def _purl_type_and_version(purl: str) -> tuple[str, bool]:
    body = purl.split("#", 1)[0].split("?", 1)[0]
    rest = body[4:] if body.lower().startswith("pkg:") else body
    ptype = rest.lstrip("/").split("/", 1)[0].lower()
    return ptype, "@" in rest


def _cpe_has_version(cpe: str) -> bool:
    """Whether a CPE (2.3 formatted string or 2.2 URI) names a specific version."""
    if cpe.startswith("cpe:2.3:"):
        parts = cpe.split(":")
        return len(parts) > 5 and parts[5] not in ("*", "-", "")
    parts = cpe.removeprefix("cpe:/").split(":")
    return len(parts) > 3 and parts[3] not in ("*", "-", "")


def _check_identifier(c: Component) -> Check:
    purl = c.purl.strip() if c.purl else ""
    cpes = [cpe for cpe in c.cpes if cpe.strip()]
    if purl:
        ptype, has_version = _purl_type_and_version(purl)
        if ptype == "generic" and not has_version and not any(_cpe_has_version(x) for x in cpes):
            return Check(
                ok=True, value=purl, note="only a generic purl without a version", flag="generic-purl"
            )
        return Check(ok=True, value=purl)
    if cpes:
        return Check(ok=True, value=cpes[0])
    return Check(ok=False, note="no purl or CPE")


def _check_level(c: Component) -> Check:
    s = c.support
    if s is None or s.level_text is None or not s.level_text.strip():
        return Check(ok=False, note="no level of support declared")
    if s.level == SupportLevel.UNKNOWN:
        return Check(ok=True, value=s.level_text, note="declared as unknown", flag="declared-unknown")
    if s.level is None:
        return Check(ok=True, value=s.level_text, note="not a recognised level", flag="unrecognised")
    return Check(ok=True, value=s.level_text)


_RULE_NOTES = {
    "until-hardware-support-ends": "no date: until hardware support ends",
    "community-no-date": "no date: community / open-source support",
    "ended": "no date: support has ended",
    "no-planned-end": "no date: no planned end",
}


def _check_eos(c: Component) -> Check:
    s = c.support
    if s is None or s.end_of_support_text is None or not s.end_of_support_text.strip():
        if s is not None and s.end_of_support is not None:
            return Check(ok=True, value=s.end_of_support.isoformat())
        return Check(ok=False, note="no end-of-support date declared")
    text = s.end_of_support_text
    if s.end_of_support is not None:
        return Check(ok=True, value=text)
    if s.eos_rule == "unknown":
        return Check(ok=True, value=text, note="declared as unknown", flag="declared-unknown")
    if s.eos_rule in _RULE_NOTES:
        return Check(ok=True, value=text, note=_RULE_NOTES[s.eos_rule], flag="no-date")
    return Check(ok=True, value=text, note="no date: not a date or a recognised rule", flag="no-date")


def _check_hash(c: Component) -> Check:
    if c.hashes:
        return Check(ok=True, value=", ".join(sorted({h.alg for h in c.hashes})))
    return Check(ok=False, note="no hash")


def _check_license(c: Component) -> Check:
    declared = [lic for lic in c.licenses if lic.strip()]
    real = [lic for lic in declared if lic.strip().upper() != "NOASSERTION"]
    if real:
        if all(lic.strip().upper() == "NONE" for lic in real):
            return Check(ok=True, value=", ".join(real), note="declared as no licence")
        if all(_placeholder(lic) for lic in real):
            return Check(ok=True, value=", ".join(real), note="declared as unknown", flag="declared-unknown")
        return Check(ok=True, value=", ".join(real))
    if declared:
        return Check(ok=False, value=", ".join(declared), note="licence is NOASSERTION")
    return Check(ok=False, note="no licence")


class _Graph:
    """What the dependency graph says about each ref."""

    def __init__(self, sbom: Sbom):
        self.dependents = {ref for ref, deps in sbom.dependencies.items() if deps}
        self.dependencies = {d for deps in sbom.dependencies.values() for d in deps}
        self.edges = sum(len(deps) for deps in sbom.dependencies.values())
        self.entries = len(sbom.dependencies)
        self.listed = frozenset(sbom.dependencies)
        primary = sbom.document.primary
        self.primary = primary
        self.primary_declared = primary is not None and bool(sbom.dependencies.get(primary))

    def check(self, c: Component) -> Check:
        if c.ref in self.dependencies and c.ref in self.dependents:
            return Check(ok=True, value="dependent and dependency")
        if c.ref in self.dependencies:
            return Check(ok=True, value="dependency")
        if c.ref in self.dependents:
            return Check(ok=True, value="has dependencies")
        if c.parent is not None:
            return Check(ok=True, value=f"nested in {c.parent}")
        if self.primary_declared:
            return Check(
                ok=True,
                value="top-level dependencies declared",
                note="not in the graph; covered by the declared top-level dependencies",
                flag="top-level-only",
            )
        if c.ref in self.listed:
            return Check(ok=False, note="listed in the dependency graph without any relationship")
        return Check(ok=False, note="not in the dependency graph")


def _component_quality(c: Component, graph: _Graph) -> ComponentQuality:
    checks = {
        "supplier": _check_supplier(c),
        "name": _missing_or_placeholder(c.name, "name"),
        "version": _missing_or_placeholder(c.version, "version"),
        "identifier": _check_identifier(c),
        "dependencies": graph.check(c),
        "support_level": _check_level(c),
        "end_of_support": _check_eos(c),
        "hash": _check_hash(c),
        "license": _check_license(c),
    }
    met = sum(ch.ok for ch in checks.values())
    gaps = [f"{ELEMENT_BY_ID[k].label}: {ch.note}" for k, ch in checks.items() if not ch.ok and ch.note]
    return ComponentQuality(
        ref=c.ref,
        name=c.name,
        version=c.version,
        type=str(c.type),
        checks=checks,
        met=met,
        total=len(checks),
        gaps=gaps,
    )


def _document_checks(sbom: Sbom, graph: _Graph) -> dict[str, Check]:
    doc = sbom.document
    authors = [a for a in doc.authors if a.strip()]
    tools = [t for t in doc.tools if t.strip()]
    checks: dict[str, Check] = {}
    checks["author"] = (
        Check(ok=True, value=", ".join(authors)) if authors else Check(ok=False, note="no author named")
    )
    checks["timestamp"] = (
        Check(ok=True, value=doc.timestamp.isoformat())
        if doc.timestamp is not None
        else Check(ok=False, note="no timestamp")
    )
    if graph.edges:
        checks["dependency_graph"] = Check(
            ok=True,
            value=f"{graph.edges} relationship(s) from {len(graph.dependents)} component(s)",
            note=None
            if graph.primary_declared or doc.primary is None
            else "the primary component's own (top-level) dependencies are not declared",
        )
    elif graph.entries:
        checks["dependency_graph"] = Check(
            ok=False,
            value=f"{graph.entries} entries, no relationships",
            note=f"the dependency graph lists {graph.entries} refs but no relationship between them",
        )
    else:
        checks["dependency_graph"] = Check(ok=False, note="no dependency relationships")
    checks["tool"] = (
        Check(ok=True, value=", ".join(tools)) if tools else Check(ok=False, note="no tool named")
    )
    if doc.lifecycles:
        checks["generation_context"] = Check(ok=True, value=", ".join(doc.lifecycles))
    elif doc.format == "spdx" and doc.timestamp is not None and (authors or tools):
        checks["generation_context"] = Check(
            ok=True, value="SPDX creation info", note="creation info only, no lifecycle phase"
        )
    elif doc.format == "cyclonedx":
        checks["generation_context"] = Check(
            ok=False,
            note="no generation context (CycloneDX metadata.lifecycles, available from 1.5)",
        )
    else:
        checks["generation_context"] = Check(
            ok=False, note="no generation context (creation info incomplete)"
        )
    if doc.serial and doc.serial.strip():
        checks["serial"] = Check(ok=True, value=doc.serial)
    else:
        what = "document namespace" if doc.format == "spdx" else "serial number"
        checks["serial"] = Check(ok=False, note=f"no {what}")
    return checks


# How a missing component element reads in the gap list: (verb phrase for one component, for several,
# positive form for "no component declares ...").
_COMPONENT_GAP_WORDS: dict[str, tuple[str, str, str]] = {
    "supplier": ("names no supplier or manufacturer", "name no supplier or manufacturer", "names a supplier"),
    "name": ("has no name", "have no name", "has a name"),
    "version": ("has no version", "have no version", "declares a version"),
    "identifier": (
        "has no unique identifier (purl or CPE)",
        "have no unique identifier (purl or CPE)",
        "declares a unique identifier (purl or CPE)",
    ),
    "dependencies": (
        "is not linked in the dependency graph",
        "are not linked in the dependency graph",
        "is linked in the dependency graph",
    ),
    "support_level": (
        "declares no level of support",
        "declare no level of support",
        "declares a level of support",
    ),
    "end_of_support": (
        "declares no end-of-support date",
        "declare no end-of-support date",
        "declares an end-of-support date",
    ),
    "hash": ("has no hash", "have no hash", "declares a hash"),
    "license": ("declares no licence", "declare no licence", "declares a licence"),
}

_DOCUMENT_GAP_WORDS: dict[str, str] = {
    "author": "the SBOM names no author",
    "timestamp": "the SBOM has no timestamp",
    "dependency_graph": "the SBOM declares no dependency relationships",
    "tool": "the SBOM names no tool that generated it",
    "generation_context": "the SBOM does not state its generation context",
    "serial": "the SBOM has no serial number or namespace",
}


def _component_gap(element_id: str, missing: int, total: int) -> str:
    one, several, positive = _COMPONENT_GAP_WORDS[element_id]
    if missing == total:
        return f"the only component {one}" if total == 1 else f"no component {positive}"
    return f"{missing} of {total} components {one if missing == 1 else several}"


def _n_of(n: int, total: int, one: str, several: str) -> str:
    if n == total:
        return f"the only component {one}" if total == 1 else f"all {total} components {several}"
    return f"{n} of {total} components {one if n == 1 else several}"


def _verbatim(counts: Counter[str]) -> str:
    return ", ".join(f'"{t}" x{k}' if k > 1 else f'"{t}"' for t, k in counts.most_common())


def _flag_gaps(components: list[ComponentQuality]) -> list[str]:
    """Qualified-but-met values, in plain words, with the declared texts verbatim."""
    total = len(components)
    out: list[str] = []

    def flagged(element: str, flag: str) -> Counter[str]:
        return Counter(c.checks[element].value or "" for c in components if c.checks[element].flag == flag)

    no_date = flagged("end_of_support", "no-date")
    if no_date:
        out.append(
            _n_of(sum(no_date.values()), total, "declares", "declare")
            + f" an end of support without a date ({_verbatim(no_date)})"
        )
    for element, what in (
        ("end_of_support", "end of support"),
        ("support_level", "level of support"),
        ("license", "licence"),
    ):
        unknown = flagged(element, "declared-unknown")
        if unknown:
            n = sum(unknown.values())
            out.append(
                _n_of(n, total, f"declares its {what}", f"declare their {what}")
                + f" as unknown ({_verbatim(unknown)})"
            )
    unrecognised = flagged("support_level", "unrecognised")
    if unrecognised:
        out.append(
            _n_of(sum(unrecognised.values()), total, "declares", "declare")
            + f" a level of support that is not one of FDA's levels ({_verbatim(unrecognised)})"
        )
    generic = sum(1 for c in components if c.checks["identifier"].flag == "generic-purl")
    if generic:
        out.append(
            _n_of(generic, total, "is", "are") + " identified only by a generic purl without a version"
        )
    top = sum(1 for c in components if c.checks["dependencies"].flag == "top-level-only")
    if top:
        out.append(
            _n_of(top, total, "is", "are")
            + " covered only by the declared top-level dependencies, not by relationships of their own"
        )
    return out


def assess_quality(sbom: Sbom) -> QualityReport:
    """Check every component and the document for the NTIA, FDA and CISA elements and score the SBOM."""
    graph = _Graph(sbom)
    components = [_component_quality(c, graph) for c in sbom.components]
    document = _document_checks(sbom, graph)
    total = len(components)

    elements: dict[str, ElementCoverage] = {}
    for e in ELEMENTS:
        weight = element_weight(e.id)
        if e.level == "component":
            met = sum(1 for c in components if c.checks[e.id].ok)
            n = total
            flagged: Counter[str] = Counter(f for c in components if (f := c.checks[e.id].flag))
        else:
            met, n = int(document[e.id].ok), 1
            doc_flag = document[e.id].flag
            flagged = Counter([doc_flag] if doc_flag else [])
        share = met / n if n else 0.0
        elements[e.id] = ElementCoverage(
            id=e.id,
            label=e.label,
            group=e.group,
            level=e.level,
            weight=round(weight, 4),
            met=met,
            total=n,
            coverage=round(100 * share, 1),
            points=round(weight * share, 2),
            flagged=dict(flagged),
        )

    groups: dict[str, float] = {}
    score = 0.0
    for group, gweight in GROUP_WEIGHTS.items():
        ids = [e.id for e in ELEMENTS if e.group == group]
        shares = [elements[i].met / elements[i].total if elements[i].total else 0.0 for i in ids]
        value = sum(shares) / len(shares)
        groups[group] = round(100 * value, 1)
        score += gweight * value

    # The outright gaps, biggest loss of points first; then the qualified values.
    losses: list[tuple[float, int, str]] = []
    for order, e in enumerate(ELEMENTS):
        cov = elements[e.id]
        lost = cov.weight - cov.weight * (cov.met / cov.total if cov.total else 0.0)
        if lost <= 0:
            continue
        if e.level == "document":
            text = _DOCUMENT_GAP_WORDS[e.id]
            note = document[e.id].note
            if e.id == "dependency_graph" and graph.entries:
                text = f"{text} (the graph lists {graph.entries} refs but no relationship between them)"
            elif e.id == "generation_context" and note:
                text = f"{text} ({note.removeprefix('no generation context (').rstrip(')')})"
        elif total == 0:
            continue
        else:
            text = _component_gap(e.id, cov.total - cov.met, cov.total)
        losses.append((-lost, order, text))
    gaps = [t for _, _, t in sorted(losses)]
    if total == 0:
        gaps.insert(0, "the SBOM lists no components")
    gaps.extend(_flag_gaps(components))
    if document["dependency_graph"].ok and document["dependency_graph"].note:
        gaps.append(document["dependency_graph"].note)

    return QualityReport(
        score=round(score, 1),
        groups=groups,
        component_count=total,
        elements=elements,
        document=document,
        components=components,
        gaps=gaps,
    )


# --- one file's check: validity plus quality, as `medcyber sbom check` reports it ------------------------
class ErrorEntry(BaseModel):
    path: str
    message: str


class FileCheck(BaseModel):
    """What checking one file gave. ``components`` and ``quality`` are None when no SBOM could be read
    (unreadable input, or an invalid document refused because it was not read leniently)."""

    file: str
    valid: bool
    readable: bool
    format: str | None = None
    spec_version: str | None = None
    encoding: str | None = None
    components: int | None = None
    errors: list[ErrorEntry] = Field(default_factory=list)
    warnings: list[ErrorEntry] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)
    quality: QualityReport | None = None

    @classmethod
    def unreadable(cls, file: str, message: str) -> FileCheck:
        return cls(file=file, valid=False, readable=False, errors=[ErrorEntry(path="", message=message)])


def check_read_result(result: ReadResult, *, file: str | None = None) -> FileCheck:
    """Validity, errors and (when an SBOM was read) the quality report of one read file."""
    sbom = result.sbom
    doc = sbom.document if sbom is not None else None
    return FileCheck(
        file=file if file is not None else result.source,
        valid=result.valid,
        readable=sbom is not None or bool(result.format),
        format=result.format or (doc.format if doc else None),
        spec_version=result.spec_version or (doc.spec_version if doc else None),
        encoding=result.encoding or (doc.encoding if doc else None),
        components=len(sbom.components) if sbom is not None else None,
        errors=[ErrorEntry(path=i.path, message=i.message) for i in result.errors],
        warnings=[ErrorEntry(path=i.path, message=i.message) for i in result.warnings],
        dropped=list(result.dropped),
        quality=assess_quality(sbom) if sbom is not None else None,
    )


def render_check_html(checks: list[FileCheck], *, title: str = "SBOM check") -> str:
    """A self-contained HTML report (inline CSS, no scripts, no external resources) of checked files."""
    import datetime as dt
    from importlib import resources

    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
    from markupsafe import Markup

    env = Environment(
        loader=PackageLoader("medcyber.sbom", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # our own stylesheet, shipped with the package: inlined as is (not escaped)
    css = Markup((resources.files("medcyber.sbom") / "templates" / "check.css").read_text(encoding="utf-8"))  # noqa: S704
    return env.get_template("check.html.j2").render(
        title=title,
        css=css,
        checks=checks,
        elements=ELEMENTS,
        component_elements=(
            "name",
            "version",
            *(e for e in COMPONENT_ELEMENTS if e not in ("name", "version")),
        ),
        element_by_id=ELEMENT_BY_ID,
        group_weights=GROUP_WEIGHTS,
        generated=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        invalid=sum(not fc.valid for fc in checks),
    )
