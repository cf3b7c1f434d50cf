"""The SBOM reader: real SBOMs, SPDX documents, hostile and wrong input, limits, lenient reading."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from medcyber.sbom.model import ComponentType, SbomError, SupportLevel
from medcyber.sbom.reader import Limits, iter_sbom_files, read_sbom

DATA = Path("/work/shared/data/sbom")
MEDICAL = DATA / "medical-device-case-study/narrow.sbom.json"
KEYCLOAK = DATA / "cyclonedx-examples/keycloak-10.0.2"
SPEC = DATA / "cyclonedx-spec-tests"
SPDX = Path(__file__).parent / "data/spdx"


# --- real SBOMs ------------------------------------------------------------------------------------------


def test_medical_device_sbom_keeps_support_texts_verbatim() -> None:
    result = read_sbom(MEDICAL)
    assert result.valid and result.format == "cyclonedx" and result.encoding == "json"
    sbom = result.sbom
    assert sbom is not None
    assert len(sbom.components) == 55
    raw = json.loads(MEDICAL.read_text())
    by_ref = sbom.by_ref()
    for comp in raw["components"]:
        props = {p["name"]: p["value"] for p in comp["properties"]}
        declared = by_ref[comp["bom-ref"]].support
        assert declared is not None
        assert declared.level_text == props["Level of Support"]
        assert declared.end_of_support_text == props["End-of-Support"]
    texts = {c.support.end_of_support_text for c in sbom.components if c.support}
    assert {"Until hardware support ends", "Open source", "Unknown"} <= texts
    levels = {c.support.level_text for c in sbom.components if c.support}
    assert {"Actively maintained", "Unknown", "Inactive"} <= levels
    qca = next(c for c in sbom.components if c.name == "Qualcomm Atheros QCA9563")
    assert qca.type is ComponentType.DEVICE
    assert qca.support is not None and qca.support.eos_rule == "until-hardware-support-ends"
    assert qca.support.level is SupportLevel.ACTIVELY_MAINTAINED
    assert qca.manufacturer == "Qualcomm"  # publisher, as the author wrote no supplier
    assert qca.cpes == ("cpe:2.3:h:qualcomm:atheros_qca9563:*:*:*:*:*:*:*:*",)
    assert sbom.primary_component is not None and sbom.primary_component.type is ComponentType.DEVICE
    assert sbom.document.timestamp == dt.datetime(2025, 7, 23, 20, 52, 41, 344402, tzinfo=dt.UTC)
    assert sbom.document.authors == ("REDACTED",)


@pytest.mark.parametrize("name", ["bom.json", "bom.xml"])
def test_keycloak(name: str) -> None:
    result = read_sbom(KEYCLOAK / name)
    assert result.valid, result.errors[:3]
    sbom = result.sbom
    assert sbom is not None
    raw = orjson.loads((KEYCLOAK / "bom.json").read_bytes())
    assert len(sbom.components) == len(raw["components"]) == 903
    purls = {c.purl for c in sbom.components}
    assert {c["purl"] for c in raw["components"]} == purls
    bc = next(
        c for c in sbom.components if c.purl == "pkg:maven/org.bouncycastle/bcprov-jdk15on@1.62?type=jar"
    )
    assert bc.group == "org.bouncycastle" and bc.version == "1.62"
    raw_bc = next(c for c in raw["components"] if c["purl"] == bc.purl)
    assert [(h["alg"], h["content"]) for h in raw_bc["hashes"]] == [(h.alg, h.value) for h in bc.hashes]
    assert [h.alg for h in bc.hashes][:3] == ["MD5", "SHA-1", "SHA-256"]
    assert sbom.document.primary == "pkg:maven/org.keycloak/keycloak-parent@10.0.2"
    edges = {(d["ref"], t) for d in raw["dependencies"] for t in d.get("dependsOn", [])}
    assert edges == {(a, b) for a, deps in sbom.dependencies.items() for b in deps}
    assert sbom.document.tools == ("CycloneDX CycloneDX Maven plugin 2.0.2",)


def test_cyclonedx_16_metadata_and_nested_components() -> None:
    sbom = read_sbom(SPEC / "1.6/valid-metadata-lifecycle-1.6.json").sbom
    assert sbom is not None and sbom.document.lifecycles
    tools = read_sbom(SPEC / "1.6/valid-metadata-tool-1.6.json").sbom
    assert tools is not None and tools.document.tools
    assembly = read_sbom(SPEC / "1.6/valid-assembly-1.6.json").sbom
    assert assembly is not None
    assert any(c.parent is not None for c in assembly.components)
    by_ref = assembly.by_ref()
    for comp in assembly.components:
        if comp.parent is not None:
            assert comp.parent in by_ref
    manufacturer = read_sbom(SPEC / "1.6/valid-metadata-manufacturer-1.6.json").sbom
    assert manufacturer is not None and manufacturer.document.supplier


def test_missing_bom_refs_are_generated_stably() -> None:
    first = read_sbom(SPEC / "1.0/valid-bom-1.0.xml").sbom
    again = read_sbom(SPEC / "1.0/valid-bom-1.0.xml").sbom
    assert first is not None and again is not None
    assert [c.ref for c in first.components] == [c.ref for c in again.components]
    assert all(c.ref.startswith("component-") for c in first.components)


def test_dependency_graph_extension() -> None:
    sbom = read_sbom(SPEC / "ext/valid-depgraph-1.0.xml").sbom
    assert sbom is not None
    assert sbom.dependencies["1"] == ("4",)
    assert sbom.dependencies["4"] == ("3",)
    invalid = read_sbom(SPEC / "ext/invalid-depgraph-1.0.xml")
    assert not invalid.valid and "without a ref" in invalid.errors[0].message


def test_xml_errors_name_element_and_line() -> None:
    result = read_sbom(SPEC / "1.6/invalid-hash-alg-1.6.xml")
    assert not result.valid
    assert result.errors[0].path.startswith("/bom/components/component/hashes/hash")
    assert "(line " in result.errors[0].path


def test_json_errors_are_pointers() -> None:
    result = read_sbom(SPEC / "1.5/invalid-hash-alg-1.5.json")
    assert [e.path for e in result.errors] == ["/components/0/hashes/0/alg"]


# --- SPDX -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["infusion-pump-firmware-2.3.spdx.json", "infusion-pump-firmware-2.3.spdx"])
def test_spdx_firmware(name: str) -> None:
    result = read_sbom(SPDX / name)
    assert result.valid, [str(e) for e in result.errors]
    assert result.format == "spdx" and result.spec_version == "2.3"
    assert result.encoding == ("json" if name.endswith(".json") else "tag-value")
    sbom = result.sbom
    assert sbom is not None
    assert sbom.primary_component is not None and sbom.primary_component.type is ComponentType.FIRMWARE
    assert sbom.document.primary == "SPDXRef-Package-firmware"
    assert sbom.document.tools == ("yocto-spdx-2.3",)
    assert sbom.document.authors == ("Example Medical Devices Inc.", "Jane Engineer")
    assert sbom.document.timestamp == dt.datetime(2024, 3, 18, 9, 30, tzinfo=dt.UTC)
    by_ref = sbom.by_ref()
    linux = by_ref["SPDXRef-Package-linux"]
    assert linux.type is ComponentType.OPERATING_SYSTEM
    assert linux.supplier == "The Linux Foundation" and linux.manufacturer == "Linus Torvalds"
    assert linux.cpes == ("cpe:2.3:o:linux:linux_kernel:5.10.180:*:*:*:*:*:*:*",)
    assert linux.support is not None and linux.support.end_of_support == dt.date(2026, 12, 31)
    assert linux.support.level_text == "Actively maintained"
    openssl = by_ref["SPDXRef-Package-openssl"]
    assert openssl.version == "1.0.2u" and openssl.purl == "pkg:generic/openssl@1.0.2u"
    assert [h.alg for h in openssl.hashes] == ["SHA-256", "SHA-1"]
    assert openssl.support is not None
    assert openssl.support.end_of_support == dt.date(2019, 12, 31)
    assert "spdx:validUntilDate" in (openssl.support.source or "")
    assert openssl.support.level is SupportLevel.NO_LONGER_MAINTAINED
    assert by_ref["SPDXRef-Package-zlib"].supplier == "Mark Adler"
    assert sbom.dependencies["SPDXRef-Package-firmware"] == (
        "SPDXRef-Package-linux",
        "SPDXRef-Package-openssl",
    )
    assert sbom.dependencies["SPDXRef-Package-openssl"] == ("SPDXRef-Package-zlib",)  # DEPENDENCY_OF reversed


def test_spdx_tag_value_and_json_agree() -> None:
    a = read_sbom(SPDX / "infusion-pump-firmware-2.3.spdx.json").sbom
    b = read_sbom(SPDX / "infusion-pump-firmware-2.3.spdx").sbom
    assert a is not None and b is not None
    assert a.components == b.components
    assert a.dependencies == b.dependencies


def test_spdx_22_document_describes_and_cpe22() -> None:
    result = read_sbom(SPDX / "openssl-2.2.spdx.json")
    assert result.valid and result.spec_version == "2.2"
    sbom = result.sbom
    assert sbom is not None and sbom.document.primary == "SPDXRef-Package-gateway"
    assert sbom.components[0].cpes == ("cpe:/a:openssl:openssl:1.0.2u",)
    assert sbom.direct_dependencies() == {"SPDXRef-Package-openssl"}


def test_spdx_tag_value_errors_have_lines_and_lenient_drops() -> None:
    result = read_sbom(SPDX / "invalid-broken.spdx")
    assert not result.valid
    messages = {str(e) for e in result.errors}
    assert "line 13: unknown or misplaced tag 'PackageColour'" in messages
    assert any(e.path.startswith("line 14") for e in result.errors)
    assert any(e.path.startswith("line 15") and "SPDXRef-Package-missing" in e.message for e in result.errors)
    assert result.sbom is not None and result.sbom.dependencies  # strict: graph as written
    lenient = read_sbom(SPDX / "invalid-broken.spdx", lenient=True)
    assert lenient.sbom is not None and not lenient.sbom.dependencies
    assert any("SPDXRef-Package-missing" in d for d in lenient.dropped)


def test_spdx_json_schema_error() -> None:
    doc = orjson.loads((SPDX / "openssl-2.2.spdx.json").read_bytes())
    del doc["dataLicense"]
    doc["packages"][1]["checksums"] = [{"algorithm": "SHA999", "checksumValue": "00"}]
    result = read_sbom(orjson.dumps(doc), name="broken.json")
    paths = {e.path for e in result.errors}
    assert "/" in paths or "" in paths or any("dataLicense" in e.message for e in result.errors)
    assert any(p.startswith("/packages/1/checksums/0") for p in paths)


def test_spdx3_json_ld() -> None:
    doc = {
        "@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
        "@graph": [
            {
                "type": "CreationInfo",
                "@id": "_:ci",
                "created": "2024-05-01T00:00:00Z",
                "createdBy": ["urn:a"],
                "specVersion": "3.0.1",
            },
            {"type": "Organization", "spdxId": "urn:a", "name": "Example Medical", "creationInfo": "_:ci"},
            {"type": "SpdxDocument", "spdxId": "urn:doc", "rootElement": ["urn:fw"], "creationInfo": "_:ci"},
            {
                "type": "software_Package",
                "spdxId": "urn:fw",
                "name": "pump-fw",
                "software_packageVersion": "1.0",
                "software_primaryPurpose": "firmware",
                "creationInfo": "_:ci",
            },
            {
                "type": "software_Package",
                "spdxId": "urn:ssl",
                "name": "openssl",
                "software_packageVersion": "3.0.13",
                "software_packageUrl": "pkg:generic/openssl@3.0.13",
                "suppliedBy": "urn:a",
                "creationInfo": "_:ci",
                "verifiedUsing": [{"type": "Hash", "algorithm": "sha256", "hashValue": "ab" * 32}],
            },
            {
                "type": "Relationship",
                "spdxId": "urn:r1",
                "from": "urn:fw",
                "relationshipType": "dependsOn",
                "to": ["urn:ssl"],
                "creationInfo": "_:ci",
            },
        ],
    }
    result = read_sbom(orjson.dumps(doc), name="spdx3.jsonld")
    assert result.format == "spdx" and result.encoding == "json-ld"
    assert result.warnings  # read without schema validation, and says so
    sbom = result.sbom
    assert sbom is not None and sbom.document.primary == "urn:fw"
    (ssl,) = sbom.components
    assert ssl.purl == "pkg:generic/openssl@3.0.13" and ssl.supplier == "Example Medical"
    assert ssl.hashes[0].alg == "SHA-256"
    assert sbom.dependencies == {"urn:fw": ("urn:ssl",)}
    assert sbom.document.authors == ("Example Medical",)


# --- detection from content, wrong and hostile input ----------------------------------------------------


def test_format_detected_from_content_not_name(tmp_path: Path) -> None:
    disguised = tmp_path / "report.xml"
    disguised.write_bytes((SPDX / "openssl-2.2.spdx.json").read_bytes())
    assert read_sbom(disguised).format == "spdx"
    other = tmp_path / "sbom.spdx.json"
    other.write_bytes((KEYCLOAK / "bom.xml").read_bytes())
    result = read_sbom(other)
    assert result.format == "cyclonedx" and result.encoding == "xml"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (b"PK\x03\x04\x14\x00\x00\x00", "ZIP"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"\x7fELF\x02\x01\x01", "ELF"),
        (b"\x00\x01\x02\x03binary\x00", "UTF-16|binary"),
        ('{"bomFormat": "CycloneDX", "specVersion": "1.6"}'.encode("utf-16"), "UTF-16"),
        ('{"bomFormat": "CycloneDX"}'.encode("utf-16-le"), "UTF-16"),
        (b'{"name": "package.json", "version": "1.0.0"}', "not an SBOM"),
        (b"[1, 2, 3]", "not an SBOM"),
        (b"{not json", "not valid JSON"),
        (b"<html><body>hi</body></html>", "not an SBOM"),
        (b"<bom xmlns='http://cyclonedx.org/schema/bom/1.6'><unclosed></bom>", "well-formed"),
        (b"hello world\n", "not an SBOM"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.1"}', "no JSON encoding"),
    ],
)
def test_wrong_types_are_refused_plainly(content: bytes, expected: str) -> None:
    with pytest.raises(SbomError, match=expected) as info:
        read_sbom(content, name="upload")
    assert str(info.value).startswith("upload: ")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.4" version="1">
  <components><component type="library"><name>&lol9;</name></component></components>
</bom>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE bom [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.4" version="1">
  <components><component type="library"><name>&secret;</name></component></components>
</bom>
"""


