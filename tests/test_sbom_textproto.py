"""CycloneDX protobuf text format: the parser, the mapping to the JSON shape, reading via read_sbom."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from medcyber.sbom.model import ComponentType, SbomError
from medcyber.sbom.reader import Limits, read_sbom
from medcyber.sbom.textproto import (
    Ident,
    Message,
    TextFormatError,
    looks_like_textproto,
    parse,
    parse_bom,
    to_cyclonedx_json,
)

SPEC = Path("/work/shared/data/sbom/cyclonedx-spec-tests")
HEADER = "# proto-file: schema/bom-1.6.proto\n# proto-message: Bom\n\n"


def _values(msg: Message, name: str) -> list[object]:
    return [f.value for f in msg.fields if f.name == name]


# --- the parser ------------------------------------------------------------------------------------------


def test_scalars_nesting_repetition_and_comments() -> None:
    msg = parse(
        """
        # a comment
        name: "x"   # trailing comment
        count: 42; ratio: 0.5, flag: true
        hex: 0x1F oct: 017 neg: -3 big: 1e3 f: 2.5f
        nested { inner: 'single' deeper < leaf: LEAF_VALUE > }
        colon_nested: { a: 1 }
        rep: 1 rep: 2
        """
    )
    assert msg.get("name") == "x"
    assert msg.get("count") == 42 and msg.get("ratio") == 0.5
    assert msg.get("flag") == "true" and isinstance(msg.get("flag"), Ident)
    numbers = (msg.get("hex"), msg.get("oct"), msg.get("neg"), msg.get("big"), msg.get("f"))
    assert numbers == (31, 15, -3, 1000.0, 2.5)
    nested = msg.get("nested")
    assert isinstance(nested, Message) and nested.get("inner") == "single"
    assert nested.get("deeper").get("leaf") == Ident("LEAF_VALUE")
    assert msg.get("colon_nested").get("a") == 1
    assert _values(msg, "rep") == [1, 2]
    assert msg.get("rep") == 2  # singular reading: the last one wins
    assert [f.name for f in msg.fields][:2] == ["name", "count"]
    assert msg.fields[0].line == 3


def test_list_values_and_special_floats() -> None:
    msg = parse('nums: [1, 2, 3] msgs [{a: 1}, <a: 2>] empty: [] x: inf y: -inf z: nan strs: ["a", "b" "c"]')
    assert msg.get("nums") == [1, 2, 3]
    assert [m.get("a") for m in msg.get("msgs")] == [1, 2]
    assert msg.get("empty") == []
    assert msg.get("x") == math.inf and msg.get("y") == -math.inf and math.isnan(msg.get("z"))
    assert msg.get("strs") == ["a", "bc"]


def test_string_escapes_and_concatenation() -> None:
    msg = parse(
        r"""s: "tab\there" "\"quoted\" \\ \'" t: '\101\x42\u00e9' """
        r'''u: "\uD83E\uDD17 \U0001F600" v: "caf\303\251"'''
    )
    assert msg.get("s") == 'tab\there"quoted" \\ \''
    assert msg.get("t") == "ABé"
    assert msg.get("u") == "\U0001f917 \U0001f600"
    assert msg.get("v") == "café"  # octal escapes are UTF-8 bytes


def test_extension_and_any_field_names() -> None:
    msg = parse("[com.example.ext] { a: 1 } [type.googleapis.com/pkg.Msg] { b: 2 }")
    assert [f.name for f in msg.fields] == ["[com.example.ext]", "[type.googleapis.com/pkg.Msg]"]


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('a: 1\nname: "unterminated\n', 2, 7, "unexpected character"),
        ("a {\n  b: 1\n", 3, 1, "missing '}'"),
        ("a: 1\nb 2\n", 2, 3, "expected ':'"),
        ('a: "bad \\q escape"', 1, 4, "unknown escape"),
        ('a: "\\xff"', 1, 4, "not valid UTF-8"),
        ("a: 1\n}\n", 2, 1, "expected a field name"),
        ("a: 1 @", 1, 6, "unexpected character"),
        ("a: [1, 2", 1, 9, "',' or ']'"),
        ("a: -foo", 1, 5, "expected a number"),
        ('a: "\\uD83E alone"', 1, 4, "surrogate"),
        ("a < b: 1 }", 1, 10, "expected a field name"),
    ],
)
def test_syntax_errors_name_line_and_column(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(TextFormatError) as info:
        parse(text)
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    assert words in str(info.value)
    assert str(info.value).startswith(f"line {line}, column {column}: ")


def test_depth_limit() -> None:
    deep = "a { " * 10 + "x: 1" + " }" * 10
    assert parse(deep, max_depth=10).get("a") is not None
    with pytest.raises(TextFormatError, match="deeper than the limit of 9"):
        parse(deep, max_depth=9)
    hostile = "a { " * 100_000  # never recursed into: refused at the limit
    with pytest.raises(TextFormatError, match="deeper than the limit"):
        parse(hostile)


def test_detection_of_text_format() -> None:
    assert looks_like_textproto(HEADER + "components { name: 'x' }")
    assert looks_like_textproto('spec_version: "1.5"\n')
    assert not looks_like_textproto("hello: world\n")
    bom = parse_bom('# proto-file: schema/bom-1.7.proto\ncomponents { name: "x" }')
    assert bom.spec_version == "1.7" and bom.version_from_header


# --- the mapping -----------------------------------------------------------------------------------------


def _map(body: str, version: str = "1.6") -> dict[str, object]:
    doc, _notes = to_cyclonedx_json(parse(body), version)
    return doc


def test_mapping_names_enums_and_timestamps() -> None:
    doc = _map(
        """
        spec_version: "1.6" serial_number: "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79" version: 1
        metadata { timestamp { seconds: 1586809239 nanos: 120000000 }
                   lifecycles { phase: LIFECYCLE_PHASE_BUILD } }
        components {
          type: CLASSIFICATION_OPERATING_SYSTEM bom_ref: "os" name: "linux" scope: SCOPE_REQUIRED
          hashes { alg: HASH_ALG_SHA_256 value: "ab" } hashes { alg: HASH_ALG_BLAKE2B_256 value: "cd" }
          external_references { type: EXTERNAL_REFERENCE_TYPE_SECURITY_CONTACT url: "https://x.example" }
          licenses { license { id: "MIT" } }
          modified: false
        }
        services { bom_ref: "svc" name: "api" x_trust_boundary: true
                   data { flow: DATA_FLOW_BI_DIRECTIONAL value: "PII" } endpoints: "https://a" }
        """
    )
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.6"
    assert doc["serialNumber"].startswith("urn:uuid:")
    assert doc["metadata"] == {"timestamp": "2020-04-13T20:20:39.12Z", "lifecycles": [{"phase": "build"}]}
    comp = doc["components"][0]
    assert comp["type"] == "operating-system" and comp["bom-ref"] == "os" and comp["scope"] == "required"
    assert comp["hashes"] == [{"alg": "SHA-256", "content": "ab"}, {"alg": "BLAKE2b-256", "content": "cd"}]
    assert comp["externalReferences"] == [{"type": "security-contact", "url": "https://x.example"}]
    assert comp["licenses"] == [{"license": {"id": "MIT"}}] and comp["modified"] is False
    svc = doc["services"][0]
    assert svc["x-trust-boundary"] is True and svc["endpoints"] == ["https://a"]
    assert svc["data"] == [{"flow": "bi-directional", "classification": "PII"}]


def test_mapping_structural_differences() -> None:
    doc = _map(
        """
        spec_version: "1.6"
        metadata { tools { components { type: CLASSIFICATION_APPLICATION name: "syft" } } }
        components { bom_ref: "a" name: "a" licenses { expression: "MIT OR Apache-2.0" } }
        components { bom_ref: "b" name: "b" }
        dependencies { ref: "a" dependencies { ref: "b" } }
        dependencies { ref: "b" }
        """
    )
    assert doc["metadata"]["tools"] == {"components": [{"type": "application", "name": "syft"}]}
    assert doc["dependencies"] == [{"ref": "a", "dependsOn": ["b"]}, {"ref": "b"}]
    assert doc["components"][0]["licenses"] == [{"expression": "MIT OR Apache-2.0"}]
    legacy = _map('spec_version: "1.4" metadata { tools { vendor: "Acme" name: "gen" version: "1" } }', "1.4")
    assert legacy["metadata"]["tools"] == [{"vendor": "Acme", "name": "gen", "version": "1"}]


def test_mapping_wrappers_and_proto_defaults() -> None:
    doc = _map(
        """
        spec_version: "1.7"
        components { name: "c" pedigree { commits { uid: "1" url: "" } } }
        citations { bom_ref: "c1" pointers { pointer: "/components/0/name" } attributed_to: "c"
                    timestamp { seconds: 0 } }
        """,
        "1.7",
    )
    # The empty string is proto3's default: not given. Wrapped scalars are unwrapped.
    assert doc["components"][0]["pedigree"]["commits"] == [{"uid": "1"}]
    assert doc["citations"][0]["pointers"] == ["/components/0/name"]
    assert doc["citations"][0]["timestamp"] == "1970-01-01T00:00:00Z"


def test_unknown_fields_survive_for_the_schema_to_report() -> None:
    doc = _map('spec_version: "1.6" components { name: "x" no_such_field: 3 }')
    assert doc["components"][0]["noSuchField"] == 3


# --- reading ---------------------------------------------------------------------------------------------


def test_read_from_bytes_detects_content_and_normalises() -> None:
    text = HEADER + (
        'spec_version: "1.6"\nversion: 2\n'
        'metadata { component { bom_ref: "dev" type: CLASSIFICATION_DEVICE name: "pump" version: "3" } }\n'
        'components { bom_ref: "os" type: CLASSIFICATION_OPERATING_SYSTEM name: "linux" version: "5.10"\n'
        '  purl: "pkg:generic/linux@5.10"\n'
        '  properties { name: "Level of Support" value: "Actively maintained" } }\n'
        'dependencies { ref: "dev" dependencies { ref: "os" } }\n'
    )
    result = read_sbom(text.encode(), name="pump.bom")
    assert result.valid, [str(e) for e in result.errors]
    assert (result.format, result.encoding, result.spec_version) == ("cyclonedx", "protobuf-text", "1.6")
    sbom = result.sbom
    assert sbom is not None and sbom.document.encoding == "protobuf-text" and sbom.document.version == 2
    (os_comp,) = sbom.components
    assert os_comp.type is ComponentType.OPERATING_SYSTEM and os_comp.purl == "pkg:generic/linux@5.10"
    assert os_comp.support is not None and os_comp.support.level_text == "Actively maintained"
    assert sbom.primary_component is not None and sbom.primary_component.name == "pump"
    assert sbom.dependencies == {"dev": ("os",)}


def test_invalid_textproto_reports_mapped_json_pointer() -> None:
    result = read_sbom(SPEC / "1.6/invalid-license-missing-id-and-name-1.6.textproto")
    assert not result.valid and result.sbom is not None
    assert result.errors[0].path.startswith("(textproto mapped) /components/0/licenses")
    text = (
        HEADER
        + 'spec_version: "1.6"\n'
        + 'components { type: CLASSIFICATION_NOPE name: "x" hashes { alg: HASH_ALG_SHA_256 } }'
    )
    bad = read_sbom(text.encode())
    paths = {e.path for e in bad.errors}
    assert "(textproto mapped) /components/0/type" in paths
    assert "(textproto mapped) /components/0/hashes/0" in paths
    assert any("CLASSIFICATION_NOPE" in e.message for e in bad.errors)


def test_semantic_checks_apply_to_the_mapped_document() -> None:
    text = 'spec_version: "1.5"\ncomponents { bom_ref: "a" name: "a" }\ncomponents { bom_ref: "a" name: "b" }'
    result = read_sbom(text.encode())
    assert not result.valid
    assert any(
        e.path == "(textproto mapped) /components/1/bom-ref" and "duplicate" in e.message
        for e in result.errors
    )


def test_syntax_error_is_an_sbom_error_with_position() -> None:
    with pytest.raises(SbomError, match=r"textproto\): line 6, column 1: missing '}' .* opened at line 5"):
        read_sbom((HEADER + 'spec_version: "1.6"\ncomponents {\n').encode())


def test_depth_limit_through_the_reader() -> None:
    text = 'spec_version: "1.6"\n' + "components { type: CLASSIFICATION_LIBRARY name: 'x' " * 8 + "}" * 8
    assert read_sbom(text.encode()).valid
    with pytest.raises(SbomError, match="deeper than the limit of 5"):
        read_sbom(text.encode(), limits=Limits(max_depth=5))


def test_missing_or_unknown_spec_version_is_reported() -> None:
    no_version = read_sbom(b'# proto-message: Bom\ncomponents { name: "x" }')
    assert not no_version.valid and "no spec_version" in no_version.errors[0].message
    old = read_sbom(b'spec_version: "1.1"\ncomponents { name: "x" }')
    assert not old.valid and "1.1" in old.errors[0].message


def test_version_from_header_and_signature_limits_are_warnings() -> None:
    patent = read_sbom(SPEC / "1.7/valid-patent-1.7.textproto")
    assert patent.valid and patent.spec_version == "1.7"
    assert any("taken from the header" in w.message for w in patent.warnings)
    attestation = read_sbom(SPEC / "1.6/valid-attestation-1.6.textproto")
    assert attestation.valid
    assert [w.path for w in attestation.warnings if "JSF signature" in w.message] == [
        "(textproto mapped) /declarations/affirmation/signatories/0"
    ]


def test_missing_signature_does_not_excuse_other_faults() -> None:
    text = (
        'spec_version: "1.6"\n'
        'declarations { affirmation { statement: "s" signatories { name: "Tom" role: "CEO" } '
        'signatories { name: "Jerry" role: "COO" colour: "red" } } }'
    )
    result = read_sbom(text.encode())
    assert not result.valid
    assert {e.path for e in result.errors} == {"(textproto mapped) /declarations/affirmation/signatories/1"}
    assert [w.path for w in result.warnings] == ["(textproto mapped) /declarations/affirmation/signatories/0"]
