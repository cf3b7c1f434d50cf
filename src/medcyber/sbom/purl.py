"""Package URLs: one lenient, fast parser shared by matching, lifecycle analysis and diff.

Real SBOMs carry purls that strict parsers reject (missing namespaces, odd escaping), and a 50,000-
component SBOM must be keyed quickly, so this splits a purl by the spec's grammar and normalises the
parts per ecosystem where the ecosystem says names are equivalent (PyPI case and ``-``/``_``/``.``, npm
scopes, Docker's implicit ``library`` namespace). Everything is lower-cased for comparison.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote


@dataclass(slots=True, frozen=True)
class Purl:
    type: str
    namespace: str
    name: str
    version: str | None = None
    qualifiers: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, str, str]:
        """The package's identity without version: (type, namespace, name)."""
        return (self.type, self.namespace, self.name)


def _normalise(ptype: str, namespace: str, name: str) -> tuple[str, str, str]:
    ptype, namespace, name = ptype.lower(), namespace.lower(), name.lower()
    if ptype == "pypi":
        name = re.sub(r"[-_.]+", "-", name)
    elif ptype == "docker" and not namespace:
        namespace = "library"
    elif ptype == "npm" and namespace and not namespace.startswith("@"):
        namespace = "@" + namespace
    return ptype, namespace, name


def parse_purl(text: str | None) -> Purl | None:
    """A package URL split into normalised type, namespace, name, version and qualifiers; None if not one."""
    if not text or not text.startswith("pkg:"):
        return None
    rest = text[4:].lstrip("/").split("#", 1)[0]
    rest, _, query = rest.partition("?")
    if "/" not in rest:
        return None
    ptype, path = rest.split("/", 1)
    segments = [s for s in path.strip("/").split("/") if s]
    if not ptype or not segments:
        return None
    last = segments[-1]
    version = None
    if "@" in last:
        last, version = last.rsplit("@", 1)
        version = unquote(version) or None
    name = unquote(last)
    if not name:
        return None
    namespace = "/".join(unquote(s) for s in segments[:-1])
    qualifiers = {}
    for part in query.split("&") if query else ():
        k, _, v = part.partition("=")
        if k and v:
            qualifiers[k.lower()] = unquote(v)
    t, ns, n = _normalise(ptype, namespace, name)
    return Purl(t, ns, n, version, qualifiers)