@pytest.mark.parametrize(
    "content", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"]
)
def test_xml_entities_refused_without_expansion(content: bytes) -> None:
    with pytest.raises(SbomError, match="DOCTYPE") as info:
        read_sbom(content, name="evil.xml")
    assert "root:" not in str(info.value) and "lollol" not in str(info.value)


def test_doctype_after_comment_is_still_refused() -> None:
    content = b'<?xml version="1.0"?><!-- hi --><!DOCTYPE bom SYSTEM "http://example.com/x.dtd"><bom/>'
    with pytest.raises(SbomError, match="DOCTYPE"):
        read_sbom(content)


def test_json_depth_limit() -> None:
    doc: dict[str, Any] = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}
    deep: dict[str, object] = {"x": 1}
    for _ in range(100):
        deep = {"n": [deep]}
    doc["metadata"] = {"properties": [{"name": "deep", "value": "x"}], "deep": deep}
    with pytest.raises(SbomError, match="nesting"):
        read_sbom(orjson.dumps(doc))
    # brackets inside strings do not count
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [{"type": "library", "name": "[[[[" * 100 + '\\"{{{{' * 50}],
    }
    assert read_sbom(orjson.dumps(doc)).valid


def test_xml_depth_limit() -> None:
    inner = b"<property name='a'>x</property>"
    nested = b"<components>" + b"<component type='library'><name>a</name><components>" * 40
    nested += b"</components></component>" * 40 + b"</components>"
    content = b"<bom xmlns='http://cyclonedx.org/schema/bom/1.4' version='1'>" + nested + b"</bom>"
    with pytest.raises(SbomError, match="deeper than the limit"):
        read_sbom(content)
    assert read_sbom(content, limits=Limits(max_depth=200)).valid
    del inner


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes((KEYCLOAK / "bom.json").read_bytes())
    with pytest.raises(SbomError, match="above the limit"):
        read_sbom(path, limits=Limits(max_bytes=1_000_000))
    with pytest.raises(SbomError, match="above the limit"):
        read_sbom(path.read_bytes(), limits=Limits(max_bytes=1_000_000))
    assert read_sbom(path, limits=Limits(max_bytes=3_000_000)).valid


