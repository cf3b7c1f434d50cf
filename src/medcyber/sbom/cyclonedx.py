"""CycloneDX (JSON 1.2-1.7, XML 1.0-1.7) into the normalised model.

XML is first turned into the JSON shape (only the parts the model needs, each node tagged with its source
line as ``_line``), so one normaliser serves both encodings and the semantic checks see the same shape.
The 1.0 dependency-graph extension (``http://cyclonedx.org/schema/ext/dependency-graph/1.0``) is read as
ordinary dependencies; its nesting (a dependency listing its own dependencies) is kept as a graph.

Declared support comes from component properties through :func:`support.from_properties` (the FDA
medical-device practice: "Level of Support", "End-of-Support"). CycloneDX 1.7 defines no component-level
support or end-of-life field, so properties are the only place it can be declared.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from lxml import etree

from . import support
from .model import Component, ComponentType, DeclaredSupport, DocumentInfo, Encoding, Hash, Sbom

TYPE_MAP: dict[str, ComponentType] = {
    "application": ComponentType.APPLICATION,
    "framework": ComponentType.FRAMEWORK,
    "library": ComponentType.LIBRARY,
    "container": ComponentType.CONTAINER,
    "platform": ComponentType.PLATFORM,
    "operating-system": ComponentType.OPERATING_SYSTEM,
    "device": ComponentType.DEVICE,
    "device-driver": ComponentType.OTHER,
    "firmware": ComponentType.FIRMWARE,
    "file": ComponentType.FILE,
    "machine-learning-model": ComponentType.DATA,
    "data": ComponentType.DATA,
    "cryptographic-asset": ComponentType.OTHER,
}

_SHA = re.compile(r"^SHA-?(1|224|256|384|512)$")
_SHA3 = re.compile(r"^SHA3-?(224|256|384|512)$")


_ALG_CACHE: dict[str, str] = {}


def normalise_hash_alg(alg: str) -> str:
    """Upper case with the usual hyphen: 'sha256' -> 'SHA-256', 'sha3_256' -> 'SHA3-256'."""
    cached = _ALG_CACHE.get(alg)
    if cached is None:
        cached = _normalise_alg(alg)
        if len(_ALG_CACHE) < 256:  # a hostile file must not grow the cache without bound
            _ALG_CACHE[alg] = cached
    return cached


def _normalise_alg(alg: str) -> str:
    up = alg.strip().upper().replace("_", "-")
    m = _SHA.match(up)
    if m:
        return f"SHA-{m.group(1)}"
    m = _SHA3.match(up)
    if m:
        return f"SHA3-{m.group(1)}"
    return up


def parse_timestamp(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _entity_name(value: Any) -> str | None:
    """The name of an organizational entity or contact ({"name": ...}), or a plain string."""
    if isinstance(value, dict):
        return _text(value.get("name")) or _text(value.get("email"))
    return _text(value)


def _licenses(value: Any) -> tuple[str, ...]:
    out: list[str] = []
    if not isinstance(value, list):
        return ()
    for choice in value:
        if not isinstance(choice, dict):
            continue
        expression = _text(choice.get("expression"))
        if expression:
            out.append(expression)
            continue
        lic = choice.get("license")
        if isinstance(lic, dict):
            name = _text(lic.get("id")) or _text(lic.get("name"))
            if name:
                out.append(name)
    return tuple(out)


def _properties(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        return ()
    out = []
    for prop in value:
        if isinstance(prop, dict) and isinstance(prop.get("name"), str):
            val = prop.get("value")
            out.append((prop["name"], val if isinstance(val, str) else ""))
    return tuple(out)


def _tool_names(tools: Any) -> tuple[str, ...]:
    names: list[str] = []

    def add(item: Any, vendor_key: str) -> None:
        if not isinstance(item, dict):
            return
        vendor = item.get(vendor_key)
        vendor_name = _entity_name(vendor) if vendor_key != "vendor" else _text(vendor)
        parts = [vendor_name, _text(item.get("name")), _text(item.get("version"))]
        label = " ".join(p for p in parts if p)
        if label:
            names.append(label)

    if isinstance(tools, list):  # 1.2-1.4 (deprecated from 1.5)
        for tool in tools:
            add(tool, "vendor")
    elif isinstance(tools, dict):  # 1.5+
        for comp in tools.get("components") or ():
            add(comp, "group")
        for svc in tools.get("services") or ():
            add(svc, "provider")
    return tuple(names)


def _lifecycles(value: Any) -> tuple[str, ...]:
    out = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                label = _text(item.get("phase")) or _text(item.get("name"))
                if label:
                    out.append(label)
    return tuple(out)


_KEY_IS_SUPPORT: dict[str, bool] = {}
_SUPPORT_CACHE: dict[tuple[str, tuple[tuple[str, str], ...]], DeclaredSupport | None] = {}
_CACHE_MAX = 4096


def support_from_properties(
    props: tuple[tuple[str, str], ...], prefix: str = "property"
) -> DeclaredSupport | None:
    """:func:`support.from_properties`, memoised on the support-related properties only.

    Interpreting a date text costs ~0.1 ms (several strptime attempts); real SBOMs repeat the same few
    texts ("Actively maintained", "Unknown", a handful of dates) on thousands of components.
    """
    relevant = []
    for name, value in props:
        is_support = _KEY_IS_SUPPORT.get(name)
        if is_support is None:
            key = support.normalise_key(name.rsplit(":", 1)[-1])
            is_support = key in support.LEVEL_KEYS or key in support.EOS_KEYS
            if len(_KEY_IS_SUPPORT) < _CACHE_MAX:
                _KEY_IS_SUPPORT[name] = is_support
        if is_support:
            relevant.append((name, value))
    if not relevant:
        return None
    cache_key = (prefix, tuple(relevant))
    if cache_key in _SUPPORT_CACHE:
        return _SUPPORT_CACHE[cache_key]
    found = support.from_properties(relevant, prefix=prefix)
    if len(_SUPPORT_CACHE) < _CACHE_MAX:
        _SUPPORT_CACHE[cache_key] = found
    return found


class _Normaliser:
    def __init__(self, lenient: bool) -> None:
        self.lenient = lenient
        self.dropped: list[str] = []
        self.components: list[Component] = []
        self.used_refs: set[str] = set()
        self.index = 0

    def component(self, node: Any, path: str, parent: str | None) -> Component | None:
        if not isinstance(node, dict):
            self.dropped.append(f"{path}: not a component object")
            return None
        name = _text(node.get("name"))
        self.index += 1
        if name is None:
            self.dropped.append(f"{path}: component without a name")
            return None
        ref = node.get("bom-ref")
        if not isinstance(ref, str) or not ref:
            ref = f"component-{self.index}"
            while ref in self.used_refs:
                ref += "-x"
        elif ref in self.used_refs and self.lenient:
            new = f"{ref}#{self.index}"
            self.dropped.append(f"{path}: duplicate bom-ref {ref!r} renamed to {new!r}")
            ref = new
        self.used_refs.add(ref)
        props = _properties(node.get("properties"))
        cpes: list[str] = []
        cpe = _text(node.get("cpe"))
        if cpe:
            cpes.append(cpe)
        for key, value in props:
            if "cpe" in key.lower() and value.startswith("cpe:") and value not in cpes:
                cpes.append(value)
        hashes: list[Hash] = []
        for h in node.get("hashes") or ():
            if type(h) is dict:
                alg, content = h.get("alg"), h.get("content")
                if type(alg) is str and type(content) is str:
                    hashes.append(Hash(normalise_hash_alg(alg), content.strip()))
        raw_type = node.get("type")
        ctype = TYPE_MAP.get(raw_type, ComponentType.OTHER) if isinstance(raw_type, str) else None
        if ctype is None:
            ctype = ComponentType.LIBRARY
        authors = node.get("authors")
        manufacturer = (
            _entity_name(node.get("manufacturer"))
            or _text(node.get("author"))
            or (_entity_name(authors[0]) if isinstance(authors, list) and authors else None)
            or _text(node.get("publisher"))
        )
        comp = Component(
            ref=ref,
            name=name,
            version=_text(node.get("version")),
            type=ctype,
            supplier=_entity_name(node.get("supplier")),
            manufacturer=manufacturer,
            group=_text(node.get("group")),
            purl=_text(node.get("purl")),
            cpes=tuple(cpes),
            hashes=tuple(hashes),
            licenses=_licenses(node.get("licenses")),
            description=_text(node.get("description")),
            properties=props,
            support=support_from_properties(props) if props else None,
            parent=parent,
            scope=_text(node.get("scope")),
        )
        return comp

    def walk(self, items: Any, path: str, parent: str | None) -> None:
        if not isinstance(items, list):
            return
        for i, node in enumerate(items):
            here = f"{path}/{i}"
            comp = self.component(node, here, parent)
            if comp is not None:
                self.components.append(comp)
                self.walk(node.get("components"), here + "/components", comp.ref)


def normalise(
    doc: dict[str, Any], spec_version: str, encoding: Encoding, *, lenient: bool
) -> tuple[Sbom, list[str]]:
    """The normalised SBOM and the list of what was left out (with the reason)."""
    norm = _Normaliser(lenient)
    metadata: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
    primary: Component | None = None
    meta_comp = metadata.get("component")
    if isinstance(meta_comp, dict):
        primary = norm.component(meta_comp, "/metadata/component", None)
        if primary is not None and not isinstance(meta_comp.get("bom-ref"), str):
            norm.used_refs.discard(primary.ref)
            primary.ref = "metadata-component"
            norm.used_refs.add(primary.ref)
        if primary is not None:
            norm.walk(meta_comp.get("components"), "/metadata/component/components", primary.ref)
    norm.walk(doc.get("components"), "/components", None)

    known = {c.ref for c in norm.components}
    if primary is not None:
        known.add(primary.ref)
    for svc in _iter_services(doc.get("services")):
        if isinstance(svc.get("bom-ref"), str):
            known.add(svc["bom-ref"])
    dependencies: dict[str, tuple[str, ...]] = {}
    _read_dependencies(doc.get("dependencies"), "/dependencies", dependencies, known, norm, lenient)

    authors = tuple(a for a in (_entity_name(x) for x in metadata.get("authors") or ()) if a)
    if not authors and _text(metadata.get("author")):
        authors = (metadata["author"].strip(),)
    raw_ts = metadata.get("timestamp")
    timestamp = parse_timestamp(raw_ts)
    if raw_ts is not None and timestamp is None:
        norm.dropped.append(f"/metadata/timestamp: {raw_ts!r} is not a date-time")
    version = doc.get("version")
    info = DocumentInfo(
        format="cyclonedx",
        spec_version=spec_version,
        encoding=encoding,
        serial=_text(doc.get("serialNumber")),
        version=version if isinstance(version, int) and not isinstance(version, bool) else None,
        name=primary.name if primary is not None else None,
        timestamp=timestamp,
        authors=authors,
        tools=_tool_names(metadata.get("tools")),
        supplier=_entity_name(metadata.get("supplier"))
        or _entity_name(metadata.get("manufacturer"))
        or _entity_name(metadata.get("manufacture")),
        lifecycles=_lifecycles(metadata.get("lifecycles")),
        primary=primary.ref if primary is not None else None,
    )
    sbom = Sbom(
        document=info, components=norm.components, dependencies=dependencies, primary_component=primary
    )
    return sbom, norm.dropped


def _iter_services(items: Any) -> Any:
    if isinstance(items, list):
        for svc in items:
            if isinstance(svc, dict):
                yield svc
                yield from _iter_services(svc.get("services"))


def _read_dependencies(
    deps: Any,
    path: str,
    out: dict[str, tuple[str, ...]],
    known: set[str],
    norm: _Normaliser,
    lenient: bool,
) -> None:
    if not isinstance(deps, list):
        return
    for i, dep in enumerate(deps):
        here = f"{path}/{i}"
        if not isinstance(dep, dict):
            continue
        ref = dep.get("ref")
        nested = dep.get("_nested")
        if isinstance(nested, list):  # dependency-graph extension: children are dependencies too
            _read_dependencies(nested, here + "/dependency", out, known, norm, lenient)
        if not isinstance(ref, str) or not ref:
            norm.dropped.append(f"{here}: dependency without a ref")
            continue
        if lenient and ref not in known:
            norm.dropped.append(f"{here}: dependency of unknown component {ref!r}")
            continue
        targets: list[str] = []
        for target in dep.get("dependsOn") or ():
            if not isinstance(target, str):
                continue
            if lenient and target not in known:
                norm.dropped.append(f"{here}: dependsOn unknown component {target!r}")
                continue
            targets.append(target)
        previous = out.get(ref, ())
        merged = previous + tuple(t for t in targets if t not in previous)
        out[ref] = tuple(dict.fromkeys(merged))


# --- XML into the JSON shape ---------------------------------------------------------------------------


def _local(el: Any) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def _children(el: Any, name: str) -> list[Any]:
    return [c for c in el if _local(c) == name]


def _child(el: Any, name: str) -> Any:
    for c in el:
        if _local(c) == name:
            return c
    return None


def _child_text(el: Any, name: str) -> str | None:
    c = _child(el, name)
    return c.text if c is not None and c.text is not None else None


def _xml_entity(el: Any) -> dict[str, Any] | None:
    if el is None:
        return None
    out: dict[str, Any] = {}
    name = _child_text(el, "name")
    if name is not None:
        out["name"] = name
    email = _child_text(el, "email")
    if email is not None:
        out["email"] = email
    return out


_SIMPLE = (
    "name",
    "version",
    "group",
    "description",
    "scope",
    "purl",
    "cpe",
    "author",
    "publisher",
    "versionRange",
)


def _xml_component(el: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"_line": el.sourceline}
    for attr in ("type", "bom-ref", "isExternal"):
        value = el.get(attr)
        if value is not None:
            node[attr] = value
    for child in el:
        name = _local(child)
        if name in _SIMPLE:
            node[name] = child.text or ""
        elif name in ("supplier", "manufacturer"):
            node[name] = _xml_entity(child)
        elif name == "authors":
            node["authors"] = [_xml_entity(a) for a in _children(child, "author")]
        elif name == "hashes":
            node["hashes"] = [
                {"alg": h.get("alg"), "content": (h.text or "")} for h in _children(child, "hash")
            ]
        elif name == "licenses":
            node["licenses"] = _xml_licenses(child)
        elif name == "properties":
            node["properties"] = [
                {"name": p.get("name"), "value": p.text or ""} for p in _children(child, "property")
            ]
        elif name == "components":
            node["components"] = [_xml_component(c) for c in _children(child, "component")]
    return node


def _xml_licenses(el: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for child in el:
        name = _local(child)
        if name == "expression":
            out.append({"expression": child.text or ""})
        elif name == "license":
            lic: dict[str, Any] = {}
            for key in ("id", "name"):
                text = _child_text(child, key)
                if text is not None:
                    lic[key] = text
            out.append({"license": lic})
    return out


def _xml_dependency(el: Any, ext: bool) -> dict[str, Any]:
    dep: dict[str, Any] = {"_line": el.sourceline}
    ref = el.get("ref")
    if ref is not None:
        dep["ref"] = ref
    children = _children(el, "dependency")
    dep["dependsOn"] = [c.get("ref") for c in children if c.get("ref") is not None]
    if ext:
        dep["_nested"] = [_xml_dependency(c, True) for c in children if len(c) or c.get("ref") is None]
    return dep


def xml_to_doc(root: etree._Element) -> dict[str, Any]:
    """The parts of a CycloneDX XML BOM the model needs, in the JSON shape."""
    doc: dict[str, Any] = {}
    serial = root.get("serialNumber")
    if serial is not None:
        doc["serialNumber"] = serial
    version = root.get("version")
    if version is not None and version.strip().isdigit():
        doc["version"] = int(version)
    for child in root:
        name = _local(child)
        ns = child.tag.partition("}")[0] if isinstance(child.tag, str) else ""
        if name == "metadata":
            doc["metadata"] = _xml_metadata(child)
        elif name == "components":
            doc["components"] = [_xml_component(c) for c in _children(child, "component")]
        elif name == "services":
            doc["services"] = _xml_services(child)
        elif name == "dependencies":
            ext = "dependency-graph" in ns
            deps = [_xml_dependency(d, ext) for d in _children(child, "dependency")]
            doc.setdefault("dependencies", []).extend(deps)
    return doc


def _xml_services(el: Any) -> list[dict[str, Any]]:
    out = []
    for svc in _children(el, "service"):
        node: dict[str, Any] = {"_line": svc.sourceline}
        if svc.get("bom-ref") is not None:
            node["bom-ref"] = svc.get("bom-ref")
        nested = _child(svc, "services")
        if nested is not None:
            node["services"] = _xml_services(nested)
        out.append(node)
    return out


def _xml_metadata(el: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for child in el:
        name = _local(child)
        if name == "timestamp":
            meta["timestamp"] = (child.text or "").strip()
        elif name == "authors":
            meta["authors"] = [_xml_entity(a) for a in _children(child, "author")]
        elif name in ("supplier", "manufacture", "manufacturer"):
            meta[name] = _xml_entity(child)
        elif name == "component":
            meta["component"] = _xml_component(child)
        elif name == "lifecycles":
            meta["lifecycles"] = [
                {
                    k: v
                    for k, v in (("phase", _child_text(lc, "phase")), ("name", _child_text(lc, "name")))
                    if v
                }
                for lc in _children(child, "lifecycle")
            ]
        elif name == "tools":
            tools = _children(child, "tool")
            if tools:
                meta["tools"] = [
                    {k: _child_text(t, k) for k in ("vendor", "name", "version") if _child_text(t, k)}
                    for t in tools
                ]
            else:
                comps = _child(child, "components")
                svcs = _child(child, "services")
                meta["tools"] = {
                    "components": [_xml_component(c) for c in _children(comps, "component")]
                    if comps is not None
                    else [],
                    "services": [
                        {k: _child_text(s, k) for k in ("name", "version") if _child_text(s, k)}
                        for s in _children(svcs, "service")
                    ]
                    if svcs is not None
                    else [],
                }
    return meta
