"""The compact JSON form of an ``Advisory`` the store keeps, and its exact inverse (fast to rebuild).

Positional arrays instead of objects, empty parts left out: the PyPA database (2,661 records) rebuilds in a
fraction of a second. ``digest`` is the sha256 of this form, so a record re-serialised with other
whitespace or key order by its publisher is recognised as unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import orjson

from ..model import Advisory, Affected, ConfigNode, Configuration, CpeMatch, Event, Range, Severity

FORMAT = 1


def _ts(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value is not None else None


def to_obj(adv: Advisory) -> dict[str, Any]:
    obj: dict[str, Any] = {"v": FORMAT, "id": adv.id, "src": adv.source, "mod": _ts(adv.modified)}
    if adv.published:
        obj["pub"] = _ts(adv.published)
    if adv.withdrawn:
        obj["wd"] = _ts(adv.withdrawn)
    if adv.aliases:
        obj["al"] = list(adv.aliases)
    if adv.related:
        obj["rel"] = list(adv.related)
    if adv.summary is not None:
        obj["sum"] = adv.summary
    if adv.details is not None:
        obj["det"] = adv.details
    if adv.severities:
        obj["sev"] = [[s.type, s.vector, s.source, s.base_score, s.metric_type] for s in adv.severities]
    if adv.cwes:
        obj["cwe"] = list(adv.cwes)
    if adv.affected:
        obj["aff"] = [
            [
                a.ecosystem,
                a.name,
                a.purl,
                [[r.type, r.repo, [[e.kind, e.version] for e in r.events]] for r in a.ranges],
                list(a.versions),
            ]
            for a in adv.affected
        ]
    if adv.configurations:
        obj["cfg"] = [
            [
                c.operator,
                c.negate,
                [
                    [
                        n.operator,
                        n.negate,
                        [
                            [
                                m.criteria,
                                m.vulnerable,
                                m.version_start_including,
                                m.version_start_excluding,
                                m.version_end_including,
                                m.version_end_excluding,
                            ]
                            for m in n.matches
                        ],
                    ]
                    for n in c.nodes
                ],
            ]
            for c in adv.configurations
        ]
    if adv.references:
        obj["ref"] = list(adv.references)
    return obj


def dumps(adv: Advisory) -> bytes:
    return orjson.dumps(to_obj(adv))


def digest(record_json: bytes) -> str:
    return hashlib.sha256(record_json).hexdigest()


def from_obj(obj: dict[str, Any]) -> Advisory:
    get = obj.get
    return Advisory(
        id=obj["id"],
        source=obj["src"],
        modified=dt.datetime.fromisoformat(obj["mod"]),
        published=_dt(get("pub")),
        withdrawn=_dt(get("wd")),
        aliases=tuple(get("al", ())),
        related=tuple(get("rel", ())),
        summary=get("sum"),
        details=get("det"),
        severities=tuple(Severity(t, v, s, b, m) for t, v, s, b, m in get("sev", ())),
        cwes=tuple(get("cwe", ())),
        affected=tuple(
            Affected(
                eco,
                name,
                purl,
                tuple(Range(rt, tuple(Event(k, v) for k, v in events), repo) for rt, repo, events in ranges),
                tuple(versions),
            )
            for eco, name, purl, ranges, versions in get("aff", ())
        ),
        configurations=tuple(
            Configuration(
                op,
                neg,
                tuple(
                    ConfigNode(nop, nneg, tuple(CpeMatch(*m) for m in matches))
                    for nop, nneg, matches in nodes
                ),
            )
            for op, neg, nodes in get("cfg", ())
        ),
        references=tuple(get("ref", ())),
    )


def loads(data: bytes | str) -> Advisory:
    return from_obj(orjson.loads(data))
