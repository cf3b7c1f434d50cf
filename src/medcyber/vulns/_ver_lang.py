"""Language-package orderings: PyPI (PEP 440), Maven (ComparableVersion), RubyGems, Packagist (Composer)."""

from __future__ import annotations

import re
from typing import Any

from packaging.version import InvalidVersion as _PackagingInvalid
from packaging.version import Version as _PepVersion

from medcyber.vulns._ver_common import InvalidVersion, Key, padded_key

# ------------------------------------------------------------------------------------------------ PyPI

_PRE_RANK = {"a": 0, "b": 1, "rc": 2}
_DEV_ONLY: Key = (-1, 0)  # X.Y.devN (no pre/post) sorts before X.YaN
_NO_PRE: Key = (3, 0)
_NO_DEV: Key = (1, 0)


def pypi_key(ecosystem: str, version: str) -> Key:
    """PEP 440: epoch, release (trailing zeros ignored), pre, post, dev, local; legacy versions invalid."""
    try:
        v = _PepVersion(version)
    except _PackagingInvalid:
        raise InvalidVersion(ecosystem, version, "not a PEP 440 version") from None
    release = list(v.release)
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    if v.pre is not None:
        pre: Key = (_PRE_RANK[v.pre[0]], v.pre[1])
    elif v.post is None and v.dev is not None:
        pre = _DEV_ONLY
    else:
        pre = _NO_PRE
    post = -1 if v.post is None else v.post
    dev: Key = _NO_DEV if v.dev is None else (0, v.dev)
    local: Key = ()
    if v.local is not None:
        # PEP 440: numeric segments compare as integers and above alphanumeric ones (case-insensitive).
        local = tuple((1, int(seg)) if seg.isdigit() else (0, seg) for seg in v.local.split("."))
    return (v.epoch, tuple(release), pre, post, dev, local)


# ----------------------------------------------------------------------------------------------- Maven
# Maven 3.9 org.apache.maven.artifact.versioning.ComparableVersion: the version is lower-cased and split
# into a list of items at ".", "-" and digit/letter transitions; "-" (and a transition) opens a nested
# sub-list; trailing "null" items (0, "", empty list) are removed from each list.

_MAVEN_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_MAVEN_RELEASE_INDEX = 5
_MAVEN_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_MAVEN_SHORT = {"a": "alpha", "b": "beta", "m": "milestone"}

_MavenItem = Any  # int | str | list[_MavenItem]


def _maven_string(value: str, followed_by_digit: bool) -> str:
    if followed_by_digit and len(value) == 1:
        value = _MAVEN_SHORT.get(value, value)
    return _MAVEN_ALIASES.get(value, value)


def _maven_item(is_digit: bool, text: str) -> _MavenItem:
    return int(text) if is_digit else _maven_string(text, False)


def maven_items(version: str) -> list[_MavenItem]:
    """The normalised item list of ComparableVersion (ints, qualifier strings, nested lists)."""
    v = version.lower()
    root: list[_MavenItem] = []
    cur = root
    lists = [root]
    is_digit = False
    start = 0

    def open_list() -> None:
        nonlocal cur
        new: list[_MavenItem] = []
        cur.append(new)
        cur = new
        lists.append(new)

    for i, c in enumerate(v):
        if c == ".":
            cur.append(0 if i == start else _maven_item(is_digit, v[start:i]))
            start = i + 1
        elif c == "-":
            cur.append(0 if i == start else _maven_item(is_digit, v[start:i]))
            start = i + 1
            open_list()
        elif c.isdecimal():
            if not is_digit and i > start:
                # "1.0.0.X1 < 1.0.0-X2": a qualifier directly followed by digits goes into its own list
                if cur:
                    open_list()
                cur.append(_maven_string(v[start:i], True))
                start = i
                open_list()
            is_digit = True
        else:
            if is_digit and i > start:
                cur.append(int(v[start:i]))
                start = i
                open_list()
            is_digit = False
    if len(v) > start:
        if not is_digit and cur:
            open_list()  # a trailing ".X" is treated as "-X"
        cur.append(_maven_item(is_digit, v[start:]))
    for lst in reversed(lists):  # innermost first
        i = len(lst) - 1
        while i >= 0:
            item = lst[i]
            if item == 0 or item == "" or item == []:  # null item: 0, "" (ga/final/release), empty list
                del lst[i]
            elif not isinstance(item, list):
                break
            i -= 1
    return root


