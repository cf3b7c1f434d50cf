"""Shared pieces of the version-ordering rules: the errors and the zero-padded sequence key.

Several ecosystems compare two sequences element by element and treat the shorter one as if it went on
with "zero" elements (dpkg's ``verrevcmp``, RubyGems, Maven lists). A plain tuple comparison gets that
wrong (the shorter tuple is always smaller), so :func:`padded_key` re-encodes such a sequence so that
ordinary tuple comparison gives exactly the zero-padded ordering.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Key = tuple[Any, ...]

# The terminator of a padded key: it stands for "zero elements from here on".
_END: Key = (1,)


class InvalidVersion(ValueError):
    """A version string that the ecosystem's rules cannot order."""

    def __init__(self, ecosystem: str, version: str, reason: str = "") -> None:
        self.ecosystem = ecosystem
        self.version = version
        self.reason = reason
        detail = f": {reason}" if reason else ""
        super().__init__(f"invalid {ecosystem} version {version!r}{detail}")


class UnsupportedEcosystem(ValueError):
    """An ecosystem whose version ordering is not implemented."""

    def __init__(self, ecosystem: str) -> None:
        self.ecosystem = ecosystem
        super().__init__(f"unsupported ecosystem {ecosystem!r} for version ordering")


def padded_key(items: Iterable[tuple[int, Any]]) -> Key:
    """Key for a sequence compared element-wise and padded with zero elements at its end.

    ``items`` yields ``(sign, value)`` per element: ``sign`` is 0 for an element equal to the padding
    zero, +1 for one above it, -1 for one below it; ``value`` orders elements of the same sign (values of
    one sign must be mutually comparable). Zero runs are folded into the next non-zero element as a count
    ``k``: at the first difference, the side whose non-zero element comes earlier (smaller ``k``) meets a
    zero on the other side, so positive elements rank by ``-k`` and negative ones by ``k``; the end of the
    sequence is an endless zero run, which sits between every negative and every positive element.
    """
    out: list[Key] = []
    k = 0
    for sign, value in items:
        if sign == 0:
            k += 1
        elif sign > 0:
            out.append((2, -k, value))
            k = 0
        else:
            out.append((0, k, value))
            k = 0
    out.append(_END)
    return tuple(out)
