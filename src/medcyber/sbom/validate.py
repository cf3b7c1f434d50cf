"""Validation of SBOMs against the official schemas (shipped in ``schemas/``), plus the semantic rules the
schemas cannot express.

* CycloneDX JSON 1.2-1.7 and SPDX 2.2/2.3 JSON: ``jsonschema_rs`` (Rust, fast) with a retriever that
  serves the schemas' cross-file ``$ref`` (spdx, jsf-0.82, cryptography-defs) from the local folder; no
  network is ever used. Each error becomes an :class:`Issue` whose path is a JSON pointer.
* CycloneDX XML 1.0-1.7: ``lxml`` XMLSchema over the official XSDs (their ``spdx.xsd`` import resolved
  locally). Each error becomes an :class:`Issue` with the element path and line.
* Semantic rules (all versions): bom-refs unique, dependency graph refers only to known components or
  services, extension dependency-graph entries carry a ref, 1.7 version/versionRange rules.

Validators are built once per schema version and cached (building the 1.6 validator costs ~50 ms).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
from lxml import etree

from .model import Issue

SCHEMA_DIR = Path(__file__).parent / "schemas"
MAX_ERRORS = 200
_MAX_MESSAGE = 300

CDX_JSON_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
CDX_XML_VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
SPDX_JSON_VERSIONS = ("2.2", "2.3")


def _retrieve(uri: str) -> Any:
    """Serve a referenced schema from the shipped folder (never from the network)."""
    name = uri.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    path = SCHEMA_DIR / name
    if not name or not path.is_file():
        raise ValueError(f"schema {uri!r} is not available offline")
    return orjson.loads(path.read_bytes())


@cache
def _json_validator(filename: str) -> Any:
    schema = orjson.loads((SCHEMA_DIR / filename).read_bytes())
    return jsonschema_rs.validator_for(schema, retriever=_retrieve, validate_formats=True)


def cyclonedx_json_validator(version: str) -> Any:
    if version not in CDX_JSON_VERSIONS:
        raise KeyError(version)
    return _json_validator(f"bom-{version}.SNAPSHOT.schema.json")


def spdx_json_validator(version: str) -> Any:
    if version not in SPDX_JSON_VERSIONS:
        raise KeyError(version)
    return _json_validator(f"spdx-{version}.schema.json")


def pointer(parts: Iterable[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts) or "/"


def _short(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


def json_schema_issues(validator: Any, doc: Any) -> list[Issue]:
    """Schema errors of a parsed JSON document (is_valid first: one fast pass when it is valid)."""
    if validator.is_valid(doc):
        return []
    issues: list[Issue] = []
    for err in validator.iter_errors(doc):
        issues.append(Issue(pointer(err.instance_path), _short(err.message)))
        if len(issues) >= MAX_ERRORS:
            issues.append(Issue("/", f"more than {MAX_ERRORS} schema errors; the rest are not listed"))
            break
    return issues


class _LocalResolver(etree.Resolver):
    """Resolve schema imports to the shipped files; anything else resolves to nothing."""

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # noqa: ARG002
        name = (system_url or "").rsplit("/", 1)[-1]
        path = SCHEMA_DIR / name
        if name and path.is_file():
            return self.resolve_filename(str(path), context)
        return self.resolve_string("", context)


@cache
def cyclonedx_xsd(version: str) -> etree.XMLSchema:
    if version not in CDX_XML_VERSIONS:
        raise KeyError(version)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    parser.resolvers.add(_LocalResolver())
    doc = etree.parse(str(SCHEMA_DIR / f"bom-{version}.SNAPSHOT.xsd"), parser)
    return etree.XMLSchema(doc)


def xml_schema_issues(schema: etree.XMLSchema, root: etree._Element) -> list[Issue]:
    if schema.validate(root.getroottree()):
        return []
    issues: list[Issue] = []
    tree = root.getroottree()
    for entry in schema.error_log:
        path = _readable_path(tree, entry.path) if entry.path else "/"
        issues.append(Issue(f"{path} (line {entry.line})", _short(_plain_message(entry.message))))
        if len(issues) >= MAX_ERRORS:
            break
    return issues


def _readable_path(tree: Any, xpath: str) -> str:
    """Name the elements of libxml2's '/*/*[2]/*[1]': '/bom/components/component[2]'."""
    try:
        found = tree.xpath(xpath)
    except etree.XPathError:
        return xpath
    if not found or not isinstance(found[0], etree._Element):
        return xpath
    parts: list[str] = []
    el = found[0]
    while el is not None:
        name = etree.QName(el).localname
        parent = el.getparent()
        if parent is not None:
            same = [c for c in parent if isinstance(c.tag, str) and etree.QName(c).localname == name]
            if len(same) > 1:
                name += f"[{same.index(el) + 1}]"
        parts.append(name)
        el = parent
    return "/" + "/".join(reversed(parts))


def _plain_message(message: str) -> str:
    import re

    return re.sub(r"\{http://cyclonedx\.org/schema/bom/1\.\d\}", "", message)


# --- semantic rules ------------------------------------------------------------------------------------


def _where(node: dict[str, Any], path: str) -> str:
    line = node.get("_line")
    return f"{path} (line {line})" if line else path


def _walk_components(items: Any, path: str, out: list[tuple[str, dict[str, Any]]]) -> None:
    if not isinstance(items, list):
        return
    for i, comp in enumerate(items):
        if isinstance(comp, dict):
            here = f"{path}/{i}"
            out.append((here, comp))
            _walk_components(comp.get("components"), here + "/components", out)


def _walk_services(items: Any, path: str, out: list[tuple[str, dict[str, Any]]]) -> None:
    if not isinstance(items, list):
        return
    for i, svc in enumerate(items):
        if isinstance(svc, dict):
            here = f"{path}/{i}"
            out.append((here, svc))
            _walk_services(svc.get("services"), here + "/services", out)


def cyclonedx_semantic_issues(doc: dict[str, Any], spec_version: str) -> Iterator[Issue]:
    """Rules of the CycloneDX specification that its schemas do not (or cannot) enforce.

    Works on the JSON form and on the dict form the XML reader builds (which carries ``_line``).
    """
    elements: list[tuple[str, dict[str, Any]]] = []
    metadata = doc.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("component"), dict):
        elements.append(("/metadata/component", metadata["component"]))
        _walk_components(metadata["component"].get("components"), "/metadata/component/components", elements)
    _walk_components(doc.get("components"), "/components", elements)
    n_components = len(elements)
    _walk_services(doc.get("services"), "/services", elements)

    seen: dict[str, str] = {}
    for path, node in elements:
        ref = node.get("bom-ref")
        if isinstance(ref, str):
            if ref in seen:
                yield Issue(
                    _where(node, path + "/bom-ref"),
                    f"duplicate bom-ref {ref!r} (first used at {seen[ref]}); bom-refs must be unique",
                )
            else:
                seen[ref] = path
    if spec_version == "1.7":
        for path, node in elements[:n_components]:
            external = node.get("isExternal") in (True, "true", "1")
            if "versionRange" in node and not external:
                yield Issue(
                    _where(node, path + "/versionRange"),
                    "versionRange is only allowed on external components (isExternal=true)",
                )
            if "versionRange" in node and "version" in node:
                yield Issue(_where(node, path), "a component may have a version or a versionRange, not both")

    deps = doc.get("dependencies")
    if isinstance(deps, list):
        yield from _dependency_issues(deps, "/dependencies", seen)


def _dependency_issues(deps: list[Any], path: str, known: dict[str, str]) -> Iterator[Issue]:
    for i, dep in enumerate(deps):
        if not isinstance(dep, dict):
            continue
        here = f"{path}/{i}"
        ref = dep.get("ref")
        if not isinstance(ref, str) or not ref:
            yield Issue(_where(dep, here), "dependency without a ref")
        elif ref not in known:
            yield Issue(_where(dep, here + "/ref"), f"dependency ref {ref!r} names no component or service")
        for j, target in enumerate(dep.get("dependsOn") or ()):
            if isinstance(target, str) and target not in known:
                yield Issue(
                    _where(dep, f"{here}/dependsOn/{j}"),
                    f"dependsOn {target!r} names no component or service in this BOM",
                )
        nested = dep.get("_nested")
        if isinstance(nested, list):
            yield from _dependency_issues(nested, here + "/dependency", known)


def spdx_semantic_issues(doc: dict[str, Any]) -> Iterator[Issue]:
    """SPDX 2.x rules the JSON schema leaves out: unique SPDXIDs, relationships to known elements."""
    import re

    ids: dict[str, str] = {}
    id_pattern = re.compile(r"^SPDXRef-[A-Za-z0-9.\-]+$")
    top = doc.get("SPDXID")
    if isinstance(top, str):
        ids[top] = "/SPDXID"
        if top != "SPDXRef-DOCUMENT":
            yield Issue("/SPDXID", f"the document SPDXID must be 'SPDXRef-DOCUMENT', not {top!r}")
    for key in ("packages", "files", "snippets"):
        items = doc.get(key)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            sid = item.get("SPDXID")
            path = f"/{key}/{i}/SPDXID"
            if not isinstance(sid, str):
                continue
            if not id_pattern.match(sid):
                yield Issue(
                    path, f"SPDXID {sid!r} must look like 'SPDXRef-' followed by letters, digits, . or -"
                )
            if sid in ids:
                yield Issue(path, f"duplicate SPDXID {sid!r} (first used at {ids[sid]})")
            else:
                ids[sid] = path
    rels = doc.get("relationships")
    if isinstance(rels, list):
        for i, rel in enumerate(rels):
            if not isinstance(rel, dict):
                continue
            for field in ("spdxElementId", "relatedSpdxElement"):
                ref = rel.get(field)
                if (
                    isinstance(ref, str)
                    and ref not in ids
                    and ref not in ("NONE", "NOASSERTION")
                    and not ref.startswith("DocumentRef-")
                ):
                    yield Issue(f"/relationships/{i}/{field}", f"{ref!r} names no element of this document")
    described = doc.get("documentDescribes")
    if isinstance(described, list):
        for i, ref in enumerate(described):
            if isinstance(ref, str) and ref not in ids and not ref.startswith("DocumentRef-"):
                yield Issue(f"/documentDescribes/{i}", f"{ref!r} names no element of this document")