def test_component_limit() -> None:
    with pytest.raises(SbomError, match="components, above the limit"):
        read_sbom(KEYCLOAK / "bom.json", limits=Limits(max_components=100))


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SbomError, match="cannot read"):
        read_sbom(tmp_path / "nope.json")
    with pytest.raises(SbomError, match="regular file"):
        read_sbom(tmp_path)


# --- lenient reading and the invalid-but-filled contract ----------------------------------------------


def test_invalid_document_still_filled_and_lenient_repairs() -> None:
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "components": [
            {"type": "library", "name": "a", "bom-ref": "a", "version": "1"},
            {"type": "library", "name": "b", "bom-ref": "a", "version": "2"},
            {"type": "library", "bom-ref": "c", "version": "3"},
            {
                "type": "library",
                "name": "d",
                "bom-ref": "d",
                "hashes": [{"alg": "SHA-256", "content": "nothex"}],
            },
        ],
        "dependencies": [{"ref": "a", "dependsOn": ["d", "ghost"]}],
    }
    data = orjson.dumps(doc)
    strict = read_sbom(data)
    assert not strict.valid
    messages = " ".join(str(e) for e in strict.errors)
    assert "duplicate bom-ref 'a'" in messages and "'ghost'" in messages
    assert "/components/2" in messages and "/components/3/hashes/0/content" in messages
    assert strict.sbom is not None
    assert [c.name for c in strict.sbom.components] == ["a", "b", "d"]
    assert strict.sbom.dependencies["a"] == ("d", "ghost")
    assert any("without a name" in d for d in strict.dropped)
    lenient = read_sbom(data, lenient=True)
    assert lenient.sbom is not None
    refs = [c.ref for c in lenient.sbom.components]
    assert len(set(refs)) == 3
    assert lenient.sbom.dependencies["a"] == ("d",)
    assert any("ghost" in d for d in lenient.dropped) and any("renamed" in d for d in lenient.dropped)


