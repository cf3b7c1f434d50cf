"""Distribution package orderings: Debian (dpkg), RPM (rpmvercmp), Alpine (apk-tools).

All three order arbitrary strings (they are lenient): nothing here raises.
"""

from __future__ import annotations

import re

from medcyber.vulns._ver_common import Key, padded_key

# --------------------------------------------------------------------------------------------- Debian


def _dpkg_order(c: str) -> int:
    """Debian Policy 5.6.12: "~" sorts before everything, even the end; letters before non-letters."""
    if c == "~":
        return -1
    if "a" <= c <= "z" or "A" <= c <= "Z":
        return ord(c)
    return ord(c) + 256


def _dpkg_part_key(part: str) -> Key:
    """Key for dpkg's verrevcmp on one part (upstream version or revision).

    The part alternates non-digit runs (compared character by character with :func:`_dpkg_order`, the end
    of a run counting 0) and digit runs (compared as integers, empty = 0); the shorter string is extended
    with empty runs. Flattened, that is one integer sequence padded with zeros.
    """
    seq: list[int] = []
    i, n = 0, len(part)
    while i < n:
        while i < n and not ("0" <= part[i] <= "9"):
            seq.append(_dpkg_order(part[i]))
            i += 1
        seq.append(0)  # end of the non-digit run
        j = i
        while j < n and "0" <= part[j] <= "9":
            j += 1
        seq.append(int(part[i:j]) if j > i else 0)
        i = j
    return padded_key(((v > 0) - (v < 0), v) for v in seq)


def debian_key(version: str) -> Key:
    """[epoch:]upstream_version[-debian_revision]: epoch numerically, then the two parts with verrevcmp."""
    epoch = 0
    rest = version
    head, sep, tail = version.partition(":")
    if sep and (head == "" or (head.isdigit() and head.isascii())):
        epoch = int(head) if head else 0
        rest = tail
    upstream, hyphen, revision = rest.rpartition("-")
    if not hyphen:
        upstream, revision = rest, ""
    return (epoch, _dpkg_part_key(upstream), _dpkg_part_key(revision))


# ------------------------------------------------------------------------------------------------ RPM

_RPM_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+|~|\^")
_RPM_END: Key = (1,)


def _rpm_part_key(part: str) -> Key:
    """Key for rpmvercmp: runs of ASCII letters or digits, separators ignored.

    At the first difference: "~" is below everything (even the end), the end is below "^", "^" is below
    any further segment, a letter segment is below a digit segment, letters compare with strcmp and
    digits numerically.
    """
    tokens: list[Key] = []
    for tok in _RPM_TOKEN.findall(part):
        if tok == "~":
            tokens.append((0,))
        elif tok == "^":
            tokens.append((2,))
        elif tok[0].isdigit():
            tokens.append((4, int(tok)))
        else:
            tokens.append((3, tok))
    tokens.append(_RPM_END)
    return tuple(tokens)


def rpm_key(version: str) -> Key:
    """[epoch:]version[-release]: epoch (missing = 0), then version and release with rpmvercmp."""
    epoch = 0
    rest = version
    head, sep, tail = version.partition(":")
    if sep and (head == "" or (head.isdigit() and head.isascii())):
        epoch = int(head) if head else 0
        rest = tail
    ver, hyphen, release = rest.rpartition("-")
    if not hyphen:
        ver, release = rest, ""
    return (epoch, _rpm_part_key(ver), _rpm_part_key(release))


# --------------------------------------------------------------------------------------------- Alpine
# apk-tools (2.x, src/version.c), Gentoo-style: {digit}{.digit}...{letter}{_suffix{#}}...{-r#}

_T_INVALID, _T_DIGIT_OR_ZERO, _T_DIGIT, _T_LETTER, _T_SUFFIX, _T_SUFFIX_NO, _T_REVISION_NO, _T_END = range(
    -1, 7
)
_PRE_SUFFIXES = ("alpha", "beta", "pre", "rc")  # -4 .. -1
_POST_SUFFIXES = ("cvs", "svn", "git", "hg", "p")  # 0 .. 4


