"""Exact version ordering per package ecosystem, as OSV names them.

    compare("PyPI", "1.0rc1", "1.0")        -> -1
    compare("Debian:11", "1:0.9", "2.0")    -> 1
    sort_key("Maven", "1.0") == sort_key("Maven", "1")

``sort_key(ecosystem, version)`` returns a plain, hashable tuple; for one ecosystem, keys compare with
``<``/``==`` exactly as :func:`compare` does (``compare`` is defined through the keys, so it is a total
order). Keys of different ecosystems must not be compared with each other. Keys are cached.

Rules (each written from the ecosystem's own documentation / reference implementation):

- PyPI: PEP 440 (via ``packaging``); legacy, non-PEP 440 versions raise :class:`InvalidVersion`.
- npm, crates.io, Hex: SemVer 2.0.0 precedence (section 11), build metadata ignored; npm also takes a
  leading "v" as node-semver does. Strict: anything else raises.
- Go: module versions, "v" optional (OSV omits it), vMAJOR / vMAJOR.MINOR shorthands, "+incompatible"
  ignored; pseudo-versions order as the pre-releases they are.
- NuGet: 1-4 numeric parts (missing = 0), SemVer 2 labels compared case-insensitively.
- RubyGems: Gem::Version (segments; any letter makes a pre-release; "-" means ".pre.").
- Packagist: Composer's VersionParser::normalize then PHP version_compare (dev < alpha < beta < RC <
  stable < patch/pl/p; "v" prefix; 4 numeric parts). Branch names ("dev-master") raise.
- Maven: Maven 3.9 ComparableVersion (lenient, every string is a version).
- Debian, Ubuntu: dpkg (epoch, upstream, revision; "~" first; letters before other characters).
- Red Hat, RPM, Rocky Linux, AlmaLinux, openSUSE, SUSE, Mageia, openEuler, Photon OS: rpmvercmp on
  epoch:version-release, with "~" and "^".
- Alpine, Wolfi, Chainguard: apk-tools version comparison.

OSV ecosystem suffixes ("Debian:11", "Alpine:v3.18", "Red Hat:rhel_aus:8.4::appstream") select the base
ecosystem's rules. Ecosystem names are also matched case-insensitively and as purl types ("pypi",
"golang", "cargo", "gem", "composer", "deb", "apk", "rpm").

Note on OSV ranges: the "introduced": "0" sentinel means "from the beginning" and is not a version; it is
not a valid SemVer version (npm, crates.io raise on it), so a matcher must treat it as "no lower bound".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial

from medcyber.vulns._ver_common import InvalidVersion, Key, UnsupportedEcosystem
from medcyber.vulns._ver_lang import composer_key, maven_key, pypi_key, rubygems_key
from medcyber.vulns._ver_linux import alpine_key, debian_key, rpm_key
from medcyber.vulns._ver_semver import go_key, nuget_key, semver_key

__all__ = [
    "InvalidVersion",
    "Key",
    "SUPPORTED_ECOSYSTEMS",
    "UnsupportedEcosystem",
    "compare",
    "is_valid",
    "rules_for",
    "sort_key",
]

# rule family -> key function(version) -> Key
_RULES: dict[str, Callable[[str], Key]] = {
    "PyPI": partial(pypi_key, "PyPI"),
    "npm": partial(semver_key, "npm", allow_v=True),
    "crates.io": partial(semver_key, "crates.io"),
    "Hex": partial(semver_key, "Hex"),
    "Go": partial(go_key, "Go"),
    "NuGet": partial(nuget_key, "NuGet"),
    "RubyGems": partial(rubygems_key, "RubyGems"),
    "Packagist": partial(composer_key, "Packagist"),
    "Maven": maven_key,
    "Debian": debian_key,
    "RPM": rpm_key,
    "Alpine": alpine_key,
}

# OSV ecosystem name (or purl type) -> rule family
_ALIASES: dict[str, str] = {
    "PyPI": "PyPI",
    "npm": "npm",
    "crates.io": "crates.io",
    "Hex": "Hex",
    "Go": "Go",
    "NuGet": "NuGet",
    "RubyGems": "RubyGems",
    "Packagist": "Packagist",
    "Maven": "Maven",
    "Debian": "Debian",
    "Ubuntu": "Debian",
    "Red Hat": "RPM",
    "RPM": "RPM",
    "Rocky Linux": "RPM",
    "AlmaLinux": "RPM",
    "openSUSE": "RPM",
    "SUSE": "RPM",
    "Mageia": "RPM",
    "openEuler": "RPM",
    "Photon OS": "RPM",
    "Alpine": "Alpine",
    "Wolfi": "Alpine",
    "Chainguard": "Alpine",
    # purl types
    "golang": "Go",
    "cargo": "crates.io",
    "gem": "RubyGems",
    "composer": "Packagist",
    "deb": "Debian",
    "apk": "Alpine",
}
_ALIASES_FOLDED = {name.casefold(): rules for name, rules in _ALIASES.items()}

SUPPORTED_ECOSYSTEMS: frozenset[str] = frozenset(_ALIASES)

_resolved: dict[str, str] = {}


def rules_for(ecosystem: str) -> str:
    """The rule family ("PyPI", "npm", ..., "Debian", "RPM", "Alpine") used for an ecosystem name.

    Raises :class:`UnsupportedEcosystem` for anything else.
    """
    rules = _resolved.get(ecosystem)
    if rules is not None:
        return rules
    base = ecosystem.split(":", 1)[0].strip()
    rules = _ALIASES.get(base) or _ALIASES_FOLDED.get(base.casefold())
    if rules is None:
        raise UnsupportedEcosystem(ecosystem)
    if len(_resolved) < 4096:
        _resolved[ecosystem] = rules
    return rules


@lru_cache(maxsize=1 << 20)
def _cached_key(rules: str, version: str) -> Key:
    return _RULES[rules](version)


def sort_key(ecosystem: str, version: str) -> Key:
    """A hashable key ordering ``version`` within ``ecosystem`` exactly as :func:`compare` does.

    Raises :class:`InvalidVersion` for a version a strict ecosystem cannot parse and
    :class:`UnsupportedEcosystem` for an unknown ecosystem.
    """
    if not isinstance(version, str):
        raise TypeError(f"version must be a str, not {type(version).__name__}")
    return _cached_key(rules_for(ecosystem), version)


def compare(ecosystem: str, a: str, b: str) -> int:
    """-1, 0 or 1 as version ``a`` is lower than, equal to or greater than ``b`` in ``ecosystem``."""
    rules = rules_for(ecosystem)
    ka = _cached_key(rules, a)
    kb = _cached_key(rules, b)
    return (ka > kb) - (ka < kb)


def is_valid(ecosystem: str, version: str) -> bool:
    """Whether ``version`` can be ordered in ``ecosystem`` (always true for the lenient ones)."""
    try:
        sort_key(ecosystem, version)
    except InvalidVersion:
        return False
    return True
