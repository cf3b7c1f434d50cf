"""Lifecycle analysis: catalogue, matching, cycle selection and status, on the real endoflife.date data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from medcyber.lifecycle.analysis import analyse
from medcyber.lifecycle.catalog import (
    DEFAULT_PATH,
    Catalog,
    CatalogError,
    compile_products,
    from_api_v1,
    write_catalog,
)
from medcyber.lifecycle.chart import timeline_chart, write_timeline
from medcyber.lifecycle.match import matcher_for, parse_cpe, parse_purl, select_cycle
from medcyber.sbom.model import Component, ComponentType, DocumentInfo, Sbom, SupportLevel
from medcyber.sbom.support import declared_support


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def _sbom(*components: Component) -> Sbom:
    return Sbom(
        document=DocumentInfo(format="cyclonedx", spec_version="1.6", encoding="json"),
        components=list(components),
    )


def _cycle(catalog: Catalog, product: str, version: str) -> str | None:
    p = catalog.get(product)
    assert p is not None, product
    release = matcher_for(catalog).select_cycle(p, version).release
    return release.cycle if release is not None else None


# ---- catalogue ------------------------------------------------------------------------------------------
def test_shipped_catalogue_loads_fast_and_holds_the_upstream_products(catalog: Catalog) -> None:
    assert len(catalog) >= 450
    openssl = catalog.get("openssl")
    assert openssl is not None and "cpe:2.3:a:openssl:openssl" in openssl.cpes
    r102 = next(r for r in openssl.releases if r.cycle == "1.0.2")
    assert r102.eol == dt.date(2019, 12, 31) and r102.released == dt.date(2015, 1, 22) and r102.lts is True
    jquery = catalog.get("jquery")
    assert jquery is not None and {r.cycle: r.eol for r in jquery.releases}["2"] is True
    assert (DEFAULT_PATH.parent / "LICENSE-endoflife.txt").read_text().startswith("MIT License")
    assert Catalog.load() is Catalog.load()  # read once per process (timing: benchmarks/bench_lifecycle.py)


def test_cycles_stay_strings_as_written(catalog: Catalog) -> None:
    python = catalog.get("python")
    assert python is not None
    assert "3.10" in {r.cycle for r in python.releases}  # a YAML float would have made it 3.1


def test_compiling_the_products_again_gives_the_shipped_file(tmp_path: Path, shared_data: Path) -> None:
    out = write_catalog(compile_products(shared_data / "endoflife" / "products"), tmp_path / "eol.json")
    assert out.read_bytes() == DEFAULT_PATH.read_bytes()


def test_compile_errors_are_clean(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="not a directory"):
        compile_products(tmp_path / "nope")
    with pytest.raises(CatalogError, match="no endoflife.date product files"):
        compile_products(tmp_path)
    (tmp_path / "bad.md").write_text("no front matter here\n")
    with pytest.raises(CatalogError, match="no product could be compiled"):
        compile_products(tmp_path)
    (tmp_path / "x.json").write_text('{"format": 99}')
    with pytest.raises(CatalogError, match="not a compiled"):
        Catalog.load(tmp_path / "x.json")


def test_api_v1_answer_compiles_like_the_product_files() -> None:
    payload = {
        "result": [
            {
                "name": "openssl",
                "label": "OpenSSL",
                "category": "framework",
                "aliases": [],
                "identifiers": [{"type": "cpe", "id": "cpe:2.3:a:openssl:openssl"}],
                "releases": [
                    {
                        "name": "3.0",
                        "releaseDate": "2021-09-07",
                        "isEol": False,
                        "eolFrom": "2026-09-07",
                        "isLts": True,
                        "latest": {"name": "3.0.13", "date": "2024-01-30"},
                    },
                    {"name": "1.0.2", "releaseDate": "2015-01-22", "isEol": True, "eolFrom": "2019-12-31"},
                    {"name": "0.9.6", "isEol": True, "eolFrom": None},
                ],
            }
        ]
    }
    cat = Catalog.from_dict(json.loads(json.dumps(from_api_v1(payload))))
    p = cat.get("openssl")
    assert p is not None
    eols = {r.cycle: r.eol for r in p.releases}
    assert eols == {"3.0": dt.date(2026, 9, 7), "1.0.2": dt.date(2019, 12, 31), "0.9.6": True}
    assert p.releases[0].latest == "3.0.13" and p.releases[0].lts is True


# ---- cycle selection -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("product", "version", "cycle"),
    [
        ("openssl", "1.0.2u", "1.0.2"),
        ("openssl", "3.0.13", "3.0"),
        ("openssl", "1.1.1w", "1.1.1"),
        ("openssl", "0.9.8zh", "0.9.8"),
        ("openssl", "1:3.0.2-0ubuntu1.10", "3.0"),  # Debian epoch and revision
        ("android", "10.0", "10"),
        ("android", "12.1", "12.1"),
        ("android", "12.0.0", "12"),
        ("android", "1", "1.0"),  # zero-padded: "1" is the "1.0" cycle
        ("nodejs", "v18.19.0", "18"),
        ("nodejs", "18", "18"),
        ("python", "3.8.10", "3.8"),
        ("python", "3.10.4", "3.10"),
        ("python", "3.1.5", "3.1"),
        ("debian", "11.8", "11"),
        ("ubuntu", "22.04.3", "22.04"),
        ("jquery", "3.1.1", "3"),
        ("eclipse-temurin", "1.8.0_292", "8"),  # product rule: Java 1.8 is 8
        ("eclipse-temurin", "17.0.9+9", "17"),
        ("windows", "10.0.19045.3803", "10-22h2"),  # product rule: build number
    ],
)
def test_cycle_selection(catalog: Catalog, product: str, version: str, cycle: str) -> None:
    assert _cycle(catalog, product, version) == cycle


@pytest.mark.parametrize(
    ("product", "version", "why"),
    [
        ("openssl", "2.0.0", "in no OpenSSL release cycle"),
        ("android", "99.0", "in no Android"),
        ("nodejs", "180.1", "in no Node.js"),  # "18" is not a prefix of "180" at a boundary
        ("python", "", "no version given"),
        ("python", None, "no version given"),
        ("windows", "10.0.26100", "the edition is needed"),  # several editions share the build
    ],
)
def test_no_cycle_has_a_reason(catalog: Catalog, product: str, version: str | None, why: str) -> None:
    p = catalog.get(product)
    assert p is not None
    choice = matcher_for(catalog).select_cycle(p, version)
    assert choice.release is None and choice.reason is not None and why in choice.reason


def test_product_rules_apply_only_to_their_products(catalog: Catalog) -> None:
    python = catalog.get("python")
    assert python is not None
    # the Java rewrite would turn 1.8 into 8; Python has no 8 and no rule, so nothing is chosen
    assert select_cycle(python, "1.8.0").release is None


# ---- identifiers --------------------------------------------------------------------------------------
def test_purl_parsing_normalises_per_type() -> None:
    assert parse_purl("pkg:pypi/Django_REST.framework@3.0?x=1#sub").key == (
        "pypi",
        "",
        "django-rest-framework",
    )  # type: ignore[union-attr]
    assert parse_purl("pkg:npm/%40angular/core@17.0.0").key == ("npm", "@angular", "core")  # type: ignore[union-attr]
    assert parse_purl("pkg:npm/@angular/core@17.0.0").key == ("npm", "@angular", "core")  # type: ignore[union-attr]
    m = parse_purl("pkg:maven/org.springframework/spring-core@5.3.1?type=jar")
    assert m is not None and m.key == ("maven", "org.springframework", "spring-core") and m.version == "5.3.1"
    assert parse_purl("pkg:docker/node@18").key == ("docker", "library", "node")  # type: ignore[union-attr]
    assert parse_purl("not a purl") is None and parse_purl("pkg:npm") is None


def test_cpe_parsing_and_wildcards() -> None:
    c = parse_cpe("cpe:2.3:a:openssl:openssl:1.0.2u:*:*:*:*:*:*:*")
    assert c is not None and c.key == ("a", "openssl", "openssl") and c.version == "1.0.2u" and c.definite
    u = parse_cpe("cpe:/a:openssl:openssl:1.0.2")
    assert u is not None and u.key == c.key
    e = parse_cpe("cpe:2.3:a:erlang:erlang\\/otp:26.1:*:*:*:*:*:*:*")
    assert e is not None and e.product == "erlang/otp"
    assert not parse_cpe("cpe:2.3:a:*:openssl:1.0.2:*:*:*:*:*:*:*").definite  # type: ignore[union-attr]
    assert not parse_cpe("cpe:2.3:a:openssl:*:*:*:*:*:*:*:*:*").definite  # type: ignore[union-attr]
    assert parse_cpe("openssl") is None


@pytest.mark.parametrize(
    ("name", "purl", "cpes", "product", "rule"),
    [
        ("whatever", "pkg:pypi/Django@4.2.1", (), "django", "purl"),
        ("angular core", "pkg:npm/%40angular/core@17.0.0", (), "angular", "purl"),
        ("jQuery", "pkg:nuget/jQuery@3.1.1", (), "jquery", "purl"),
        ("spring", "pkg:maven/org.springframework/spring-core@5.3.1", (), "spring-framework", "purl"),
        ("x", None, ("cpe:2.3:a:openssl:openssl:1.0.2u:*:*:*:*:*:*:*",), "openssl", "cpe"),
        ("x", None, ("cpe:/o:google:android:10.0",), "android", "cpe"),
        ("OpenSSL", None, (), "openssl", "name"),
        ("Node.js", None, (), "nodejs", "name"),
        ("Apache Kafka", None, (), "apache-kafka", "name"),
    ],
)
def test_matching(
    catalog: Catalog, name: str, purl: str | None, cpes: tuple[str, ...], product: str, rule: str
) -> None:
    out = matcher_for(catalog).match(name=name, purl=purl, cpes=cpes)
    assert out.match is not None, out.reason
    assert (out.match.product.id, out.match.rule) == (product, rule)


@pytest.mark.parametrize(
    ("name", "purl", "cpes", "why"),
    [
        ("libfoo", None, ("cpe:2.3:a:*:openssl:1.0.2:*:*:*:*:*:*:*",), "wildcard"),  # wildcard vendor
        ("libfoo", None, ("cpe:2.3:a:openssl:*:*:*:*:*:*:*:*:*",), "wildcard"),  # wildcard product
        ("core", None, (), "no endoflife.date product"),  # generic word
        ("node", None, (), "no endoflife.date product"),  # generic word, although an alias of nodejs
        ("php", None, (), "no endoflife.date product"),  # three letters
        ("redis", "pkg:pypi/redis@4.0", (), "pypi package"),  # the client library is not the server
        ("mysql", "pkg:npm/mysql@2.18.1", (), "npm package"),
        ("django", "pkg:pypi/django-stubs@4.2", (), "is not one of django's"),  # same type, other package
        ("automation", None, ("cpe:2.3:a:redhat:ansible:2.9:*:*:*:*:*:*:*",), "several products"),
    ],
)
def test_no_match(catalog: Catalog, name: str, purl: str | None, cpes: tuple[str, ...], why: str) -> None:
    out = matcher_for(catalog).match(name=name, purl=purl, cpes=cpes)
    assert out.match is None
    assert out.reason is not None and why in out.reason


# ---- analysis -----------------------------------------------------------------------------------------
OPENSSL_102 = Component(
    ref="ssl", name="openssl", version="1.0.2u", cpes=("cpe:2.3:a:openssl:openssl:1.0.2u:*:*:*:*:*:*:*",)
)
OPENSSL_30 = Component(ref="ssl3", name="OpenSSL", version="3.0.13", purl="pkg:generic/openssl@3.0.13")


def test_as_of_changes_the_status(catalog: Catalog) -> None:
    before = analyse(_sbom(OPENSSL_102), as_of=dt.date(2019, 12, 30), catalog=catalog).components[0]
    on = analyse(_sbom(OPENSSL_102), as_of=dt.date(2019, 12, 31), catalog=catalog).components[0]
    assert before.support_status == "supported" and before.support_level is SupportLevel.ACTIVELY_MAINTAINED
    assert on.support_status == "end-of-support" and on.support_level is SupportLevel.NO_LONGER_MAINTAINED
    assert (on.source, on.product, on.cycle, on.match, on.eol) == (
        "derived",
        "openssl",
        "1.0.2",
        "cpe",
        dt.date(2019, 12, 31),
    )


def test_legacy_horizon_and_counts(catalog: Catalog) -> None:
    android = Component(
        ref="os",
        name="Android",
        version="10.0",
        type=ComponentType.OPERATING_SYSTEM,
        cpes=("cpe:/o:google:android",),
    )
    jquery2 = Component(ref="jq", name="jquery", version="2.2.4", purl="pkg:npm/jquery@2.2.4")
    unknown = Component(ref="mine", name="our-private-lib", version="1.0")
    report = analyse(
        _sbom(OPENSSL_102, OPENSSL_30, android, jquery2, unknown), as_of=dt.date(2024, 1, 1), catalog=catalog
    )
    by = {c.ref: c for c in report.components}
    assert by["os"].cycle == "10" and by["os"].support_status == "end-of-support"  # Android 10 ended 2023
    assert by["jq"].support_status == "end-of-support" and by["jq"].eol is None and by["jq"].derived_eol_flag
    assert by["ssl3"].support_status == "supported" and by["ssl3"].eol == dt.date(2026, 9, 7)
    assert by["mine"].support_status == "unknown" and by["mine"].source == "none"
    assert by["mine"].reason and "no endoflife.date product" in by["mine"].reason
    assert {c.ref for c in report.legacy} == {"ssl", "os", "jq"}
    assert report.horizon == dt.date(2026, 9, 7) and report.horizon_refs == ["ssl3"]
    assert report.counts["end-of-support"] == 3 and report.counts["unknown"] == 1
    assert report.counts["supported"] == 1 and report.counts["total"] == 5 and report.counts["matched"] == 4


def test_declared_wins_and_disagreement_is_in_plain_words(catalog: Catalog) -> None:
    claimed = Component(
        ref="a",
        name="openssl",
        version="1.0.2u",
        cpes=OPENSSL_102.cpes,
        support=declared_support("Actively maintained", None, source="property"),
    )
    row = analyse(_sbom(claimed), as_of=dt.date(2025, 7, 1), catalog=catalog).components[0]
    assert row.source == "declared" and row.support_level is SupportLevel.ACTIVELY_MAINTAINED
    assert row.eol == dt.date(2019, 12, 31)  # the date the SBOM lacks comes from the catalogue
    assert row.support_status == "end-of-support"  # an end of support in the past is never "supported"
    assert (
        row.disagreement
        == "declared 'Actively maintained' but OpenSSL 1.0.2 reached end of life on 2019-12-31"
    )


def test_declared_date_in_force_and_date_disagreement(catalog: Catalog) -> None:
    c = Component(
        ref="b",
        name="OpenSSL",
        version="3.0.13",
        purl="pkg:generic/openssl@3.0.13",
        support=declared_support("Actively maintained", "2028-12-31"),
    )
    row = analyse(_sbom(c), as_of=dt.date(2027, 1, 1), catalog=catalog).components[0]
    assert row.eol == dt.date(2028, 12, 31) and row.derived_eol == dt.date(2026, 9, 7)
    assert row.support_status == "supported"  # declared wins (the manufacturer may have extended support)
    assert row.disagreement is not None
    assert "declared end of support 2028-12-31 but endoflife.date gives 2026-09-07" in row.disagreement


def test_declared_no_longer_maintained_against_a_supported_cycle(catalog: Catalog) -> None:
    c = Component(
        ref="c",
        name="jQuery",
        version="3.1.1",
        purl="pkg:npm/jquery@3.1.1",
        support=declared_support("Deprecated", None),
    )
    row = analyse(_sbom(c), as_of=dt.date(2025, 1, 1), catalog=catalog).components[0]
    assert row.support_status == "end-of-support" and row.derived_level is SupportLevel.ACTIVELY_MAINTAINED
    assert row.disagreement == "declared 'Deprecated' but jQuery 3 is still supported (no end date announced)"


def test_agreement_is_not_flagged(catalog: Catalog) -> None:
    c = Component(
        ref="d",
        name="jQuery",
        version="3.1.1",
        purl="pkg:nuget/jQuery@3.1.1",
        support=declared_support("Actively maintained", "Open source"),
    )
    row = analyse(_sbom(c), as_of=dt.date(2025, 1, 1), catalog=catalog).components[0]
    assert row.support_status == "supported" and row.disagreement is None and row.cycle == "3"


def test_report_serialises_to_json(catalog: Catalog) -> None:
    c = Component(ref="e", name="x", support=declared_support("Unknown", "Unknown"))
    report = analyse(_sbom(c, OPENSSL_102), as_of=dt.date(2025, 1, 1), catalog=catalog)
    data = json.loads(report.model_dump_json())
    row = data["components"][0]
    assert row["support_status"] == "unknown" and row["source"] == "none"
    assert row["declared"]["level_text"] == "Unknown"
    assert "the SBOM declares level 'Unknown' and end of support 'Unknown'" in row["reason"]
    assert data["legacy"][0]["eol"] == "2019-12-31"


def test_timeline_chart_renders(catalog: Catalog, tmp_path: Path) -> None:
    report = analyse(_sbom(OPENSSL_102, OPENSSL_30), as_of=dt.date(2024, 1, 1), catalog=catalog)
    spec = timeline_chart(report).to_dict()
    values = [v for layer in spec["layer"] for v in layer["data"]["values"]]
    assert any(v.get("start") == "2015-01-22" and v.get("end") == "2019-12-31" for v in values)
    svg = write_timeline(report, tmp_path / "t.svg").read_text()
    assert svg.startswith("<svg") and "as of 2024-01-01" in svg
    html = write_timeline(report, tmp_path / "t.html").read_text()
    assert "<svg" in html
    with pytest.raises(ValueError):
        write_timeline(report, tmp_path / "t.png")
