"""`medcyber lifecycle` end to end on real SBOMs: the medical-device case study and CycloneDX examples."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medcyber.cli.lifecycle import app
from medcyber.lifecycle.analysis import analyse
from medcyber.lifecycle.catalog import DEFAULT_PATH

runner = CliRunner()


@pytest.fixture(scope="module")
def medical(shared_data: Path) -> Path:
    return shared_data / "sbom" / "medical-device-case-study" / "narrow.sbom.json"


def _check(*args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    res = runner.invoke(app, ["check", *args, "--json"])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.stdout)


def test_medical_device_sbom_end_to_end(medical: Path) -> None:
    code, data = _check(str(medical), "--as-of", "2025-07-23")
    assert code == 0 and data["as_of"] == "2025-07-23" and data["counts"]["total"] == 55
    by = {c["name"]: c for c in data["components"]}
    # support texts kept as the author wrote them
    qca = by["Qualcomm Atheros QCA9563"]
    assert qca["declared"]["level_text"] == "Actively maintained"
    assert qca["declared"]["end_of_support_text"] == "Until hardware support ends"
    assert qca["support_status"] == "supported" and qca["eol"] is None and qca["source"]["kind"] == "declared"
    # declared no-longer-maintained components are legacy
    legacy = {c["name"] for c in data["legacy"]}
    assert {"Common.Logging", "FluentValidationNA", "Unity.Container", "NLog.Config"} <= legacy
    assert by["FluentValidationNA"]["declared"]["end_of_support_text"] == "No longer supported"
    # nothing declared that can be used and nothing derived: unknown, said explicitly
    qm = by["QMScoringAPI"]
    assert qm["support_status"] == "unknown" and qm["source"]["kind"] == "none"
    assert "no endoflife.date product" in qm["reason"] and "'Unknown'" in qm["reason"]
    # jQuery (a NuGet package) found by its purl; its cycle 3 is supported, as declared
    jq = by["jQuery"]
    assert jq["source"] == {"kind": "declared", "product": "jquery", "cycle": "3", "match": "purl"}
    assert jq["disagreement"] is None
    assert data["counts"]["unknown"] == 1 and data["counts"]["end-of-support"] == len(data["legacy"]) == 9


def test_medical_device_table_and_fail_on_eos(medical: Path) -> None:
    res = runner.invoke(app, ["check", str(medical), "--as-of", "2025-07-23"], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "9 past end of support" in res.stdout and "supportability horizon" in res.stdout
    res = runner.invoke(app, ["check", str(medical), "--as-of", "2025-07-23", "--fail-on-eos"])
    assert res.exit_code == 1


def test_keycloak_end_to_end(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "sbom" / "cyclonedx-examples" / "keycloak-10.0.2" / "bom.json"
    chart = tmp_path / "timeline.svg"
    code, data = _check(str(path), "--as-of", "2025-07-23", "--chart", str(chart))
    assert data["counts"]["total"] == 903
    rows = [c for c in data["components"] if c["source"]["product"]]
    kc = next(c for c in rows if c["name"] == "keycloak-core")
    assert kc["source"] == {"kind": "derived", "product": "keycloak", "cycle": "10.0", "match": "purl"}
    assert kc["support_status"] == "end-of-support"
    log4j = next(c for c in rows if c["name"] == "log4j")
    assert (log4j["version"], log4j["source"]["cycle"], log4j["support_status"]) == (
        "1.2.17",
        "1",
        "end-of-support",
    )
    spring = [
        c for c in rows if c["source"]["product"] == "spring-framework" and c["version"].startswith("5.0.")
    ]
    assert spring and all(c["source"]["cycle"] == "5.0" and c["eol"] for c in spring)
    # a horizon strictly after as_of, and every legacy component is past its end or flagged ended
    assert data["horizon"] is None or data["horizon"]["date"] > "2025-07-23"
    assert all(c["eol"] is None or c["eol"] <= "2025-07-23" for c in data["legacy"])
    # unmatched components are explicitly unknown
    assert all(c["support_status"] == "unknown" for c in data["components"] if c["source"]["kind"] == "none")
    assert chart.read_text().startswith("<svg")


def test_as_of_moves_components_into_legacy(shared_data: Path) -> None:
    from medcyber.sbom.reader import read_sbom

    sbom = read_sbom(shared_data / "sbom" / "cyclonedx-examples" / "keycloak-10.0.2" / "bom.json").sbom
    assert sbom is not None
    early = analyse(sbom, as_of=dt.date(2018, 1, 1))
    late = analyse(sbom, as_of=dt.date(2030, 1, 1))
    assert len(late.legacy) > len(early.legacy)
    assert early.horizon is not None and early.horizon > dt.date(2018, 1, 1)


def test_juice_shop_end_to_end(shared_data: Path) -> None:
    path = shared_data / "sbom" / "cyclonedx-examples" / "juice-shop-v11.1.2" / "bom.json"
    code, data = _check(str(path), "--as-of", "2025-07-23")
    by = {c["source"]["product"]: c for c in data["components"] if c["source"]["product"]}
    assert by["express"]["source"] == {"kind": "derived", "product": "express", "cycle": "4", "match": "purl"}
    assert by["express"]["support_status"] == "supported"  # endoflife.date: 4 has no end date (eol false)
    assert by["grunt"]["source"]["cycle"] == "1.2" and by["grunt"]["support_status"] == "end-of-support"
    assert data["counts"]["unknown"] == data["counts"]["total"] - 2
    for c in data["components"]:
        assert c["support_status"] in ("supported", "end-of-support", "unknown")
        if c["support_status"] == "unknown":
            assert c["reason"]


def test_bad_inputs_are_clean_errors(tmp_path: Path) -> None:
    res = runner.invoke(app, ["check", str(tmp_path / "missing.json")])
    assert res.exit_code == 1 and "no such file" in res.stderr and "Traceback" not in res.output
    junk = tmp_path / "junk.json"
    junk.write_text("{ not json")
    res = runner.invoke(app, ["check", str(junk)])
    assert res.exit_code == 1 and "error" in res.stderr and "Traceback" not in res.output
    res = runner.invoke(app, ["check", str(junk), "--as-of", "yesterday"])
    assert res.exit_code == 2 and "not a date" in res.output


def test_update_from_directory_rebuilds_the_shipped_file(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "eol.json"
    res = runner.invoke(
        app, ["update", "--from", str(shared_data / "endoflife" / "products"), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "products" in res.stdout
    assert out.read_bytes() == DEFAULT_PATH.read_bytes()


def test_update_download_fails_cleanly_offline(tmp_path: Path) -> None:
    out = tmp_path / "eol.json"
    res = runner.invoke(
        app, ["update", "--url", "http://127.0.0.1:9/api/v1/products/full", "-o", str(out), "--timeout", "3"]
    )
    assert res.exit_code == 1
    assert "cannot download" in res.stderr and "--from" in res.stderr
    assert not out.exists()


def test_update_from_a_directory_without_products(tmp_path: Path) -> None:
    res = runner.invoke(app, ["update", "--from", str(tmp_path), "-o", str(tmp_path / "x.json")])
    assert res.exit_code == 1 and "no endoflife.date product files" in res.stderr


def test_invalid_sbom_refused_unless_lenient(shared_data: Path) -> None:
    """A schema-invalid SBOM is not analysed silently: refused, or analysed with --lenient."""
    bad = shared_data / "sbom" / "cyclonedx-spec-tests" / "1.6" / "invalid-component-type-1.6.json"
    res = runner.invoke(app, ["check", str(bad), "--json"])
    assert res.exit_code == 1 and "not a valid SBOM" in res.stderr
    res = runner.invoke(app, ["check", str(bad), "--json", "--lenient"])
    assert res.exit_code == 0, res.output
    assert "components" in json.loads(res.stdout)
