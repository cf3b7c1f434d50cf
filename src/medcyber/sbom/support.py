"""Interpreting declared support level and end-of-support values, keeping the author's words.

Real SBOMs write these as free text ("Actively maintained", "Inactive", "Until hardware support ends",
"Open source", "Unknown"). The verbatim text is always kept; the interpretation is given only where it
is unambiguous, and an end-of-support *rule* (not a date) is named where the text states one.
"""

from __future__ import annotations

import datetime as dt
import re

from .model import DeclaredSupport, SupportLevel

# Property names real SBOMs use for FDA's two elements (compared case- and punctuation-insensitively).
LEVEL_KEYS = frozenset(
    {"levelofsupport", "supportlevel", "fdalevelofsupport", "support", "maintenancestatus"}
)
EOS_KEYS = frozenset(
    {
        "endofsupport",
        "endofsupportdate",
        "eos",
        "eosdate",
        "endoflife",
        "eol",
        "supportenddate",
        "fdaendofsupport",
    }
)

_LEVEL_WORDS: tuple[tuple[re.Pattern[str], SupportLevel], ...] = (
    (
        re.compile(r"^(actively\s+maintained|active|maintained|supported|under\s+active\s+development)$"),
        SupportLevel.ACTIVELY_MAINTAINED,
    ),
    (
        re.compile(
            r"^(no\s+longer\s+(maintained|supported)|not\s+maintained|unmaintained|inactive|deprecated|"
            r"end[\s-]+of[\s-]+(life|support)|eol|eos|legacy|retired|discontinued|archived)$"
        ),
        SupportLevel.NO_LONGER_MAINTAINED,
    ),
    (re.compile(r"^(abandoned|dead|orphaned)$"), SupportLevel.ABANDONED),
    (re.compile(r"^(unknown|n/?a|tbd|not\s+known|unspecified|none\s+given|-)?$"), SupportLevel.UNKNOWN),
)

_EOS_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"until\s+(the\s+)?hardware\s+support\s+ends|tied\s+to\s+(the\s+)?hardware"),
        "until-hardware-support-ends",
    ),
    (re.compile(r"^(unknown|n/?a|tbd|not\s+known|unspecified|-)?$"), "unknown"),
    (re.compile(r"^(no\s+longer\s+supported|ended|expired|end\s+of\s+life|eol|unsupported)$"), "ended"),
    (re.compile(r"^(open\s+source|community(\s+supported)?|best\s+effort)$"), "community-no-date"),
    (re.compile(r"^(none|never|indefinite(ly)?|no\s+end\s+date|perpetual|ongoing)$"), "no-planned-end"),
)

_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%m/%d/%Y",
    "%Y-%m",
    "%B %Y",
    "%b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
)


def normalise_key(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def _clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", (text or "").strip().lower()).rstrip(".")


def interpret_level(text: str | None) -> SupportLevel | None:
    """The support level a text states, or None when it states none we can tell."""
    if text is None:
        return None
    cleaned = _clean(text)
    for pattern, level in _LEVEL_WORDS:
        if pattern.match(cleaned):
            return level
    return None


def parse_date(text: str) -> dt.date | None:
    """A date written in a common way; a month or year alone means its last day (support lasts through it)."""
    raw = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T.*", raw):
        raw = raw[:10]
    if re.fullmatch(r"\d{4}", raw):
        return dt.date(int(raw), 12, 31)
    for fmt in _DATE_FORMATS:
        try:
            parsed = dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
        if fmt in ("%Y-%m", "%B %Y", "%b %Y"):
            nxt = dt.date(parsed.year + (parsed.month == 12), parsed.month % 12 + 1, 1)
            return nxt - dt.timedelta(days=1)
        return parsed
    return None


def interpret_end_of_support(text: str | None) -> tuple[dt.date | None, str | None]:
    """(date, rule): a date where the text gives one, else a named rule, else (None, None)."""
    if text is None:
        return None, None
    date = parse_date(text)
    if date is not None:
        return date, None
    cleaned = _clean(text)
    for pattern, rule in _EOS_RULES:
        if pattern.search(cleaned):
            return None, rule
    return None, None


def declared_support(
    level_text: str | None, eos_text: str | None, *, source: str | None = None
) -> DeclaredSupport | None:
    """Build the declared support of a component from its verbatim texts (None when both are absent)."""
    if level_text is None and eos_text is None:
        return None
    level = interpret_level(level_text)
    eos, rule = interpret_end_of_support(eos_text)
    if level is None and rule == "ended":
        level = SupportLevel.NO_LONGER_MAINTAINED
    return DeclaredSupport(
        level_text=level_text,
        level=level,
        end_of_support_text=eos_text,
        end_of_support=eos,
        eos_rule=rule,
        source=source,
    )


def from_properties(
    props: tuple[tuple[str, str], ...] | list[tuple[str, str]], *, prefix: str = "property"
) -> DeclaredSupport | None:
    """Find the support elements among name/value properties (CycloneDX properties, SPDX annotations)."""
    level_text = eos_text = None
    names: list[str] = []
    for name, value in props:
        key = normalise_key(name.rsplit(":", 1)[-1])
        if key in LEVEL_KEYS and level_text is None:
            level_text = value
            names.append(name)
        elif key in EOS_KEYS and eos_text is None:
            eos_text = value
            names.append(name)
    if not names:
        return None
    return declared_support(level_text, eos_text, source=", ".join(f"{prefix}:{n}" for n in names))
