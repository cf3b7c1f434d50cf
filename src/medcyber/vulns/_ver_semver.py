"""SemVer-family orderings: SemVer 2.0.0 (npm, crates.io, Hex), Go module versions, NuGet.

Precedence follows semver.org 2.0.0 section 11: MAJOR.MINOR.PATCH numerically; a pre-release ranks below
the same version without one; pre-release identifiers compare left to right, numeric ones numerically,
alphanumeric ones in ASCII order, numeric below alphanumeric, and a longer list wins when all earlier
identifiers are equal; build metadata is ignored.
"""

from __future__ import annotations

import re

from medcyber.vulns._ver_common import InvalidVersion, Key

_NUM = r"0|[1-9][0-9]*"
_ID = r"[0-9A-Za-z-]+"
_SEMVER = re.compile(
    rf"(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_ID}(?:\.{_ID})*))?(?:\+(?P<build>{_ID}(?:\.{_ID})*))?"
)
# Go (golang.org/x/mod/semver): "v" required in Go itself, but OSV writes Go versions without it; the
# shorthands vMAJOR and vMAJOR.MINOR (no pre-release or build) mean vMAJOR.0.0 / vMAJOR.MINOR.0.
_GO_SHORT = re.compile(rf"(?P<major>{_NUM})(?:\.(?P<minor>{_NUM}))?")
# NuGet: 1 to 4 numeric parts (leading zeros tolerated, as NuGet's legacy parser does), SemVer 2 labels.
_NUGET = re.compile(
    r"(?P<nums>[0-9]+(?:\.[0-9]+){0,3})"
    rf"(?:-(?P<pre>{_ID}(?:\.{_ID})*))?(?:\+(?P<build>{_ID}(?:\.{_ID})*))?"
)
_RELEASE: Key = (1,)


def _prerelease_key(ecosystem: str, version: str, pre: str, *, strict_numeric: bool, fold: bool) -> Key:
    ids: list[tuple[int, int | str]] = []
    for ident in pre.split("."):
        if ident.isdigit() and ident.isascii():
            if strict_numeric and len(ident) > 1 and ident[0] == "0":
                raise InvalidVersion(ecosystem, version, f"numeric identifier {ident!r} has a leading zero")
            ids.append((0, int(ident)))
        else:
            ids.append((1, ident.lower() if fold else ident))
    return (0, tuple(ids))


def semver_key(ecosystem: str, version: str, *, allow_v: bool = False) -> Key:
    """SemVer 2.0.0 key (npm accepts a leading "v" as node-semver does; crates.io does not)."""
    text = version.strip() if allow_v else version
    if allow_v and text[:1] in ("v", "V"):
        text = text[1:]
    m = _SEMVER.fullmatch(text)
    if m is None:
        raise InvalidVersion(ecosystem, version, "not a SemVer 2.0.0 version")
    pre = m.group("pre")
    pre_key = (
        _RELEASE if pre is None else _prerelease_key(ecosystem, version, pre, strict_numeric=True, fold=False)
    )
    return (int(m.group("major")), int(m.group("minor")), int(m.group("patch")), pre_key)


def go_key(ecosystem: str, version: str) -> Key:
    """Go module version key: SemVer with optional "v", shorthands, "+incompatible" (build, ignored).

    Pseudo-versions (v0.0.0-20200101000000-abcdef, v1.2.4-0.2020..., v1.2.3-pre.0.2020...) are ordinary
    pre-releases and order as such.
    """
    text = version[1:] if version[:1] == "v" else version
    m = _SEMVER.fullmatch(text)
    if m is not None:
        pre = m.group("pre")
        pre_key = (
            _RELEASE
            if pre is None
            else _prerelease_key(ecosystem, version, pre, strict_numeric=True, fold=False)
        )
        return (int(m.group("major")), int(m.group("minor")), int(m.group("patch")), pre_key)
    short = _GO_SHORT.fullmatch(text)
    if short is None:
        raise InvalidVersion(ecosystem, version, "not a Go module (semantic) version")
    return (int(short.group("major")), int(short.group("minor") or 0), 0, _RELEASE)


def nuget_key(ecosystem: str, version: str) -> Key:
    """NuGet key: Major.Minor.Patch.Revision (missing parts are 0), labels compared case-insensitively."""
    m = _NUGET.fullmatch(version.strip())
    if m is None:
        raise InvalidVersion(ecosystem, version, "not a NuGet version")
    nums = [int(p) for p in m.group("nums").split(".")]
    if any(n > 2147483647 for n in nums):
        raise InvalidVersion(ecosystem, version, "version part out of range")
    nums += [0] * (4 - len(nums))
    pre = m.group("pre")
    pre_key = (
        _RELEASE if pre is None else _prerelease_key(ecosystem, version, pre, strict_numeric=False, fold=True)
    )
    return (nums[0], nums[1], nums[2], nums[3], pre_key)
