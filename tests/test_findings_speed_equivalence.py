"""The fast ``build_findings`` / ``scan_sbom`` give exactly the findings of the straightforward way.

The reference below builds every finding the plain way, as the engine did before its findings were
optimised: severity recomputed from the advisories' vectors with ``severity_info`` for every finding,
KEV and EPSS looked up with ``kev_info`` / ``epss_info``, the nearest fix computed from scratch with the
matcher's ``_osv_fix`` / ``_cpe_fix`` (fixed versions parsed, every candidate probed against every matched
range), the summary taken from the members, the lifecycle from the full ``analyse`` report, each finding a
validated pydantic ``Finding``, the list sorted with the scan's documented order. Matching itself
(``match_components``) is shared: these tests are about what is built from the matches.

Two real cases: keycloak (903 Maven components) against PyPA + NVD + the benchmark's synthetic Maven
advisories (3,073 findings), and PyPI components sampled from the PyPA database plus CPE components built
from the real NVD records' criteria (affected, conditional "running on" findings, KEV, EPSS, mixed
purl + CPE evidence) and the medical-device case-study SBOM. Every finding is compared field by field;
each case is scanned cold (fresh index), warm (caches filled) and after a pickle round trip of the index.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import pickle
import random
import re
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from medcyber.lifecycle.analysis import analyse
from medcyber.lifecycle.catalog import Catalog
from medcyber.sbom.model import Component, DocumentInfo, Sbom
from medcyber.sbom.reader import read_sbom
from medcyber.vulns import matcher as m
from medcyber.vulns.findings import Finding, ScanResult, epss_info, kev_info, severity_info
from medcyber.vulns.model import Advisory, Affected, EpssScore, Event, KevEntry, Range
from medcyber.vulns.sources.epss import read_epss
from medcyber.vulns.sources.kev import read_kev
from medcyber.vulns.sources.nvd import read_nvd
from medcyber.vulns.sources.osv import read_osv

AS_OF = dt.date(2025, 6, 1)
ROOT = Path(__file__).resolve().parents[1]
EPSS_TEST = Path(__file__).parent / "data" / "epss" / "epss_scores-test.csv.gz"
ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "none": 4, "unknown": 5}


# ------------------------------------------------------------------------------------ the reference way


def reference_findings(
    index: m.VulnIndex, ms: m.MatchSet, lifecycle: Mapping[str, tuple[str | None, dt.date | None]]
) -> list[Finding]:
    findings: list[Finding] = []
    for cm in ms.matches:
        c = cm.component
        for group in list(dict.fromkeys([*cm.osv, *cm.cpe])):
            g = index.groups[group]
            osv_ev = cm.osv.get(group, [])
            cpe_ev = cm.cpe.get(group, [])
            unconditional = bool(osv_ev) or any(not e.hit.conditional for e in cpe_ev)
            if unconditional:
                cpe_used = [e for e in cpe_ev if not e.hit.conditional]
                conditions: list[str] = []
            else:
                cpe_used = cpe_ev
                conditions = list(dict.fromkeys(cond for e in cpe_ev for cond in e.hit.conditions))
            advisories = list(
                dict.fromkeys([index.advisories[e.affected.advisory].id for e in osv_ev])
                | dict.fromkeys(index.advisories[e.advisory].id for e in cpe_used)
            )
            matched = [e.text for e in osv_ev] + [
                e.hit.criterion.describe()
                + (f" [{index.advisories[e.advisory].id}]" if len(g.members) > 1 else "")
                for e in cpe_used
            ]
            fixed, nearest = m._osv_fix(cm, osv_ev) if osv_ev else m._cpe_fix(cpe_used)
            status, eol = lifecycle.get(c.ref, (None, None))
            sources = (["osv"] if osv_ev else []) + (["nvd"] if cpe_used else [])
            findings.append(
                Finding(
                    id=g.id,
                    aliases=list(g.aliases),
                    advisories=advisories,
                    summary=m._summary(index, g.members),
                    status="affected" if unconditional else "conditional",
                    conditions=conditions,
                    severity=severity_info(s for i in g.members for s in index.advisories[i].severities),
                    kev=kev_info(g.cves, index.kev),
                    epss=epss_info(g.cves, index.epss),
                    matched=list(dict.fromkeys(matched)),
                    fixed=fixed,
                    nearest_fix=nearest,
                    source=sources,
                    ref=c.ref,
                    name=c.name,
                    version=cm.version,
                    purl=c.purl,
                    cpe=cpe_used[0].hit.target.cpe.text if cpe_used else None,
                    ecosystem=cm.ecosystem if osv_ev else "CPE",
                    support_status=status,
                    eol=eol,
                )
            )
    return findings


def reference_scan(sbom: Sbom, index: m.VulnIndex) -> tuple[list[Finding], m.MatchSet]:
    comps = list(sbom.components)
    platforms: list[Component] = []
    pc = sbom.primary_component
    if pc is not None and all(c.ref != pc.ref for c in comps):
        (comps if (pc.purl or pc.cpes) else platforms).append(pc)
    ms = m.match_components(index, comps, platforms=platforms)
    report = analyse(sbom, as_of=AS_OF, catalog=Catalog.load())
    life = {r.ref: (r.support_status, r.eol) for r in report.components}
    findings = reference_findings(index, ms, life)
    findings.sort(
        key=lambda f: (
            f.status != "affected",
            not f.kev.in_kev,
            ORDER[f.severity.level],
            -(f.severity.score or 0.0),
            f.name.lower(),
            f.id,
        )
    )
    return findings, ms


def assert_same_findings(got: list[Finding], want: list[Finding]) -> None:
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        assert type(a) is Finding
        for name in Finding.model_fields:
            va, vb = getattr(a, name), getattr(b, name)
            assert va == vb, f"finding {i} ({b.ref}, {b.id}): field {name}: {va!r} != {vb!r}"
            assert type(va) is type(vb), f"finding {i} ({b.ref}, {b.id}): type of {name}"
        assert a == b
        assert a.model_dump(mode="json") == b.model_dump(mode="json")
        assert Finding.model_validate(a.model_dump()) == a  # a valid Finding, not only an equal one


def check_scan(sbom: Sbom, index: m.VulnIndex) -> ScanResult:
    want, ms = reference_scan(sbom, index)
    got = m.scan_sbom(sbom, index, as_of=AS_OF)
    assert_same_findings(got.findings, want)
    assert [n.model_dump() for n in got.not_evaluated] == [n.model_dump() for n in ms.not_evaluated]
    assert got.stats["findings"] == len(want)
    assert got.stats["kev"] == sum(f.kev.in_kev for f in want if f.status == "affected")
    return got


def check_cold_warm_pickled(sbom: Sbom, make_index: Any) -> ScanResult:
    index = make_index()
    first = check_scan(sbom, index)  # cold: nothing cached on the index yet
    again = check_scan(sbom, index)  # warm: everything cached per group and per affected entry
    assert again.model_dump() == first.model_dump()
    restored = pickle.loads(pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL))
    assert isinstance(restored, m.VulnIndex)
    after = check_scan(sbom, restored)
    assert after.model_dump() == first.model_dump()
    return first


# ----------------------------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def pypa(shared_data: Path) -> list[Advisory]:
    return [p.value for p in read_osv([shared_data / "osv" / "pypi" / "vulns"]) if p.value is not None]


@pytest.fixture(scope="module")
def nvd(shared_data: Path) -> list[Advisory]:
    return [p.value for p in read_nvd([shared_data / "nvd" / "cves"]) if p.value is not None]


@pytest.fixture(scope="module")
def kev(shared_data: Path) -> dict[str, KevEntry]:
    catalog = read_kev(shared_data / "kev" / "known_exploited_vulnerabilities.json")
    return {p.value.cve_id: p.value for p in catalog.entries if p.value is not None}


@pytest.fixture(scope="module")
def epss() -> dict[str, EpssScore]:
    return {p.value.cve_id: p.value for p in read_epss(EPSS_TEST).scores if p.value is not None}


def _bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_bench_scan", ROOT / "benchmarks" / "bench_scan.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _sbom(components: list[Component], primary: Component | None = None) -> Sbom:
    doc = DocumentInfo(
        format="cyclonedx", spec_version="1.5", encoding="json", primary=primary.ref if primary else None
    )
    return Sbom(document=doc, components=components, primary_component=primary)


def _pypi_sample(pypa: list[Advisory], n: int, seed: int) -> list[Component]:
    """PyPI components at versions the advisories name (bounds and listed versions), and neighbours."""
    rng = random.Random(seed)
    live = [a for a in pypa if a.withdrawn is None and a.affected]
    out: list[Component] = []
    while len(out) < n:
        aff = rng.choice(rng.choice(live).affected)
        candidates = list(aff.versions)
        for r in aff.ranges:
            if r.type != "GIT":
                candidates.extend(e.version for e in r.events if e.version != "0")
        if not candidates:
            continue
        v = rng.choice(candidates)
        out.append(Component(ref=f"py{len(out)}", name=aff.name, version=v, purl=f"pkg:pypi/{aff.name}@{v}"))
    return out


_FIELD_SEP = re.compile(r"(?<!\\):")


def _with_version(criteria: str, version: str) -> str:
    fields = _FIELD_SEP.split(criteria)
    fields[5] = version
    return ":".join(fields)


def _cpe_components(nvd: list[Advisory], *, platforms: bool) -> list[Component]:
    """Components carrying the NVD records' own CPEs, at versions on and around the ranges' bounds."""
    texts: list[str] = []
    for adv in nvd:
        for conf in adv.configurations:
            for node in conf.nodes:
                for cm in node.matches:
                    if not cm.vulnerable and not platforms:
                        continue
                    bounds = [
                        cm.version_start_including,
                        cm.version_start_excluding,
                        cm.version_end_including,
                        cm.version_end_excluding,
                    ]
                    version = _FIELD_SEP.split(cm.criteria)[5]
                    if version != "*":
                        texts.append(cm.criteria)
                    for b in bounds:
                        if b:
                            texts.append(_with_version(cm.criteria, b))
                    if version == "*" and not any(bounds):
                        texts.append(_with_version(cm.criteria, "1.0"))
    texts = list(dict.fromkeys(texts))
    return [Component(ref=f"cpe{i}", name=f"cpe-component-{i}", cpes=(t,)) for i, t in enumerate(texts)]


# ---------------------------------------------------------------------------------------------- tests


def test_keycloak_with_synthetic_maven_advisories(
    shared_data: Path, pypa: list[Advisory], nvd: list[Advisory], kev: dict[str, KevEntry]
) -> None:
    rr = read_sbom(shared_data / "sbom" / "cyclonedx-examples" / "keycloak-10.0.2" / "bom.json")
    assert rr.sbom is not None
    sbom = rr.sbom
    synthetic = _bench_module().synthetic_maven(sbom.components, 3000)
    advisories = pypa + nvd + synthetic
    result = check_cold_warm_pickled(sbom, lambda: m.VulnIndex(advisories, kev=kev))
    assert len(result.findings) > 3000  # the benchmark's case: 3,073 findings
    assert {f.support_status for f in result.findings} >= {"supported", "end-of-support"}
    assert any(f.nearest_fix for f in result.findings) and any(not f.nearest_fix for f in result.findings)
    assert any(len(f.advisories) > 1 for f in result.findings)  # merged aliases


def test_pypa_and_nvd(
    shared_data: Path,
    pypa: list[Advisory],
    nvd: list[Advisory],
    kev: dict[str, KevEntry],
    epss: dict[str, EpssScore],
) -> None:
    # an OSV record aliasing an NVD CVE: one vulnerability with purl and CPE evidence on one component
    bundled = Advisory(
        id="GHSA-test-bundled-openssl",
        source="osv",
        modified=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        aliases=("CVE-2023-0286",),
        summary="cryptography wheels bundle a vulnerable OpenSSL",
        affected=(
            Affected(
                "PyPI",
                "cryptography",
                ranges=(Range("ECOSYSTEM", (Event("introduced", "0"), Event("fixed", "39.0.1"))),),
            ),
        ),
    )
    advisories = [*pypa, *nvd, bundled]

    def make_index() -> m.VulnIndex:
        return m.VulnIndex(advisories, kev=kev, epss=epss)

    mixed = Component(
        ref="mixed",
        name="cryptography",
        version="39.0.0",
        purl="pkg:pypi/cryptography@39.0.0",
        cpes=("cpe:2.3:a:openssl:openssl:3.0.7:*:*:*:*:*:*:*",),
    )
    pypi = _pypi_sample(pypa, 150, seed=7)
    seen: dict[str, Any] = {}
    for with_platforms in (False, True):
        comps = [*pypi, *_cpe_components(nvd, platforms=with_platforms), mixed]
        primary = Component(ref="device", name="Infusion pump", cpes=())
        r = check_cold_warm_pickled(_sbom(comps, primary), make_index)
        seen[str(with_platforms)] = r
        assert {f.source[0] for f in r.findings} == {"osv", "nvd"}
    statuses = {f.status for r in seen.values() for f in r.findings}
    assert statuses == {"affected", "conditional"}
    every = [f for r in seen.values() for f in r.findings]
    assert any(f.kev.in_kev for f in every) and any(f.epss is not None for f in every)
    assert any(f.source == ["osv", "nvd"] and f.ref == "mixed" for f in every)
    assert any(f.nearest_fix for f in every if f.ecosystem == "CPE")
    case_study = read_sbom(shared_data / "sbom" / "medical-device-case-study" / "narrow.sbom.json").sbom
    assert case_study is not None
    check_cold_warm_pickled(case_study, make_index)
