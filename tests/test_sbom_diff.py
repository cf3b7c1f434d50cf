"""SBOM diff: real version pairs (proton-bridge 1.6.3 -> 1.8.0, laravel's BOM in two CycloneDX versions),
support changes from the lifecycle analysis, version ordering, and `medcyber sbom diff`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medcyber.lifecycle.analysis import analyse
from medcyber.sbom.diff import compare_versions, component_key, diff, purl_key
from medcyber.sbom.model import Component, Hash, Sbom
from medcyber.sbom.reader import read_sbom
from medcyber.sbom.support import declared_support
from sbom_store_cli import cli_app

PROTON_UPGRADES = {
    "pkg:golang/github.com/emersion/go-imap-quota": (
        "v0.0.0-20200423100218-dcfd1b7d2b41",
        "v0.0.0-20210203125329-619074823f3c",
    ),
    "pkg:golang/github.com/go-resty/resty/v2": ("v2.3.0", "v2.6.0"),
    "pkg:golang/github.com/miekg/dns": ("v1.1.30", "v1.1.41"),
    "pkg:golang/golang.org/x/net": (
        "v0.0.0-20200707034311-ab3426394381",
        "v0.0.0-20210405180319-a5a99cb37ef4",
    ),
    "pkg:golang/golang.org/x/sync": (
        "v0.0.0-20190911185100-cd5d95a43a6e",
        "v0.0.0-20210220032951-036812b2e83c",
    ),
    "pkg:golang/golang.org/x/sys": (
        "v0.0.0-20200323222414-85ca7c5b95cd",
        "v0.0.0-20210330210617-4fbd30eecc44",
    ),
    "pkg:golang/golang.org/x/term": (
        "v0.0.0-20201117132131-f5c789dd3221",
        "v0.0.0-20201126162022-7de9c90e9dd1",
    ),
}


def read(path: Path) -> Sbom:
    result = read_sbom(path)
    assert result.valid and result.sbom is not None
    return result.sbom


@pytest.fixture(scope="module")
def examples(shared_data: Path) -> Path:
    return shared_data / "sbom" / "cyclonedx-examples"


def test_proton_bridge_163_to_180(examples: Path) -> None:
    old = read(examples / "proton-bridge" / "proton-bridge-v1.6.3.bom.json")
    new = read(examples / "proton-bridge" / "proton-bridge-v1.8.0.bom.json")
    d = diff(old, new)
    assert d.summary == {
        "added": 0,
        "removed": 0,
        "upgraded": 7,
        "downgraded": 0,
        "changed": 0,
        "unchanged": 194,
        "support_changes": 0,
    }
    assert {c.key: (c.old_version, c.new_version) for c in d.upgraded} == PROTON_UPGRADES
    assert (d.old_name, d.new_name) == (
        "github.com/ProtonMail/proton-bridge v1.6.3",
        "github.com/ProtonMail/proton-bridge v1.8.0",
    )
    # and backwards every upgrade is a downgrade
    back = diff(new, old)
    assert {c.key for c in back.downgraded} == set(PROTON_UPGRADES) and not back.upgraded
    # the XML of 1.6.3 against the JSON of 1.8.0: the same answer across encodings
    xml_old = read(examples / "proton-bridge" / "proton-bridge-v1.6.3.bom.xml")
    assert diff(xml_old, new).summary == d.summary


def test_laravel_bom_12_and_14_describe_the_same_components(examples: Path) -> None:
    old = read(examples / "laravel-7.12.0" / "bom.1.2.json")
    new = read(examples / "laravel-7.12.0" / "bom.1.4.json")
    d = diff(old, new)
    assert d.summary["unchanged"] == len(old.components) == 62
    assert sum(v for k, v in d.summary.items() if k != "unchanged") == 0
    assert all(not c.details for c in d.unchanged)
    assert diff(old, read(examples / "laravel-7.12.0" / "bom.1.2.xml")).summary == d.summary


def test_edits_to_a_real_sbom_are_classified(shared_data: Path) -> None:
    """Take the medical-device SBOM, remove one component, add one, downgrade one, re-hash one and change
    one declared support: each edit shows up once, in its own category."""
    old = read(shared_data / "sbom" / "medical-device-case-study" / "narrow.sbom.json")
    comps = list(old.components)
    by_name = {c.name: i for i, c in enumerate(comps)}
    new_components = list(comps)
    removed = new_components.pop(by_name["Moq"])
    wolf = by_name["WolfSSL"]
    new_components[wolf - (wolf > by_name["Moq"])] = dataclasses.replace(comps[wolf], version="4.7.0")
    nlog = by_name["NLog"]
    nlog_i = nlog - (nlog > by_name["Moq"])
    new_components[nlog_i] = dataclasses.replace(
        comps[nlog],
        support=declared_support("Deprecated", comps[nlog].support.end_of_support_text),  # type: ignore[union-attr]
    )
    dapper = by_name["Dapper"]
    new_components[dapper - (dapper > by_name["Moq"])] = dataclasses.replace(
        comps[dapper], hashes=(Hash("SHA-256", "0" * 64),)
    )
    dapper_old = dataclasses.replace(comps[dapper], hashes=(Hash("SHA-256", "1" * 64),))
    old_components = list(comps)
    old_components[dapper] = dapper_old
    added = Component(ref="new-1", name="zlib", version="1.2.11", purl="pkg:generic/zlib@1.2.11")
    new_components.append(added)
    old = dataclasses.replace(old, components=old_components)
    new = dataclasses.replace(old, components=new_components)
    d = diff(old, new)
    assert [c.name for c in d.removed] == [removed.name]
    assert [c.name for c in d.added] == ["zlib"]
    assert [(c.name, c.old_version, c.new_version) for c in d.downgraded] == [("WolfSSL", "4.8.1", "4.7.0")]
    assert d.summary["unchanged"] == 55 - 2  # minus the removed and the downgraded
    rehashed = next(c for c in d.unchanged if c.name == "Dapper")
    assert rehashed.details == ["SHA-256 hash differs although the version is the same"]
    assert [(s.name, s.what) for s in d.support_changes] == [("NLog", "became end-of-support")]


def test_support_changes_over_time_on_keycloak(shared_data: Path) -> None:
    """The same SBOM judged in 2019 and in 2026: what fell out of support in between is reported."""
    sbom = read(shared_data / "sbom" / "cyclonedx-examples" / "keycloak-10.0.2" / "bom.json")
    then, now = analyse(sbom, as_of=dt.date(2019, 1, 1)), analyse(sbom, as_of=dt.date(2026, 1, 1))
    d = diff(sbom, sbom, old_lifecycle=then, new_lifecycle=now)
    assert d.summary["unchanged"] == 903
    became = {s.new_ref for s in d.support_changes if s.what == "became end-of-support"}
    expected = {
        lc.ref
        for lc_then, lc in zip(then.components, now.components, strict=True)
        if lc.support_status == "end-of-support" and lc_then.support_status != "end-of-support"
    }
    assert became == expected and len(expected) > 10
    assert "pkg:maven/org.keycloak/keycloak-core@10.0.2?type=jar" in became  # keycloak 10.0 ended 2020-07-22
    for s in d.support_changes:
        assert s.new_status == "end-of-support" and s.new_eol is not None and s.new_eol <= dt.date(2026, 1, 1)


def test_version_order() -> None:
    assert compare_versions("1.2.9", "1.2.10") == "newer"
    assert compare_versions("v1.1.41", "v1.1.30") == "older"
    assert compare_versions("2.0.0rc1", "2.0.0") == "newer"
    assert compare_versions("5.3.15.Final", "5.4.2.Final") == "newer"
    assert compare_versions("9.4.27.v20200227", "9.4.6.v20170531") == "older"
    assert compare_versions("0.13c", "0.14") == "newer"
    assert compare_versions("1.0", "1.0.0") == "same"
    assert compare_versions("1.0", "1.0") == "same"
    assert compare_versions("abc", "def") == "unknown"
    assert compare_versions("a1b2c3", "1.0") == "unknown"
    assert compare_versions(None, "1.0") == "unknown"


def test_matching_keys() -> None:
    assert purl_key("pkg:maven/org.x/y@1.2?type=jar") == "pkg:maven/org.x/y"
    assert purl_key("pkg:maven/org.x/y@1.2?classifier=sources") == "pkg:maven/org.x/y?classifier=sources"
    assert purl_key("pkg:pypi/Django_Rest@3.0") == "pkg:pypi/django-rest"
    assert purl_key("pkg:npm/%40angular/core@9.0.0") == "pkg:npm/@angular/core"
    assert purl_key("not a purl") is None
    assert component_key(Component(ref="a", name="Foo", group="org.acme")) == "name:foo|org.acme"
    assert component_key(Component(ref="a", name="Foo", supplier="Acme")) == "name:foo|acme"


def test_cli_diff_files_and_store_versions(store_url: str, examples: Path) -> None:
    runner = CliRunner()
    app = cli_app()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(
            app, list(args), env={"MEDCYBER_DATABASE_URL": store_url}, catch_exceptions=False
        )

    old = examples / "proton-bridge" / "proton-bridge-v1.6.3.bom.json"
    new = examples / "proton-bridge" / "proton-bridge-v1.8.0.bom.json"
    r = run("sbom", "diff", str(old), str(new), "--json", "--as-of", "2026-01-01")
    assert r.exit_code == 0, r.output
    from_files = json.loads(r.stdout)
    assert from_files["summary"]["upgraded"] == 7
    for version, path in (("1.6.3", old), ("1.8.0", new)):
        r = run("sbom", "import", str(path), "--product", "Bridge", "--version", version, "--org", "Proton")
        assert r.exit_code == 0, r.output
    r = run("sbom", "diff", "Bridge@1.6.3", "Bridge@1.8.0", "--json", "--as-of", "2026-01-01")
    assert r.exit_code == 0, r.output
    from_store = json.loads(r.stdout)
    assert from_store["summary"] == from_files["summary"]
    assert (from_store["old"], from_store["new"]) == ("Bridge@1.6.3", "Bridge@1.8.0")
    r = run("sbom", "diff", "Bridge@1.6.3", str(new))
    assert r.exit_code == 0
    assert "7 upgraded" in " ".join(r.output.split())
    assert sum(line.startswith("│ upgraded") for line in r.output.splitlines()) == 7
    r = run("sbom", "diff", "Bridge@9", str(new))
    assert r.exit_code == 1 and "has no version '9'" in r.output
    r = run("sbom", "diff", "nothing-here", str(new))
    assert r.exit_code == 1 and "no such file" in r.output


def test_keycloak_json_and_xml_are_the_same_bom(examples: Path) -> None:
    """The same BOM in two encodings: nothing changed, and whitespace in licence names is no change."""
    d = diff(read(examples / "keycloak-10.0.2" / "bom.json"), read(examples / "keycloak-10.0.2" / "bom.xml"))
    assert d.summary["unchanged"] == 903
    assert sum(d.summary.values()) == 903
    assert not [c for c in d.unchanged if c.details]
