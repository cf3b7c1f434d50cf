"""The FDA / NTIA / CISA quality report on SBOMs built in the test, and on the real SBOMs once read."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from medcyber.sbom.model import Component, DocumentInfo, Hash, Sbom
from medcyber.sbom.quality import (
    COMPONENT_ELEMENTS,
    DOCUMENT_ELEMENTS,
    ELEMENTS,
    GROUP_WEIGHTS,
    assess_quality,
    element_weight,
    render_check_html,
)
from medcyber.sbom.support import declared_support

TS = dt.datetime(2025, 7, 23, 20, 52, tzinfo=dt.UTC)


def full_component(ref: str = "c1", **changes: object) -> Component:
    """A component that declares every element."""
    comp = Component(
        ref=ref,
        name=f"lib-{ref}",
        version="1.2.3",
        supplier="Acme Corp",
        purl=f"pkg:pypi/lib-{ref}@1.2.3",
        hashes=(Hash("SHA-256", "ab" * 32),),
        licenses=("Apache-2.0",),
        support=declared_support("Actively maintained", "2030-12-31", source="property"),
    )
    return dataclasses.replace(comp, **changes)  # type: ignore[arg-type]


def full_document(**changes: object) -> DocumentInfo:
    doc = DocumentInfo(
        format="cyclonedx",
        spec_version="1.6",
        encoding="json",
        serial="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        timestamp=TS,
        authors=("Jane Doe",),
        tools=("acme-sbom 2.0",),
        lifecycles=("build",),
        primary="device",
    )
    return dataclasses.replace(doc, **changes)  # type: ignore[arg-type]


def full_sbom(n: int = 3) -> Sbom:
    comps = [full_component(f"c{i}") for i in range(n)]
    deps = {"device": tuple(c.ref for c in comps)}
    return Sbom(document=full_document(), components=comps, dependencies=deps)


def test_a_complete_sbom_meets_every_element() -> None:
    report = assess_quality(full_sbom())
    assert report.score == 100.0
    assert report.groups == {"ntia": 100.0, "fda": 100.0, "cisa": 100.0}
    assert report.gaps == []
    assert all(e.coverage == 100.0 for e in report.elements.values())
    assert all(ch.ok for c in report.components for ch in c.checks.values())
    assert set(report.components[0].checks) == set(COMPONENT_ELEMENTS)
    assert set(report.document) == set(DOCUMENT_ELEMENTS)


def test_weights_add_up_to_100() -> None:
    assert sum(GROUP_WEIGHTS.values()) == 100
    assert sum(element_weight(e.id) for e in ELEMENTS) == pytest.approx(100)


# Each component element can fail: the change that removes it, and the words of the gap.
COMPONENT_FAILURES = {
    "supplier": ({"supplier": None}, "no supplier or manufacturer"),
    "name": ({"name": ""}, "name is empty"),
    "version": ({"version": None}, "no version"),
    "identifier": ({"purl": None}, "no purl or CPE"),
    "support_level": ({"support": declared_support(None, "2030-12-31")}, "no level of support declared"),
    "end_of_support": (
        {"support": declared_support("Actively maintained", None)},
        "no end-of-support date declared",
    ),
    "hash": ({"hashes": ()}, "no hash"),
    "license": ({"licenses": ()}, "no licence"),
}


@pytest.mark.parametrize("element", sorted(COMPONENT_FAILURES))
def test_each_component_element_can_fail_and_is_named(element: str) -> None:
    change, note = COMPONENT_FAILURES[element]
    sbom = full_sbom(4)
    sbom.components[1] = dataclasses.replace(sbom.components[1], **change)  # type: ignore[arg-type]
    report = assess_quality(sbom)
    check = report.components[1].checks[element]
    assert not check.ok
    assert check.note == note
    failing = [k for k, ch in report.components[1].checks.items() if not ch.ok]
    assert failing == [element]
    assert report.elements[element].met == 3
    assert report.elements[element].coverage == 75.0
    assert report.score == pytest.approx(100 - element_weight(element) / 4, abs=0.05)
    assert len(report.gaps) == 1 and report.gaps[0].startswith("1 of 4 components ")


def test_dependency_relationship_per_component() -> None:
    comps = [full_component("a"), full_component("b"), full_component("c"), full_component("d", parent="c")]
    # no graph at all: only the nested component is related (to its parent)
    sbom = Sbom(document=full_document(), components=comps, dependencies={})
    report = assess_quality(sbom)
    dep = {c.ref: c.checks["dependencies"] for c in report.components}
    assert [dep[r].ok for r in "abcd"] == [False, False, False, True]
    assert dep["a"].note == "not in the dependency graph"
    assert not report.document["dependency_graph"].ok
    assert "the SBOM declares no dependency relationships" in report.gaps
    assert "3 of 4 components are not linked in the dependency graph" in report.gaps

    # entries without relationships (as in the real medical-device SBOM) do not count
    sbom.dependencies = {"a": (), "b": (), "c": (), "device": ()}
    report = assess_quality(sbom)
    assert report.components[0].checks["dependencies"].note == (
        "listed in the dependency graph without any relationship"
    )
    assert any("lists 4 refs but no relationship" in g for g in report.gaps)

    # a -> b: both linked, c only as parent of d
    sbom.dependencies = {"a": ("b",)}
    report = assess_quality(sbom)
    dep = {c.ref: c.checks["dependencies"] for c in report.components}
    assert (dep["a"].ok, dep["b"].ok, dep["c"].ok) == (True, True, False)
    assert report.document["dependency_graph"].ok
    assert "the primary component's own (top-level) dependencies are not declared" in (
        report.document["dependency_graph"].note or ""
    )

    # the primary declares its top-level dependencies: every component is covered, the rest noted
    sbom.dependencies = {"device": ("a",)}
    report = assess_quality(sbom)
    dep = {c.ref: c.checks["dependencies"] for c in report.components}
    assert all(ch.ok for ch in dep.values())
    assert dep["b"].flag == "top-level-only"
    assert any("covered only by the declared top-level dependencies" in g for g in report.gaps)


@pytest.mark.parametrize(
    ("field", "value", "note"),
    [
        ("authors", (), "no author named"),
        ("timestamp", None, "no timestamp"),
        ("tools", (), "no tool named"),
        ("lifecycles", (), "no generation context (CycloneDX metadata.lifecycles, available from 1.5)"),
        ("serial", None, "no serial number"),
    ],
)
def test_each_document_element_can_fail(field: str, value: object, note: str) -> None:
    sbom = full_sbom()
    sbom.document = dataclasses.replace(sbom.document, **{field: value})  # type: ignore[arg-type]
    report = assess_quality(sbom)
    failing = [k for k, ch in report.document.items() if not ch.ok]
    assert len(failing) == 1
    assert report.document[failing[0]].note == note
    assert report.score == pytest.approx(100 - element_weight(failing[0]), abs=0.05)
    assert len(report.gaps) == 1 and report.gaps[0].startswith("the SBOM ")


def test_spdx_creation_info_is_the_generation_context() -> None:
    sbom = full_sbom()
    sbom.document = full_document(format="spdx", spec_version="2.3", lifecycles=(), serial=None)
    report = assess_quality(sbom)
    assert report.document["generation_context"].ok
    assert report.document["generation_context"].value == "SPDX creation info"
    assert report.document["serial"].note == "no document namespace"


def test_fda_support_values_are_kept_verbatim_and_qualified() -> None:
    comps = [
        full_component("a", support=declared_support("Actively maintained", "Until hardware support ends")),
        full_component("b", support=declared_support("Inactive", "Unknown")),
        full_component("c", support=declared_support("Unknown", "Open source")),
        full_component("d", support=declared_support("Best effort, ask us", "2027-06")),
        full_component("e", support=None),
    ]
    report = assess_quality(Sbom(document=full_document(), components=comps, dependencies={"device": ("a",)}))
    lvl = {c.ref: c.checks["support_level"] for c in report.components}
    eos = {c.ref: c.checks["end_of_support"] for c in report.components}
    assert [lvl[r].value for r in "abcd"] == [
        "Actively maintained",
        "Inactive",
        "Unknown",
        "Best effort, ask us",
    ]
    assert [eos[r].value for r in "abcd"] == [
        "Until hardware support ends",
        "Unknown",
        "Open source",
        "2027-06",
    ]
    assert all(lvl[r].ok and eos[r].ok for r in "abcd")
    assert not lvl["e"].ok and not eos["e"].ok
    assert (eos["a"].flag, eos["a"].note) == ("no-date", "no date: until hardware support ends")
    assert (eos["b"].flag, eos["b"].note) == ("declared-unknown", "declared as unknown")
    assert eos["c"].flag == "no-date"
    assert eos["d"].flag is None
    assert lvl["c"].flag == "declared-unknown"
    assert lvl["d"].flag == "unrecognised"
    assert report.elements["end_of_support"].coverage == 80.0
    assert report.elements["end_of_support"].flagged == {"no-date": 2, "declared-unknown": 1}
    gaps = report.gaps
    assert "1 of 5 components declares no end-of-support date" in gaps
    assert (
        '2 of 5 components declare an end of support without a date ("Until hardware support ends", '
        '"Open source")' in gaps
    )
    assert '1 of 5 components declares its end of support as unknown ("Unknown")' in gaps
    assert any('not one of FDA\'s levels ("Best effort, ask us")' in g for g in gaps)


def test_no_component_declaring_support_is_named() -> None:
    comps = [full_component(f"c{i}", support=None) for i in range(4)]
    report = assess_quality(
        Sbom(document=full_document(), components=comps, dependencies={"device": ("c0",)})
    )
    assert report.groups["fda"] == 0.0
    assert report.score == pytest.approx(75.0)
    assert report.gaps[:2] == [
        "no component declares a level of support",
        "no component declares an end-of-support date",
    ]


def test_placeholders_and_identifiers() -> None:
    comps = [
        full_component("a", supplier="NOASSERTION", manufacturer="Acme Devices"),
        full_component("b", supplier=None, manufacturer=None),
        full_component("c", version="NOASSERTION", licenses=("NOASSERTION",)),
        full_component("d", purl="pkg:generic/openssl"),
        full_component(
            "e", purl="pkg:generic/openssl", cpes=("cpe:2.3:a:openssl:openssl:1.0.2u:*:*:*:*:*:*:*",)
        ),
        full_component("f", purl=None, cpes=("cpe:/a:busybox:busybox:1.31.1",)),
    ]
    report = assess_quality(Sbom(document=full_document(), components=comps, dependencies={"device": ("a",)}))
    ch = {c.ref: c.checks for c in report.components}
    assert ch["a"]["supplier"].ok and ch["a"]["supplier"].value == "Acme Devices"
    assert not ch["b"]["supplier"].ok
    assert not ch["c"]["version"].ok and ch["c"]["version"].note == "version is a placeholder (NOASSERTION)"
    assert not ch["c"]["license"].ok and ch["c"]["license"].note == "licence is NOASSERTION"
    assert ch["d"]["identifier"].ok and ch["d"]["identifier"].flag == "generic-purl"
    assert ch["e"]["identifier"].flag is None  # the versioned CPE identifies it
    assert ch["f"]["identifier"].ok and ch["f"]["identifier"].value == "cpe:/a:busybox:busybox:1.31.1"
    assert "1 of 6 components is identified only by a generic purl without a version" in report.gaps


def test_a_licence_written_unknown_is_declared_unknown() -> None:
    comps = [full_component("a", licenses=("Unknown",)), full_component("b")]
    report = assess_quality(Sbom(document=full_document(), components=comps, dependencies={"device": ("a",)}))
    check = report.components[0].checks["license"]
    assert (check.ok, check.value, check.flag) == (True, "Unknown", "declared-unknown")
    assert '1 of 2 components declares its licence as unknown ("Unknown")' in report.gaps


def test_empty_sbom_scores_only_document_elements() -> None:
    report = assess_quality(Sbom(document=full_document(), components=[], dependencies={}))
    assert report.component_count == 0
    assert report.gaps[0] == "the SBOM lists no components"
    # only author, timestamp (NTIA, 2 of 8) and tool, generation context, serial (CISA, 3 of 5) are met
    assert report.score == pytest.approx(60 * 2 / 8 + 15 * 3 / 5)


# What each component element is, when added to a bare component.
ADDITIONS: dict[str, dict[str, object]] = {
    "supplier": {"supplier": "Acme Corp"},
    "version": {"version": "2.0"},
    "identifier": {"purl": "pkg:npm/left-pad@2.0"},
    "support_level": {"support": declared_support("Actively maintained", None)},
    "end_of_support": {"support": declared_support(None, "2030-01-01")},
    "hash": {"hashes": (Hash("SHA-1", "0" * 40),)},
    "license": {"licenses": ("MIT",)},
}
DOC_ADDITIONS: dict[str, dict[str, object]] = {
    "author": {"authors": ("Jane Doe",)},
    "timestamp": {"timestamp": TS},
    "tool": {"tools": ("acme-sbom",)},
    "generation_context": {"lifecycles": ("build",)},
    "serial": {"serial": "urn:uuid:0e1b8d6c-7a8c-4a36-9d2e-6d0b8a6c1f00"},
}


def bare_sbom() -> Sbom:
    doc = DocumentInfo(format="cyclonedx", spec_version="1.4", encoding="json")
    return Sbom(document=doc, components=[Component(ref=f"c{i}", name=f"c{i}") for i in range(3)])


@pytest.mark.parametrize("element", [*ADDITIONS, *DOC_ADDITIONS, "dependencies"])
def test_score_is_monotone_when_an_element_is_added(element: str) -> None:
    before = assess_quality(bare_sbom())
    sbom = bare_sbom()
    if element in ADDITIONS:
        sbom.components[0] = dataclasses.replace(sbom.components[0], **ADDITIONS[element])  # type: ignore[arg-type]
    elif element in DOC_ADDITIONS:
        sbom.document = dataclasses.replace(sbom.document, **DOC_ADDITIONS[element])  # type: ignore[arg-type]
    else:
        sbom.dependencies = {"c0": ("c1",)}
    after = assess_quality(sbom)
    assert after.score > before.score
    assert all(after.elements[k].met >= before.elements[k].met for k in before.elements)
    # and adding it to every component as well raises the score further (component elements)
    if element in ADDITIONS:
        sbom.components = [dataclasses.replace(c, **ADDITIONS[element]) for c in sbom.components]  # type: ignore[arg-type]
        assert assess_quality(sbom).score > after.score


def test_html_report_is_self_contained() -> None:
    from medcyber.sbom.model import ReadResult
    from medcyber.sbom.quality import FileCheck, check_read_result

    sbom = full_sbom(2)
    sbom.components[0] = dataclasses.replace(sbom.components[0], name="<script>alert(1)</script>")
    checks = [
        check_read_result(
            ReadResult(source="a.json", sbom=sbom, valid=True, format="cyclonedx"), file="a.json"
        ),
        FileCheck.unreadable("b.json", "not an SBOM: the file is a PNG image"),
    ]
    html = render_check_html(checks)
    assert html.startswith("<!DOCTYPE html>")
    assert "<script>" not in html and "&lt;script&gt;" in html
    for external in ("http://", "https://", "<link", "src=", "@import", "url("):
        assert external not in html
    assert "not an SBOM: the file is a PNG image" in html
    assert "100.0" in html


# --- the real SBOMs (need the reader) ------------------------------------------------------------------
def _read(path: Path) -> Sbom:
    reader = pytest.importorskip("medcyber.sbom.reader")
    result = reader.read_sbom(path)
    assert result.valid, result.errors[:5]
    assert result.sbom is not None
    return result.sbom


def test_real_medical_device_sbom(shared_data: Path) -> None:
    sbom = _read(shared_data / "sbom" / "medical-device-case-study" / "narrow.sbom.json")
    report = assess_quality(sbom)
    assert report.component_count == 55
    for element in ("support_level", "end_of_support"):
        assert report.elements[element].met == 55, element
    levels = {c.checks["support_level"].value for c in report.components}
    eos = {c.checks["end_of_support"].value for c in report.components}
    assert levels == {"Actively maintained", "Inactive", "Deprecated", "Unknown"}
    assert eos == {"Open source", "Unknown", "Until hardware support ends", "No longer supported"}
    assert report.elements["end_of_support"].flagged == {"no-date": 48, "declared-unknown": 7}
    qualcomm = next(c for c in report.components if c.name == "Qualcomm Atheros QCA9563")
    assert qualcomm.checks["end_of_support"].value == "Until hardware support ends"
    assert qualcomm.checks["end_of_support"].note == "no date: until hardware support ends"
    assert not qualcomm.checks["version"].ok  # its version is written as ""
    assert report.groups["fda"] == 100.0
    # no relationships, no hashes, no tool, no lifecycles: named gaps
    assert "no component is linked in the dependency graph" in report.gaps
    assert "no component declares a hash" in report.gaps
    assert "the SBOM names no tool that generated it" in report.gaps
    assert "1 of 55 components has no version" in report.gaps
    assert '4 of 55 components declare their licence as unknown ("Unknown" x4)' in report.gaps
    assert any(
        g.startswith("48 of 55 components declare an end of support without a date") for g in report.gaps
    )
    assert 0 < report.score < 100


def test_keycloak_has_no_support_data(shared_data: Path) -> None:
    files = sorted((shared_data / "sbom" / "cyclonedx-examples" / "keycloak-10.0.2").glob("*.json"))
    assert files
    report = assess_quality(_read(files[0]))
    assert report.component_count > 800
    assert report.groups["fda"] == 0.0
    assert "no component declares a level of support" in report.gaps
    assert "no component declares an end-of-support date" in report.gaps
    assert report.elements["hash"].coverage > 90
    # independently from the raw JSON: a component is related when it depends on something or is depended on
    raw = json.loads(files[0].read_bytes())
    related = {d["ref"] for d in raw["dependencies"] if d.get("dependsOn")}
    related |= {r for d in raw["dependencies"] for r in d.get("dependsOn", ())}
    expected = sum(1 for c in raw["components"] if c["bom-ref"] in related)
    assert report.elements["dependencies"].met == expected
    assert f"{903 - expected} of 903 components are not linked in the dependency graph" in report.gaps


# JSON/XML pairs of one SBOM (dropwizard's pair is left out: its XML omits one licence its JSON gives).
PAIRS = [
    ("keycloak-10.0.2", "bom"),
    ("juice-shop-v11.1.2", "bom"),
    ("cern-lhc-vdm-editor-e564943", "bom"),
    ("laravel-7.12.0", "bom.1.4"),
    ("proton-bridge", "proton-bridge-v1.8.0.bom"),
]


@pytest.mark.parametrize(("example", "stem"), PAIRS)
def test_json_and_xml_of_one_sbom_score_alike(shared_data: Path, example: str, stem: str) -> None:
    folder = shared_data / "sbom" / "cyclonedx-examples" / example
    from_json = assess_quality(_read(folder / f"{stem}.json"))
    from_xml = assess_quality(_read(folder / f"{stem}.xml"))
    assert from_json.component_count > 0
    assert from_json.score == from_xml.score
    assert from_json.gaps == from_xml.gaps
    assert {k: e.met for k, e in from_json.elements.items()} == {
        k: e.met for k, e in from_xml.elements.items()
    }
