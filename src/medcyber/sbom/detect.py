"""Recognising an SBOM from its content (never its file name) and parsing it safely, once.

The bytes are checked for the obvious wrong types first (empty, binary, PDF, ZIP/office, gzip, UTF-16/32
text), then parsed exactly once: JSON with orjson, XML with an lxml parser that resolves no entities,
loads no DTD, touches no network and refuses any document that carries a DOCTYPE (the only way to declare
entities, so "billion laughs" and external-entity files are refused before anything is expanded). The
parsed object travels on to validation and normalisation, so nothing is parsed twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from lxml import etree

from . import textproto
from .model import Encoding, SbomError, SbomFormat

CDX_XML_NS = re.compile(r"^http://cyclonedx\.org/schema/bom/(1\.[0-9])$")
SPDX3_CONTEXT = re.compile(r"spdx\.org/rdf/3\.[0-9.]*/")

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"MZ", "a Windows executable"),
    (b"\xd0\xcf\x11\xe0", "a legacy Office document"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ", "an xz-compressed file"),
)

_NOT_STRUCTURAL = bytes(b for b in range(256) if b not in b'[]{}"')


@dataclass(slots=True)
class Detected:
    """A recognised document: its format, encoding, spec version and the parsed content."""

    format: SbomFormat
    encoding: Encoding
    spec_version: str
    content: Any  # dict for JSON, lxml root element for XML, str for tag-value, TextprotoBom for textproto
    problem: str | None = None  # recognisably meant as this format but unusable (reported as invalid)


def _not_sbom(source: str, why: str) -> SbomError:
    return SbomError(source, f"not an SBOM: {why}")


def check_bytes(data: bytes, source: str) -> None:
    """Refuse content that is plainly no SBOM text (before any parser sees it)."""
    if not data.strip():
        raise _not_sbom(source, "the file is empty")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise _not_sbom(source, f"the content is {what}")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) > 3 and (data[1] == 0 or data[0] == 0)):
        raise SbomError(
            source, "the text is UTF-16 or UTF-32 encoded; SBOMs must be UTF-8 (re-save the file as UTF-8)"
        )
    if b"\x00" in data[:4096]:
        raise _not_sbom(source, "the content is binary (it contains NUL bytes)")


def json_depth(data: bytes) -> int:
    """Maximum nesting depth of a JSON text, counted without building anything (C-speed passes only).

    Escaped backslashes and escaped quotes are removed first, then everything but quotes and brackets;
    brackets after an odd number of quotes are inside strings and do not count.
    """
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    structural = data.translate(None, _NOT_STRUCTURAL)
    if not structural:
        return 0
    arr = np.frombuffer(structural, dtype=np.uint8)
    quote = arr == ord('"')
    outside = (np.cumsum(quote, dtype=np.int64) & 1) == 0
    brackets = arr[outside & ~quote]
    if brackets.size == 0:
        return 0
    steps = np.where((brackets == ord("{")) | (brackets == ord("[")), 1, -1).astype(np.int32)
    return int(np.cumsum(steps).max())


def xml_parser() -> etree.XMLParser:
    """The one XML parser used for SBOMs: no entities, no DTD, no network, no huge trees."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=True,
    )


_PROLOG_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


def parse_xml(data: bytes, source: str, max_depth: int) -> etree._Element:
    # The DOCTYPE can only appear before the root element: look for it in the prolog.
    root_start = re.search(rb"<[A-Za-z_]", data)
    prolog = data[: root_start.start()] if root_start else data
    if _PROLOG_DOCTYPE.search(prolog):
        raise SbomError(
            source, "unsafe XML: the document declares a DOCTYPE/ENTITY; SBOMs never need one (refused)"
        )
    try:
        root = etree.fromstring(data, parser=xml_parser())
    except etree.XMLSyntaxError as exc:
        raise SbomError(source, f"not well-formed XML: {exc}") from None
    if root is None:
        raise _not_sbom(source, "the XML document is empty")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise SbomError(source, "unsafe XML: the document declares a DOCTYPE (refused)")
    # Any element deeper than max_depth? One XPath step per level, evaluated in C.
    if root.xpath("boolean(/*" + "/*" * max_depth + ")"):
        raise SbomError(source, f"the XML nesting is deeper than the limit of {max_depth} levels")
    return root


def parse_json(data: bytes, source: str, max_depth: int) -> Any:
    depth = json_depth(data)
    if depth > max_depth:
        raise SbomError(source, f"the JSON nesting is {depth} levels deep, beyond the limit of {max_depth}")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise SbomError(source, f"not valid JSON: {exc}") from None