def _apk_next_type(t: int, s: str, pos: int) -> tuple[int, int]:
    """The type of the token starting at ``pos`` (after the previous one of type ``t``), and new pos."""
    if pos >= len(s) or s[pos] == "\0":
        n = _T_END
    elif t in (_T_DIGIT, _T_DIGIT_OR_ZERO) and "a" <= s[pos] <= "z":
        n = _T_LETTER
    elif t == _T_LETTER and "0" <= s[pos] <= "9":
        n = _T_DIGIT
    elif t == _T_SUFFIX and "0" <= s[pos] <= "9":
        n = _T_SUFFIX_NO
    else:
        c = s[pos]
        n = _T_INVALID
        if c == ".":
            n = _T_DIGIT_OR_ZERO
        elif c == "_":
            n = _T_SUFFIX
        elif c == "-" and pos + 1 < len(s) and s[pos + 1] == "r":
            n = _T_REVISION_NO
            pos += 1
        pos += 1
    if n < t and not (
        (n == _T_DIGIT_OR_ZERO and t == _T_DIGIT)
        or (n == _T_SUFFIX and t == _T_SUFFIX_NO)
        or (n == _T_DIGIT and t == _T_LETTER)
    ):
        n = _T_INVALID
    return n, pos


def _apk_tokens(s: str) -> list[tuple[int, int]]:
    """The (type, value) tokens apk reads, ending with a (END or INVALID, 0) entry."""
    out: list[tuple[int, int]] = []
    t, pos, n = _T_DIGIT, 0, len(s)
    while True:
        if pos >= n:  # a token type announced by a trailing separator reads as 0, then the end
            out.append((t, 0))
            out.append((_T_END, 0))
            return out
        value, nt = 0, _T_INVALID
        start = pos
        if t == _T_DIGIT_OR_ZERO and s[pos] == "0":
            while pos < n and s[pos] == "0":
                pos += 1
            nt = _T_DIGIT
            value = -(pos - start)
        elif t in (_T_DIGIT, _T_DIGIT_OR_ZERO, _T_SUFFIX_NO, _T_REVISION_NO):
            while pos < n and "0" <= s[pos] <= "9":
                value = value * 10 + ord(s[pos]) - 48
                pos += 1
        elif t == _T_LETTER:
            value = ord(s[pos])
            pos += 1
        elif t == _T_SUFFIX:
            for idx, name in enumerate(_PRE_SUFFIXES):
                if s.startswith(name, pos):
                    value = idx - len(_PRE_SUFFIXES)
                    pos += len(name)
                    break
            else:
                for idx, name in enumerate(_POST_SUFFIXES):
                    if s.startswith(name, pos):
                        value = idx
                        pos += len(name)
                        break
                else:
                    out.append((t, -1))
                    out.append((_T_INVALID, 0))
                    return out
        out.append((t, value))
        if pos >= n:
            t = _T_END
        elif nt != _T_INVALID and not (s[pos] == "_" and s.startswith(_PRE_SUFFIXES, pos + 1)):
            # apk reads the digits after leading zeros as a separate DIGIT token; when the zeros are
            # followed by a pre-release suffix instead, that empty DIGIT token would rank 1.0_rc1 above
            # 1.0 (apk-tools 2.x quirk); the documented rule (_rc < none) is followed instead.
            t = nt
        else:
            t, pos = _apk_next_type(t, s, pos)
        if t in (_T_END, _T_INVALID):
            out.append((t, 0))
            return out


def alpine_key(version: str) -> Key:
    """Key for apk's version comparison.

    apk reads both versions token by token while the token types agree, comparing values; at the first
    type difference, a pre-release suffix (_alpha _beta _pre _rc, or an unknown suffix) is the lower, and
    otherwise the version whose next token type comes *later* in the grammar is the lower (so 1.0 < 1.0.1,
    1.0 < 1.0-r1 < 1.0_p1 < 1.0a). Encoded as: value, weight(next type), value, ..., weight(terminal).
    """
    tokens = _apk_tokens(version)
    key: list[int] = [tokens[0][1]]
    for i in range(1, len(tokens)):
        t, v = tokens[i]
        if t == _T_SUFFIX and v < 0:
            key.append(-100)
        else:
            key.append(-t)
        if t not in (_T_END, _T_INVALID):
            key.append(v)
    return tuple(key)