def _maven_qualifier_rank(q: str) -> tuple[int, str]:
    try:
        return (_MAVEN_QUALIFIERS.index(q), "")
    except ValueError:
        return (len(_MAVEN_QUALIFIERS), q)  # unknown qualifiers: after all known ones, lexical


def _maven_list_key(items: list[_MavenItem]) -> Key:
    """Key of one (normalised) item list.

    Maven compares lists item by item and pads the shorter one with "null": null equals 0 (and ""),
    a qualifier compares to null by its rank against "" (alpha..snapshot below, sp/unknown above), a
    sub-list by its first non-null item; between present items, string < list < number. Zero runs are
    folded into the following item (see ``padded_key``); string/list items are split into those below
    null and those above it, and the end of the list sits between the two groups.

    ComparableVersion is not transitive for some strings that have a qualifier between dots followed by
    more items (e.g. "1.0.alpha.1" < "1" < "1-1" but "1-1" < "1.0.alpha.1"); there this key, being a
    total order, follows the comparison against the shorter version (null), not the type rule.
    """
    out: list[Key] = []
    k = 0
    for item in items:
        if isinstance(item, int):
            if item == 0:
                k += 1
                continue
            out.append((3, -k, item))
        elif isinstance(item, str):
            rank = _maven_qualifier_rank(item)
            group = 0 if rank[0] < _MAVEN_RELEASE_INDEX else 2
            out.append((group, k, (0, rank)))
        else:
            sub = _maven_list_key(item)
            first_group = sub[0][0]
            if first_group == 1:  # an empty list (cannot survive normalisation) is a null item
                k += 1
                continue
            out.append((0 if first_group == 0 else 2, k, (1, sub)))
        k = 0
    out.append((1,))
    return tuple(out)


def maven_key(version: str) -> Key:
    return _maven_list_key(maven_items(version))


# -------------------------------------------------------------------------------------------- RubyGems
# Gem::Version: "-" becomes ".pre."; segments are digit runs (numbers) or letter runs (strings); a string
# segment makes a pre-release; trailing zeros of the release part and of the pre-release part are dropped;
# comparison pads with 0 and ranks any string below any number.

_GEM_SPACE = " \t\r\n\f\v"
_GEM_VERSION = re.compile(r"[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")
_GEM_SEGMENT = re.compile(r"[0-9]+|[a-zA-Z]+")


def rubygems_key(ecosystem: str, version: str) -> Key:
    text = version.strip(_GEM_SPACE)
    if not text:
        text = "0"
    elif _GEM_VERSION.fullmatch(text) is None:
        raise InvalidVersion(ecosystem, version, "malformed version number string")
    segments: list[int | str] = [
        int(s) if s[0].isdigit() else s for s in _GEM_SEGMENT.findall(text.replace("-", ".pre."))
    ]
    first_string = next((i for i, s in enumerate(segments) if isinstance(s, str)), len(segments))
    canonical: list[int | str] = []
    for part in (segments[:first_string], segments[first_string:]):
        end = len(part)
        while end > 0 and part[end - 1] == 0:
            end -= 1
        canonical.extend(part[:end])
    return padded_key((-1, s) if isinstance(s, str) else ((s > 0) - (s < 0), s) for s in canonical)


# ------------------------------------------------------------------------------------------- Packagist
# Composer: VersionParser::normalize() to "M.m.p.b[-stability[N]][-dev]", then PHP version_compare().

