"""The enriched FDA export: CycloneDX 1.4-1.6 and SPDX 2.2/2.3 JSON, valid against the official schemas
(checked by reading the produced bytes back with the validating reader) and round-tripping the components,
purls and support texts of real SBOMs."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medcyber.lifecycle.analysis import LifecycleReport, analyse
from medcyber.sbom.export import (
    LEVEL_WORDS,
    ExportError,
    spdx_expression,
    support_in_force,
    to_cyclonedx_json,
    to_spdx_json,
)
from medcyber.sbom.model import Component, DeclaredSupport, Sbom, SupportLevel
from medcyber.sbom.reader import read_sbom
from medcyber.sbom.support import declared_support
from sbom_store_cli import cli_app

AS_OF = dt.date(2026, 1, 1)
SPDX_ID = re.compile(r"^SPDXRef-[A-Za-z0-9.-]+$")


def read(path_or_bytes: Path | bytes) -> Sbom:
    result = read_sbom(path_or_bytes, name="export")
    assert result.valid, [str(e) for e in result.errors]
    assert result.sbom is not None
    return result.sbom


@pytest.fixture(scope="module")
def medical(shared_data: Path) -> Sbom:
    return read(shared_data / "sbom" / "medical-device-case-study" / "narrow.sbom.json")


@pytest.fixture(scope="module")
def keycloak(shared_data: Path) -> Sbom:
    return read(shared_data / "sbom" / "cyclonedx-examples" / "keycloak-10.0.2" / "bom.json")


@pytest.fixture(scope="module")
def keycloak_lc(keycloak: Sbom) -> LifecycleReport:
    return analyse(keycloak, as_of=AS_OF)


def props(node: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {p["name"]: p["value"] for p in node.get("properties", [])}


# --- validity ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["1.4", "1.5", "1.6"])
def test_cyclonedx_export_is_valid_in_every_offered_version(medical: Sbom, keycloak: Sbom, spec: str) -> None:
    for sbom in (medical, keycloak):
        for lc in (None, analyse(sbom, as_of=AS_OF)):
            out = read_sbom(to_cyclonedx_json(sbom, lc, spec=spec), name="export")
            assert out.valid, [str(e) for e in out.errors[:5]]
            assert (out.format, out.spec_version) == ("cyclonedx", spec)


@pytest.mark.parametrize("spec", ["2.2", "2.3"])
def test_spdx_export_is_valid_in_every_offered_version(medical: Sbom, keycloak: Sbom, spec: str) -> None:
    for sbom in (medical, keycloak):
        for lc in (None, analyse(sbom, as_of=AS_OF)):
            out = read_sbom(to_spdx_json(sbom, lc, spec=spec), name="export")
            assert out.valid, [str(e) for e in out.errors[:5]]
            assert (out.format, out.spec_version) == ("spdx", spec)


def test_unknown_spec_versions_are_refused(medical: Sbom) -> None:
    with pytest.raises(ExportError, match="CycloneDX 1.1 is not offered"):
        to_cyclonedx_json(medical, None, spec="1.1")
    with pytest.raises(ExportError, match="SPDX 3.0 is not offered"):
        to_spdx_json(medical, None, spec="3.0")


# --- the medical-device SBOM: declared values are exported verbatim -----------------------------------


def test_medical_device_cyclonedx_round_trip_keeps_the_authors_words(medical: Sbom) -> None:
    lc = analyse(medical, as_of=AS_OF)
    doc = json.loads(to_cyclonedx_json(medical, lc))
    assert doc["metadata"]["tools"]["components"][0]["name"] == "medcyber"
    assert doc["metadata"]["component"]["name"] == medical.primary_component.name  # type: ignore[union-attr]
    assert props(doc["metadata"]) == {"medcyber:support:as-of": "2026-01-01"}
    back = read(to_cyclonedx_json(medical, lc))
    assert len(back.components) == len(medical.components) == 55
    for old, new in zip(medical.components, back.components, strict=True):
        assert (new.ref, new.name, new.version, new.purl, new.cpes) == (
            old.ref,
            old.name,
            old.version,
            old.purl,
            old.cpes,
        )
        assert (new.type, new.supplier, new.manufacturer, new.licenses, new.hashes) == (
            old.type,
            old.supplier,
            old.manufacturer,
            old.licenses,
            old.hashes,
        )
        assert old.support is not None and new.support is not None
        assert new.support.level_text == old.support.level_text
        assert new.support.end_of_support_text == old.support.end_of_support_text
        assert dict(new.properties)["medcyber:support:source"] == "declared"
    statuses = {dict(c.properties)["medcyber:support:status"] for c in back.components}
    assert statuses == {"supported", "end-of-support", "unknown"}
    hardware = next(c for c in back.components if c.name == "Qualcomm Atheros QCA9563")
    assert dict(hardware.properties)["End-of-Support"] == "Until hardware support ends"


def test_medical_device_spdx_round_trip(medical: Sbom) -> None:
    lc = analyse(medical, as_of=AS_OF)
    data = to_spdx_json(medical, lc)
    doc = json.loads(data)
    ids = [p["SPDXID"] for p in doc["packages"]]
    assert len(ids) == len(set(ids)) == 56 and all(SPDX_ID.match(i) for i in ids)
    # every LicenseRef used is defined, with the licence name as written in the SBOM
    defined = {e["licenseId"]: e["name"] for e in doc["hasExtractedLicensingInfos"]}
    used = {
        t for p in doc["packages"] for t in re.findall(r"LicenseRef-[A-Za-z0-9.-]+", p["licenseDeclared"])
    }
    assert used == set(defined)
    assert "GPLv3/Commercial" in defined.values()
    back = read(data)
    assert len(back.components) == 55
    by_name = {c.name: c for c in back.components}
    for old in medical.components:
        new = by_name[old.name]
        assert (new.version or None, new.purl, new.cpes, new.supplier) == (
            old.version or None,
            old.purl,
            old.cpes,
            old.supplier,
        )
        assert new.support is not None and old.support is not None
        assert (new.support.level_text, new.support.end_of_support_text) == (
            old.support.level_text,
            old.support.end_of_support_text,
        )
        ids = {name: license_id for license_id, name in defined.items()}
        expected = [text if spdx_expression(text) else ids[text] for text in old.licenses]
        assert list(new.licenses) == ([" AND ".join(expected)] if expected else [])
    described = [r for r in doc["relationships"] if r["relationshipType"] == "DESCRIBES"]
    assert len(described) == 1


# --- keycloak: derived values fill what the SBOM lacks ------------------------------------------------------


def test_keycloak_export_carries_derived_end_of_support(keycloak: Sbom, keycloak_lc: LifecycleReport) -> None:
    derived = [c for c in keycloak_lc.components if c.source == "derived" and c.eol is not None]
    assert derived, "the catalogue should date some keycloak components"
    doc = json.loads(to_cyclonedx_json(keycloak, keycloak_lc))
    nodes = {c["bom-ref"]: c for c in doc["components"]}
    for lc in derived:
        p = props(nodes[lc.ref])
        assert p["End-of-Support"] == lc.eol.isoformat()  # type: ignore[union-attr]
        assert p["medcyber:support:source"] == f"derived: {lc.product} {lc.cycle} (endoflife.date)"
        assert p["medcyber:support:status"] == lc.support_status
    log4j = next(lc for lc in derived if lc.name == "log4j")
    assert props(nodes[log4j.ref])["Level of Support"] == "No longer maintained"
    unknown = next(c for c in keycloak_lc.components if c.source == "none")
    assert props(nodes[unknown.ref])["End-of-Support"] == "Unknown"
    assert props(nodes[unknown.ref])["medcyber:support:source"] == "none"
    # the round trip: components, purls, hashes, graph; support texts read back as declared values
    back = read(to_cyclonedx_json(keycloak, keycloak_lc))
    assert [(c.name, c.version, c.purl, c.hashes, c.licenses) for c in back.components] == [
        (c.name, c.version, c.purl, c.hashes, c.licenses) for c in keycloak.components
    ]
    assert back.dependencies == keycloak.dependencies
    assert back.primary_component is not None and back.primary_component.name == "keycloak-parent"
    back_by_ref = back.by_ref()
    for lc in derived:
        support = back_by_ref[lc.ref].support
        assert support is not None and support.end_of_support == lc.eol


def test_keycloak_spdx_export(keycloak: Sbom, keycloak_lc: LifecycleReport) -> None:
    doc = json.loads(to_spdx_json(keycloak, keycloak_lc))
    packages = {p["name"] + "@" + p.get("versionInfo", ""): p for p in doc["packages"]}
    log4j = next(c for c in keycloak_lc.components if c.name == "log4j" and c.source == "derived")
    pkg = packages[f"log4j@{log4j.version}"]
    assert pkg["validUntilDate"] == f"{log4j.eol}T00:00:00Z"
    comment = pkg["annotations"][0]["comment"]
    assert "Level of Support: No longer maintained" in comment
    assert f"End-of-Support: {log4j.eol}" in comment
    assert pkg["supplier"] == "NOASSERTION" or pkg["supplier"].startswith("Organization: ")
    refs = {(r["referenceCategory"], r["referenceType"]) for r in pkg["externalRefs"]}
    assert ("PACKAGE-MANAGER", "purl") in refs
    assert {c["algorithm"] for c in pkg["checksums"]} >= {"SHA1", "SHA256", "MD5"}
    edges = sum(len(set(t)) for t in keycloak.dependencies.values())
    depends = [r for r in doc["relationships"] if r["relationshipType"] == "DEPENDS_ON"]
    assert len(depends) == edges
    back = read(json.dumps(doc).encode())
    assert sorted((c.name, c.version, c.purl) for c in back.components) == sorted(
        (c.name, c.version, c.purl) for c in keycloak.components
    )
    by_purl = {c.purl: c for c in back.components}
    assert by_purl[log4j.purl].support.end_of_support == log4j.eol  # type: ignore[union-attr]


def test_spdx_document_exports_to_cyclonedx(tmp_path: Path) -> None:
    source = Path(__file__).parent / "data" / "spdx" / "infusion-pump-firmware-2.3.spdx.json"
    sbom = read(source)
    back = read(to_cyclonedx_json(sbom, analyse(sbom, as_of=AS_OF)))
    assert [(c.name, c.version, c.purl) for c in back.components] == [
        (c.name, c.version, c.purl) for c in sbom.components
    ]
    for old, new in zip(sbom.components, back.components, strict=True):
        if old.support is not None and old.support.end_of_support_text:
            assert new.support is not None and new.support.end_of_support == old.support.end_of_support


# --- the pure pieces -------------------------------------------------------------------------------------


def test_spdx_expression_normalises_or_refuses() -> None:
    assert spdx_expression("apache-2.0 or mit") == "Apache-2.0 OR MIT"
    assert spdx_expression("(MIT AND BSD-3-Clause)") == "(MIT AND BSD-3-Clause)"
    assert (
        spdx_expression("GPL-2.0-only WITH Classpath-exception-2.0")
        == "GPL-2.0-only WITH Classpath-exception-2.0"
    )
    assert spdx_expression("LicenseRef-Acme-1") == "LicenseRef-Acme-1"
    for bad in ("GPLv3/Commercial", "Apache 2.0", "MIT AND", "(MIT", "MIT)", "AND MIT", ""):
        assert spdx_expression(bad) is None, bad


def _component(support: DeclaredSupport | None) -> Component:
    return Component(ref="c1", name="openssl", version="1.0.2u", support=support)


def test_support_in_force_prefers_declared_words_but_not_a_bare_unknown(keycloak_lc: LifecycleReport) -> None:
    lc = next(c for c in keycloak_lc.components if c.source == "derived" and c.eol is not None)
    # nothing declared: derived values, labelled with product and cycle
    s = support_in_force(_component(None), lc)
    assert (s.eos_text, s.eos) == (lc.eol.isoformat(), lc.eol)  # type: ignore[union-attr]
    assert s.source == f"derived: {lc.product} {lc.cycle} (endoflife.date)"
    # declared "Unknown" says nothing: the derived date is published
    s = support_in_force(_component(declared_support("Unknown", "Unknown")), lc)
    assert lc.support_level is not None
    assert (s.eos, s.level_text) == (lc.eol, LEVEL_WORDS[lc.support_level])
    assert s.source == f"derived: {lc.product} {lc.cycle} (endoflife.date)"
    # a declared date or rule is the author's commitment: published verbatim
    s = support_in_force(
        _component(declared_support("Actively maintained", "Until hardware support ends")), lc
    )
    assert (s.level_text, s.eos_text, s.eos, s.source) == (
        "Actively maintained",
        "Until hardware support ends",
        None,
        "declared",
    )
    # mixed: declared level, derived end-of-support
    s = support_in_force(_component(declared_support("Actively maintained", None)), lc)
    assert s.level_text == "Actively maintained" and s.eos == lc.eol
    assert s.source.startswith("declared level of support; end-of-support derived: ")
    # no analysis at all: the declared words, else Unknown
    assert support_in_force(_component(None)).source == "none"
    assert support_in_force(_component(None)).level_text == "Unknown"
    declared = DeclaredSupport(level_text="Inactive", level=SupportLevel.NO_LONGER_MAINTAINED)
    assert support_in_force(_component(declared)).level_text == "Inactive"


# --- command line ----------------------------------------------------------------------------------------


def test_cli_export_writes_a_valid_enriched_sbom(store_url: str, shared_data: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    app = cli_app()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(
            app, list(args), env={"MEDCYBER_DATABASE_URL": store_url}, catch_exceptions=False
        )

    kc = shared_data / "sbom" / "cyclonedx-examples" / "keycloak-10.0.2" / "bom.json"
    r = run("sbom", "import", str(kc), "--product", "Keycloak", "--version", "10.0.2", "--org", "RH")
    assert r.exit_code == 0, r.output
    version = ("--product", "Keycloak", "--version", "10.0.2")
    out = tmp_path / "keycloak.cdx.json"
    r = run("sbom", "export", *version, "--format", "cyclonedx", "--out", str(out), "--as-of", "2026-01-01")
    assert r.exit_code == 0, r.output
    assert "with end-of-support analysis" in r.output
    exported = read(out.read_bytes())
    assert len(exported.components) == 903
    assert props(json.loads(out.read_bytes())["metadata"]) == {"medcyber:support:as-of": "2026-01-01"}
    spdx = tmp_path / "keycloak.spdx.json"
    r = run("sbom", "export", *version, "--format", "spdx", "--out", str(spdx))
    assert r.exit_code == 0, r.output
    assert len(read(spdx.read_bytes()).components) == 903
    r = run("sbom", "export", *version, "--format", "spdx", "--out", "-", "--no-lifecycle")
    assert r.exit_code == 0 and json.loads(r.stdout)["spdxVersion"] == "SPDX-2.3"
    r = run(
        "sbom", "export", "--product", "Keycloak", "--version", "9", "--format", "spdx", "--out", str(spdx)
    )
    assert r.exit_code == 1 and "has no version '9'" in r.output
    r = run("sbom", "export", *version, "--spec", "1.1", "--out", str(spdx))
    assert r.exit_code == 1 and "not offered" in r.output