def detect(data: bytes, source: str, *, max_depth: int) -> Detected:
    """Recognise and parse an SBOM; raise SbomError with a plain reason for anything else."""
    check_bytes(data, source)
    head = data.lstrip()[:1]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        head = data.lstrip()[:1]
    if head in (b"{", b"["):
        doc = parse_json(data, source, max_depth)
        return _detect_json(doc, source)
    if head == b"<":
        root = parse_xml(data, source, max_depth)
        return _detect_xml(root, source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _not_sbom(source, "the content is neither UTF-8 text nor JSON/XML") from None
    match = re.search(r"^\s*SPDXVersion:\s*SPDX-(\d+\.\d+)\s*$", text, re.MULTILINE)
    if match:
        return Detected("spdx", "tag-value", match.group(1), text)
    if textproto.looks_like_textproto(text):
        return _detect_textproto(text, source, max_depth)
    first = text.strip().splitlines()[0][:60] if text.strip() else ""
    raise _not_sbom(source, f"no CycloneDX or SPDX content recognised (starts with {first!r})")


def _detect_json(doc: Any, source: str) -> Detected:
    if not isinstance(doc, dict):
        raise _not_sbom(source, "the JSON document is not an object")
    # bomFormat other than "CycloneDX" next to a specVersion is a CycloneDX BOM that the schema rejects.
    if doc.get("bomFormat") == "CycloneDX" or (
        "specVersion" in doc and ("bomFormat" in doc or "cyclonedx" in str(doc.get("$schema", "")).lower())
    ):
        spec = doc.get("specVersion")
        if not isinstance(spec, str) or not re.fullmatch(r"1\.[0-9]", spec):
            raise _not_sbom(source, f"CycloneDX JSON with an unknown specVersion {spec!r}")
        if spec in ("1.0", "1.1"):
            raise SbomError(source, f"CycloneDX {spec} has no JSON encoding (JSON starts with 1.2)")
        return Detected("cyclonedx", "json", spec, doc)
    if isinstance(doc.get("spdxVersion"), str):
        match = re.fullmatch(r"SPDX-(\d+\.\d+)", doc["spdxVersion"].strip())
        if not match:
            raise _not_sbom(source, f"SPDX JSON with an unknown spdxVersion {doc['spdxVersion']!r}")
        return Detected("spdx", "json", match.group(1), doc)
    context = doc.get("@context")
    contexts = context if isinstance(context, list) else [context]
    for ctx in contexts:
        if isinstance(ctx, str):
            match = SPDX3_CONTEXT.search(ctx)
            if match:
                version = re.search(r"3\.[0-9.]*[0-9]", ctx)
                return Detected("spdx", "json-ld", version.group(0) if version else "3.0", doc)
    if "bomFormat" in doc:
        raise _not_sbom(source, f"bomFormat is {doc['bomFormat']!r}, not 'CycloneDX'")
    keys = ", ".join(list(doc)[:6])
    raise _not_sbom(
        source, f"a JSON object without bomFormat, spdxVersion or an SPDX 3 @context (keys: {keys})"
    )


_CDX_JSON_SCHEMA_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")


def _detect_textproto(text: str, source: str, max_depth: int) -> Detected:
    """CycloneDX protobuf text format (``# proto-message: Bom`` header or a ``spec_version`` field)."""
    try:
        bom = textproto.parse_bom(text, max_depth=max_depth)
    except textproto.TextFormatError as exc:
        raise SbomError(source, f"not well-formed protobuf text format (textproto): {exc}") from None
    version = bom.spec_version
    if version is None:
        problem = "the textproto Bom has no spec_version (and no '# proto-file: schema/bom-1.x.proto' header)"
        return Detected("cyclonedx", "protobuf-text", "", bom, problem)
    if version not in _CDX_JSON_SCHEMA_VERSIONS:
        problem = (
            f"CycloneDX spec_version {version!r} has no protobuf schema that can be checked (1.2-1.7 can)"
        )
        return Detected("cyclonedx", "protobuf-text", version, bom, problem)
    return Detected("cyclonedx", "protobuf-text", version, bom)


def _detect_xml(root: etree._Element, source: str) -> Detected:
    tag = root.tag if isinstance(root.tag, str) else ""
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    match = CDX_XML_NS.match(ns)
    if local == "bom" and match:
        return Detected("cyclonedx", "xml", match.group(1), root)
    if local == "bom" and "cyclonedx.org" in ns:
        problem = f"unknown CycloneDX namespace {ns!r} (expected http://cyclonedx.org/schema/bom/1.x)"
        return Detected("cyclonedx", "xml", "", root, problem)
    if "spdx" in ns.lower() or local.lower().startswith("spdx"):
        raise SbomError(source, "SPDX RDF/XML is not supported; use SPDX JSON or tag-value")
    raise _not_sbom(
        source, f"XML root element <{local}> in namespace {ns or '(none)'!r} is not a CycloneDX bom"
    )
