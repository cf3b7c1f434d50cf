"""The endoflife.date catalogue: compiled once from the upstream product files, shipped, loaded fast.

Upstream keeps one Markdown file per product with YAML front matter (``identifiers`` and ``releases``).
``compile_products`` turns a directory of them into a compact JSON document holding only what the
lifecycle analysis needs; ``write_catalog`` writes it deterministically (one product per line, so a
data refresh reads as a diff); ``Catalog.load`` reads the shipped file once per process.

The data is (c) endoflife.date contributors, MIT licence: see ``data/LICENSE-endoflife.txt``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).with_name("data")
DEFAULT_PATH = DATA_DIR / "endoflife.json"
DEFAULT_URL = "https://endoflife.date/api/v1/products/full"
FORMAT_VERSION = 1

# Release fields kept (upstream name -> compiled name). Values are ISO dates, booleans or strings.
_RELEASE_FIELDS = {
    "releaseDate": "released",
    "eol": "eol",
    "eoas": "eoas",
    "eoes": "eoes",
    "lts": "lts",
    "discontinued": "discontinued",
    "latest": "latest",
    "latestReleaseDate": "latest_date",
    "codename": "codename",
}

try:  # the C loader is ~10x faster; BaseLoader keeps every scalar a string ("3.10" stays "3.10")
    _BaseLoader: Any = yaml.CBaseLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.BaseLoader


class CatalogError(ValueError):
    """The catalogue data cannot be read, compiled or downloaded."""


DateOrFlag = dt.date | bool | None


@dataclass(slots=True, frozen=True)
class Release:
    """One release cycle of a product as endoflife.date describes it."""

    cycle: str
    released: dt.date | None = None
    eol: DateOrFlag = None  # a date, True (ended, date unknown), False (supported, no date)
    eoas: DateOrFlag = None  # end of active support
    eoes: DateOrFlag = None  # end of extended (paid) support
    lts: DateOrFlag = None
    discontinued: DateOrFlag = None
    latest: str | None = None
    latest_date: dt.date | None = None
    codename: str | None = None


@dataclass(slots=True, frozen=True)
class Product:
    id: str  # endoflife.date permalink, e.g. "openssl"
    title: str
    category: str | None
    aliases: tuple[str, ...] = ()
    purls: tuple[str, ...] = ()
    cpes: tuple[str, ...] = ()
    repology: tuple[str, ...] = ()
    releases: tuple[Release, ...] = ()

    @property
    def link(self) -> str:
        return f"https://endoflife.date/{self.id}"


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return dt.date.fromisoformat(value)
    return None


def _date_or_flag(value: Any) -> DateOrFlag:
    if isinstance(value, bool) or value is None:
        return value
    return _as_date(value)


@dataclass(slots=True, eq=False, weakref_slot=True)
class Catalog:
    products: dict[str, Product]
    meta: dict[str, Any] = field(default_factory=dict)

    # ---- loading ---------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path | str | None = None) -> Catalog:
        """The shipped catalogue (cached per process), or the one at ``path``."""
        if path is None:
            return _load_default()
        return cls.from_dict(_read_json(Path(path)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalog:
        if data.get("format") != FORMAT_VERSION or not isinstance(data.get("products"), dict):
            raise CatalogError(f"not a compiled endoflife.date catalogue (format {data.get('format')!r})")
        products: dict[str, Product] = {}
        for pid, p in data["products"].items():
            releases = tuple(
                Release(
                    cycle=r["cycle"],
                    released=_as_date(r.get("released")),
                    eol=_date_or_flag(r.get("eol")),
                    eoas=_date_or_flag(r.get("eoas")),
                    eoes=_date_or_flag(r.get("eoes")),
                    lts=_date_or_flag(r.get("lts")),
                    discontinued=_date_or_flag(r.get("discontinued")),
                    latest=r.get("latest"),
                    latest_date=_as_date(r.get("latest_date")),
                    codename=r.get("codename"),
                )
                for r in p.get("releases", ())
            )
            products[pid] = Product(
                id=pid,
                title=p.get("title") or pid,
                category=p.get("category"),
                aliases=tuple(p.get("aliases", ())),
                purls=tuple(p.get("purls", ())),
                cpes=tuple(p.get("cpes", ())),
                repology=tuple(p.get("repology", ())),
                releases=releases,
            )
        return cls(products=products, meta=dict(data.get("meta", {})))

    def __len__(self) -> int:
        return len(self.products)

    def get(self, product_id: str) -> Product | None:
        return self.products.get(product_id)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read the catalogue {path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise CatalogError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{path} is not a compiled endoflife.date catalogue")
    return data


@cache
def _load_default() -> Catalog:
    return Catalog.from_dict(_read_json(DEFAULT_PATH))


def clear_cache() -> None:
    """Forget the cached shipped catalogue (after ``update`` rewrote it)."""
    _load_default.cache_clear()
    from . import match  # the matcher indexes are cached per catalogue

    match.clear_cache()


# ---- compiling from the upstream product files ------------------------------------------------------
def _front_matter(text: str, source: str) -> dict[str, Any]:
    if not text.startswith("---"):
        raise CatalogError(f"{source}: no YAML front matter")
    end = text.find("\n---", 3)
    if end < 0:
        raise CatalogError(f"{source}: front matter is not closed by '---'")
    try:
        data = yaml.load(text[3:end], Loader=_BaseLoader)  # noqa: S506 - BaseLoader builds no objects
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: invalid YAML front matter: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{source}: front matter is not a mapping")
    return data


def _scalar(value: Any) -> str | bool | None:
    """A BaseLoader scalar as the compiled value: booleans and ISO dates recognised, else a string."""
    if value is None:
        return None
    if not isinstance(value, str):
        return None  # nested structures are not needed
    text = value.strip()
    low = text.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    if low in ("", "null", "~"):
        return None
    return text


def _string_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, list):
        return [v.strip() for v in value if isinstance(v, str) and v.strip()]
    return []


def compile_product(product_id: str, fm: Mapping[str, Any]) -> dict[str, Any]:
    """The compiled record of one product from its front matter (as read with the base loader)."""
    purls: list[str] = []
    cpes: list[str] = []
    repology: list[str] = []
    for ident in fm.get("identifiers") or ():
        if not isinstance(ident, dict):
            continue
        for kind, value in ident.items():
            if not isinstance(value, str) or not value.strip():
                continue
            {"purl": purls, "cpe": cpes, "repology": repology}.get(kind, []).append(value.strip())
    aliases: list[str] = []
    for url in _string_list(fm.get("alternate_urls")) + _string_list(fm.get("alternative_urls")):
        alias = url.strip("/").rsplit("/", 1)[-1]
        if alias and alias != product_id and alias not in aliases:
            aliases.append(alias)
    for name in _string_list(fm.get("alsoKnownAs")):
        if name not in aliases:
            aliases.append(name)
    releases = []
    for r in fm.get("releases") or ():
        if not isinstance(r, dict) or not isinstance(r.get("releaseCycle"), str):
            continue
        rec: dict[str, Any] = {"cycle": r["releaseCycle"].strip()}
        for up, name in _RELEASE_FIELDS.items():
            v = _scalar(r.get(up))
            if v is not None:
                rec[name] = v
        releases.append(rec)
    out: dict[str, Any] = {"title": (_scalar(fm.get("title")) or product_id)}
    category = _scalar(fm.get("category"))
    if isinstance(category, str):
        out["category"] = category
    for key, values in (("aliases", aliases), ("purls", purls), ("cpes", cpes), ("repology", repology)):
        if values:
            out[key] = values
    out["releases"] = releases
    return out


def compile_products(directory: Path | str) -> dict[str, Any]:
    """Compile every ``*.md`` product file of an endoflife.date ``products/`` directory."""
    root = Path(directory)
    if not root.is_dir():
        raise CatalogError(f"{root} is not a directory")
    files = sorted(root.glob("*.md"))
    if not files:
        raise CatalogError(f"{root} holds no endoflife.date product files (*.md)")
    products: dict[str, Any] = {}
    problems: list[str] = []
    for path in files:
        try:
            fm = _front_matter(path.read_text(encoding="utf-8"), path.name)
        except (CatalogError, UnicodeDecodeError) as exc:
            problems.append(str(exc))
            continue
        if not fm.get("releases"):
            problems.append(f"{path.name}: no releases")
            continue
        permalink = fm.get("permalink")
        pid = permalink.strip("/") if isinstance(permalink, str) and permalink.strip("/") else path.stem
        products[pid] = compile_product(pid, fm)
    if not products:
        raise CatalogError(f"{root}: no product could be compiled ({'; '.join(problems[:3])})")
    return _document(products, source=f"endoflife.date products/ ({len(products)} files)", skipped=problems)


def _document(products: dict[str, Any], *, source: str, skipped: Iterable[str] = ()) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "meta": {
            "source": source,
            "attribution": "Data from endoflife.date (https://endoflife.date), MIT licence.",
            "products": len(products),
            "releases": sum(len(p["releases"]) for p in products.values()),
            "skipped": list(skipped),
        },
        "products": dict(sorted(products.items())),
    }


def write_catalog(document: Mapping[str, Any], path: Path | str) -> Path:
    """Write a compiled catalogue: deterministic, one product per line."""
    out = Path(path)
    lines = ["{", f'"format": {json.dumps(document["format"])},']
    lines.append(f'"meta": {json.dumps(document["meta"], sort_keys=True, ensure_ascii=False)},')
    lines.append('"products": {')
    items = list(document["products"].items())
    for i, (pid, rec) in enumerate(items):
        sep = "," if i < len(items) - 1 else ""
        body = json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
        lines.append(f"{json.dumps(pid)}: {body}{sep}")
    lines.append("}}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out


# ---- the online API -----------------------------------------------------------------------------------
def from_api_v1(payload: Any) -> dict[str, Any]:
    """Compile the endoflife.date API v1 ``/products/full`` answer into the catalogue document."""
    items = payload.get("result") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise CatalogError("unexpected API answer: no product list ('result')")
    products: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        pid = item["name"]
        fm: dict[str, Any] = {
            "title": item.get("label") or pid,
            "category": item.get("category"),
            "alsoKnownAs": [a for a in item.get("aliases") or () if isinstance(a, str)],
            "identifiers": [
                {i.get("type"): i.get("id")} for i in item.get("identifiers") or () if isinstance(i, dict)
            ],
            "releases": [],
        }
        for r in item.get("releases") or ():
            if not isinstance(r, dict) or not r.get("name"):
                continue
            latest_raw = r.get("latest")
            latest: dict[str, Any] = latest_raw if isinstance(latest_raw, dict) else {}
            fm["releases"].append(
                {
                    "releaseCycle": str(r["name"]),
                    "releaseDate": r.get("releaseDate"),
                    "eol": _api_flag(r, "Eol"),
                    "eoas": _api_flag(r, "Eoas"),
                    "eoes": _api_flag(r, "Eoes"),
                    "lts": _api_flag(r, "Lts"),
                    "discontinued": _api_flag(r, "Discontinued"),
                    "latest": latest.get("name"),
                    "latestReleaseDate": latest.get("date"),
                    "codename": r.get("codename"),
                }
            )
        products[pid] = compile_product(pid, _stringify(fm))
    if not products:
        raise CatalogError("the API answer held no products")
    return _document(products, source="endoflife.date API v1")


def _api_flag(release: Mapping[str, Any], name: str) -> Any:
    """The API gives ``isEol`` plus ``eolFrom``: the date when known, else the flag."""
    date = release.get(f"{name[0].lower()}{name[1:]}From")
    if isinstance(date, str) and date:
        return date
    flag = release.get(f"is{name}")
    return flag if isinstance(flag, bool) else None


def _stringify(value: Any) -> Any:
    """Make API values look like the base loader's (strings), so one compiler serves both."""
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return None
    return str(value)


def download(url: str = DEFAULT_URL, *, timeout: float = 30.0) -> dict[str, Any]:
    """Download and compile the catalogue from the endoflife.date API (needs network access)."""
    import httpx

    try:
        response = httpx.get(
            url, timeout=timeout, follow_redirects=True, headers={"Accept": "application/json"}
        )
        response.raise_for_status()
        payload = response.json()
    except httpx.HTTPStatusError as exc:
        raise CatalogError(f"download from {url} failed: HTTP {exc.response.status_code}") from exc
    except httpx.HTTPError as exc:
        raise CatalogError(
            f"cannot download the endoflife.date data from {url} ({exc.__class__.__name__}: {exc}); "
            "without network access, use 'update --from DIR' with a checkout of the repository's products/"
        ) from exc
    except ValueError as exc:
        raise CatalogError(f"{url} did not answer JSON: {exc}") from exc
    return from_api_v1(payload)