_COMPOSER_MOD = r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?"
_COMPOSER_CLASSIC = re.compile(
    r"v?(\d{1,5}+)(\.\d++)?(\.\d++)?(\.\d++)?" + _COMPOSER_MOD, re.IGNORECASE | re.ASCII
)
_COMPOSER_DATE = re.compile(
    r"v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})" + _COMPOSER_MOD, re.IGNORECASE | re.ASCII
)
_COMPOSER_BRANCH = re.compile(r"v?(\d++)(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?", re.ASCII)
_COMPOSER_STABILITY = {"a": "alpha", "b": "beta", "p": "patch", "pl": "patch", "rc": "RC"}
# php_version_compare special forms; a number counts as "#" (4), anything unknown as -6.
_PHP_FORMS = (("dev", 0), ("alpha", 1), ("a", 1), ("beta", 2), ("b", 2), ("RC", 3), ("rc", 3), ("#", 4))
_PHP_FORMS_POST = (("pl", 5), ("p", 5))
_DIGITS = frozenset("0123456789")
_PHP_END: Key = (4, -1)  # the end of a version: below any further number, above dev/alpha/beta/RC


def composer_normalize(ecosystem: str, version: str) -> str:
    """Composer's VersionParser::normalize for one concrete version (branch names are not orderable)."""
    text = version.strip()
    m = re.fullmatch(r"([^,\s]++) ++as ++([^,\s]++)", text, re.ASCII)
    if m:
        text = m.group(1)
    m = re.search(r"@(?:stable|RC|beta|alpha|dev)\Z", text, re.IGNORECASE)
    if m:
        text = text[: m.start()]
    if text in ("master", "trunk", "default") or text.lower().startswith("dev-"):
        raise InvalidVersion(ecosystem, version, "a branch name, not an orderable version")
    m = re.fullmatch(r"([^,\s+]++)\+[^\s]++", text, re.ASCII)
    if m:
        text = m.group(1)
    m = _COMPOSER_CLASSIC.fullmatch(text)
    index = 5
    if m:
        norm = m.group(1) + "".join(m.group(i) or ".0" for i in (2, 3, 4))
    else:
        m = _COMPOSER_DATE.fullmatch(text)
        index = 2
        if m:
            norm = re.sub(r"\D", ".", m.group(1))
    if m:
        stability = m.group(index)
        if stability:
            if stability == "stable":
                return norm
            lowered = stability.lower()
            norm += "-" + _COMPOSER_STABILITY.get(lowered, lowered) + (m.group(index + 1) or "").lstrip(".-")
        if m.group(index + 2):
            norm += "-dev"
        return norm
    m = re.fullmatch(r"(.*?)[.-]?dev", text, re.IGNORECASE)
    if m:
        b = _COMPOSER_BRANCH.fullmatch(m.group(1).strip())
        if b:
            parts = "".join((b.group(i) or ".x").replace("*", "x").replace("X", "x") for i in range(1, 5))
            return parts.replace("x", "9999999") + "-dev"
    raise InvalidVersion(ecosystem, version, "not a Composer version")


def _php_form_rank(word: str) -> int:
    for form, rank in _PHP_FORMS + _PHP_FORMS_POST:
        if word.startswith(form):
            return rank
    return -6


def composer_key(ecosystem: str, version: str) -> Key:
    """Key of PHP version_compare() on the Composer-normalised version.

    version_compare canonicalises ("-", "_", "+" become ".", and "." is inserted at digit/letter changes),
    then compares part by part: numbers numerically, names by special form (dev < alpha = a < beta = b <
    RC = rc < number < pl = p, unknown names lowest), a number against a name as "#"; when one version
    runs out, a further number makes the other greater, a further name is compared against "#".
    """
    norm = composer_normalize(ecosystem, version)
    elements: list[Key] = []
    for part in re.findall(r"[0-9]+|[^0-9.\-_+]+", norm):
        if part[0] in _DIGITS:
            elements.append((4, int(part)))
        else:
            elements.append((_php_form_rank(part), 0))
    elements.append(_PHP_END)
    return tuple(elements)