def test_validate_false_skips_checks() -> None:
    result = read_sbom(SPEC / "1.6/invalid-hash-alg-1.6.json", validate=False)
    assert result.valid and result.errors == [] and result.sbom is not None


def test_cpes_from_properties_and_manufacturer() -> None:
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [
            {
                "type": "operating-system",
                "name": "Windows 10 IoT Enterprise",
                "version": "1809",
                "manufacturer": {"name": "Microsoft"},
                "supplier": {"name": "Reseller GmbH"},
                "cpe": "cpe:2.3:o:microsoft:windows_10:1809:*:*:*:*:*:*:*",
                "properties": [
                    {"name": "cdx:cpe", "value": "cpe:2.3:o:microsoft:windows_10_iot:1809:*:*:*:*:*:*:*"},
                    {"name": "Level of Support", "value": "Actively maintained"},
                    {"name": "End-of-Support", "value": "2029-01-09"},
                ],
                "licenses": [{"expression": "LicenseRef-Microsoft-EULA"}],
            }
        ],
    }
    result = read_sbom(orjson.dumps(doc))
    assert result.valid, result.errors
    assert result.sbom is not None
    (comp,) = result.sbom.components
    assert comp.type is ComponentType.OPERATING_SYSTEM
    assert comp.manufacturer == "Microsoft" and comp.supplier == "Reseller GmbH"
    assert len(comp.cpes) == 2
    assert comp.licenses == ("LicenseRef-Microsoft-EULA",)
    assert comp.support is not None and comp.support.end_of_support == dt.date(2029, 1, 9)


def test_iter_sbom_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.json").write_text("{}")
    (tmp_path / "README.md").write_text("x")
    (tmp_path / "LICENSE").write_text("x")
    (tmp_path / ".hidden.json").write_text("{}")
    (tmp_path / "b.xml").write_text("<x/>")
    found = list(iter_sbom_files([tmp_path]))
    assert found == [tmp_path / "b.xml", tmp_path / "sub" / "a.json"]
    assert list(iter_sbom_files([tmp_path / "README.md"])) == [tmp_path / "README.md"]
