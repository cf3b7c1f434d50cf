"""`medcyber sbom check` end to end on the real SBOM files in ../shared/data/sbom/."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("medcyber.sbom.reader")

from medcyber.cli.sbom import app  # noqa: E402

runner = CliRunner()


def invoke(*args: str | Path):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["check", *map(str, args)], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def sbom_dir() -> Path:
    path = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sbom"
    if not path.is_dir():
        pytest.fail(f"the real SBOM data is missing at {path}")
    return path


@pytest.fixture(scope="module")
def narrow(sbom_dir: Path) -> Path:
    return sbom_dir / "medical-device-case-study" / "narrow.sbom.json"


def png_bytes() -> bytes:
    """A real 1x1 PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def test_spec_corpus_directory_json(sbom_dir: Path) -> None:
    folder = sbom_dir / "cyclonedx-spec-tests" / "1.6"
    result = invoke(folder, "--format", "json")
    assert result.exit_code == 1  # the folder holds invalid-* files
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    assert len(data) >= 180
    by_name = {Path(entry["file"]).name: entry for entry in data}
    for entry in data:
        for key in ("file", "valid", "format", "spec_version", "components", "errors", "quality"):
            assert key in entry, key
        assert isinstance(entry["valid"], bool)
        assert all(set(e) >= {"path", "message"} for e in entry["errors"])
        if entry["quality"] is not None:
            assert set(entry["quality"]) >= {"score", "elements", "gaps", "components"}
            assert 0 <= entry["quality"]["score"] <= 100
    for name, entry in by_name.items():
        if name.startswith("invalid-") and name.endswith((".json", ".xml")):
            assert entry["valid"] is False, name
            assert entry["errors"], name
        if name.startswith("valid-") and name.endswith((".json", ".xml")):
            assert entry["valid"] is True, (name, entry["errors"][:3])
            assert entry["format"] == "cyclonedx" and entry["spec_version"] == "1.6"
            assert entry["quality"] is not None
    assert by_name["valid-bom-1.6.json"]["encoding"] == "json"
    assert by_name["valid-bom-1.6.xml"]["encoding"] == "xml"


def test_medical_device_sbom_json_and_fail_under(narrow: Path) -> None:
    result = invoke(narrow, "--format", "json")
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)
    assert entry["valid"] is True and entry["components"] == 55
    quality = entry["quality"]
    assert quality["elements"]["support_level"]["coverage"] == 100.0
    assert quality["elements"]["end_of_support"]["coverage"] == 100.0
    assert len(quality["components"]) == 55
    eos = {c["checks"]["end_of_support"]["value"] for c in quality["components"]}
    assert "Until hardware support ends" in eos and "Open source" in eos
    score = quality["score"]
    assert 0 < score < 100
    assert invoke(narrow, "--fail-under", str(score)).exit_code == 0
    assert invoke(narrow, "--fail-under", f"{score + 0.1:.1f}").exit_code == 1
    assert invoke(narrow, "--fail-under", "0").exit_code == 0
    assert invoke(narrow, "--fail-under", "101").exit_code == 2  # out of range: usage


def test_table_for_one_file_shows_components_verbatim(narrow: Path) -> None:
    result = runner.invoke(app, ["check", str(narrow)], catch_exceptions=False, env={"COLUMNS": "250"})
    assert result.exit_code == 0
    out = result.stdout
    assert "quality score" in out
    assert "no component declares a hash" in out
    assert "Until hardware support ends" in out
    assert "Qualcomm Atheros QCA9563" in out  # the per-component table
    assert "components" in out and "elements" in out


def test_html_report_is_self_contained(narrow: Path, sbom_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    keycloak = sbom_dir / "cyclonedx-examples" / "keycloak-10.0.2" / "bom.json"
    result = invoke(narrow, keycloak, "--format", "html", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "<style>" in html
    for external in ("<link", "<script", "src=", "@import", "url(", "http://cdn", "https://cdn"):
        assert external not in html
    assert "Until hardware support ends" in html
    assert "no component declares an end-of-support date" in html  # keycloak
    assert html.count('<table class="components">') == 2


def test_unreadable_file_is_a_clean_error(tmp_path: Path) -> None:
    fake = tmp_path / "picture.json"
    fake.write_bytes(png_bytes())
    result = invoke(fake, "--format", "json")
    assert result.exit_code == 1
    [entry] = json.loads(result.stdout)
    assert entry["valid"] is False
    assert entry["quality"] is None and entry["components"] is None
    assert entry["errors"] and entry["errors"][0]["message"]
    table = invoke(fake)
    assert table.exit_code == 1
    assert "invalid" in table.stdout


def test_errors_are_capped_in_the_table(tmp_path: Path) -> None:
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [{"type": "not-a-type", "name": f"c{i}"} for i in range(30)],
    }
    bad = tmp_path / "bad.cdx.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    data = json.loads(invoke(bad, "--format", "json").stdout)
    n = len(data[0]["errors"])
    assert n >= 30 and data[0]["valid"] is False
    assert all(e["path"].startswith("/components/") for e in data[0]["errors"])
    result = runner.invoke(app, ["check", str(bad)], catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert f"... and {n - 20} more" in result.stdout
    # --lenient scores what could be read, and still fails the run
    lenient = invoke(bad, "--lenient", "--format", "json")
    assert lenient.exit_code == 1
    assert json.loads(lenient.stdout)[0]["valid"] is False


def test_max_bytes_and_usage_errors(narrow: Path, tmp_path: Path) -> None:
    result = invoke(narrow, "--max-bytes", "1000", "--format", "json")
    assert result.exit_code == 1
    [entry] = json.loads(result.stdout)
    assert entry["valid"] is False and entry["errors"]
    assert invoke(tmp_path / "missing.json").exit_code == 2
    assert invoke(narrow, "--format", "pdf").exit_code == 2
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    assert invoke(empty).exit_code == 2


def test_out_file_for_table_and_json(narrow: Path, tmp_path: Path) -> None:
    out = tmp_path / "check.txt"
    assert invoke(narrow, "--out", out).exit_code == 0
    assert "quality score" in out.read_text(encoding="utf-8")
    out_json = tmp_path / "check.json"
    assert invoke(narrow, "--format", "json", "--out", out_json).exit_code == 0
    assert json.loads(out_json.read_text(encoding="utf-8"))[0]["components"] == 55
