"""The advisory parsers on the real data in ../shared/data (PyPA OSV, NVD, KEV) and on broken input."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import zipfile
from pathlib import Path

import orjson
import pytest
import yaml

from medcyber.vulns.sources import Parsed, RecordError, SourceError, codec, parse_datetime
from medcyber.vulns.sources.epss import parse_csv, read_epss
from medcyber.vulns.sources.kev import parse_catalog, read_kev
from medcyber.vulns.sources.nvd import parse_cve, parse_page, read_nvd
from medcyber.vulns.sources.osv import ZipLimits, parse_document, parse_record, read_osv, read_zip

EPSS_TEST = Path(__file__).parent / "data" / "epss" / "epss_scores-test.csv.gz"


@pytest.fixture(scope="module")
def pypa(shared_data: Path) -> list[Parsed]:
    return list(read_osv([shared_data / "osv/pypi/vulns"]))


def _ok(items):  # type: ignore[no-untyped-def]
    return [i.value for i in items if i.value is not None]


def test_whole_pypa_database_parses(pypa: list[Parsed]) -> None:
    assert [p for p in pypa if p.problem] == []
    advisories = _ok(pypa)
    assert len(advisories) == 2661  # the 2,662 files include the id-allocator, which is not a record
    assert len({a.id for a in advisories}) == 2661
    assert sum(1 for a in advisories if a.withdrawn) == 10
    assert all(a.modified.tzinfo is dt.UTC for a in advisories)
    assert sum(1 for a in advisories if a.severities) == 202
    assert all(s.type == "CVSS_V3" for a in advisories for s in a.severities)


def test_known_record_read_field_by_field(pypa: list[Parsed]) -> None:
    adv = next(p.value for p in pypa if p.value and p.value.id == "PYSEC-2021-76")
    assert adv.source == "osv"
    assert adv.aliases == ("CVE-2021-21330", "GHSA-v6wp-4m6f-gcjg")
    assert adv.cve_ids() == ("CVE-2021-21330",)
    assert adv.modified == dt.datetime(2021, 3, 26, 20, 1, tzinfo=dt.UTC)
    assert adv.published == dt.datetime(2021, 2, 26, 3, 15, tzinfo=dt.UTC)
    (aff,) = adv.affected
    assert (aff.ecosystem, aff.name, aff.purl) == ("PyPI", "aiohttp", "pkg:pypi/aiohttp")
    git, eco = aff.ranges
    assert git.type == "GIT" and git.repo == "https://github.com/aio-libs/aiohttp"
    assert eco.type == "ECOSYSTEM"
    assert [(e.kind, e.version) for e in eco.events] == [("introduced", "0"), ("fixed", "3.7.4")]
    assert aff.versions[:2] == ("0.1", "0.2")  # quoted in the YAML
    assert "0.10.0" in aff.versions and "3.7.3" in aff.versions
    assert adv.references[0].startswith("https://github.com/aio-libs/aiohttp/commit/")


def test_yaml_scalars_are_kept_as_written() -> None:
    text = b"""id: TEST-1
modified: 2023-11-07T20:24:23.946863123Z
affected:
- package: {ecosystem: PyPI, name: demo}
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: 0
    - fixed: 1.10
  versions: [0.10, 2, 1.0.2]
"""
    (item,) = parse_document(text, "x.yaml")
    adv = item.value
    assert adv is not None, item.problem
    assert adv.modified == dt.datetime(2023, 11, 7, 20, 24, 23, 946863, tzinfo=dt.UTC)
    assert adv.affected[0].versions == ("0.10", "2", "1.0.2")
    assert [e.version for e in adv.affected[0].ranges[0].events] == ["0", "1.10"]


def test_codec_round_trips_every_real_record(pypa: list[Parsed], shared_data: Path) -> None:
    advisories = _ok(pypa) + _ok(read_nvd([shared_data / "nvd/cves"]))
    for adv in advisories:
        data = codec.dumps(adv)
        assert codec.loads(data) == adv, adv.id
        assert codec.digest(data) == codec.digest(codec.dumps(codec.loads(data)))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b"id: X-1\nmodified: [unclosed\n", "invalid YAML at line"),
        (b"modified: '2023-01-01T00:00:00Z'\nsummary: no id\n", "missing or empty 'id'"),
        (b"id: X-2\nsummary: no modified\n", "missing 'modified'"),
        (b"id: X-3\nmodified: yesterday\n", "modified: not a timestamp"),
        (b"id: X-4\nmodified: '2023-01-01T00:00:00Z'\naffected: {package: 1}\n", "affected: expected a list"),
        (b"id: X-5\nmodified: '2023-01-01T00:00:00Z'\naliases: [1, [2]]\n", "aliases: expected strings"),
        (
            b"id: X-6\nmodified: '2023-01-01T00:00:00Z'\naffected:\n- package: {ecosystem: PyPI, name: a}\n"
            b"  ranges: [{type: SEMVER, events: [{introduced: '0', fixed: '1'}]}]\n",
            "exactly one of",
        ),
        (b"- just\n- a list\n", "expected an object"),
        (b"", "empty record"),
    ],
)
def test_malformed_records_are_reported_with_a_reason(text: bytes, reason: str) -> None:
    items = list(parse_document(text, "bad.yaml"))
    assert items and all(i.value is None for i in items)
    assert reason in items[0].problem, items[0].problem
    assert items[0].location.startswith("bad.yaml")


def test_one_bad_file_among_good_ones(tmp_path: Path, shared_data: Path) -> None:
    src = shared_data / "osv/pypi/vulns/aiohttp"
    for f in sorted(src.glob("*.yaml"))[:3]:
        (tmp_path / "sub").mkdir(exist_ok=True)
        (tmp_path / "sub" / f.name).write_bytes(f.read_bytes())
    (tmp_path / "broken.yaml").write_text("id: BROKEN\nmodified: 2023-01-01T00:00:00Z\nsummary: [\n")
    (tmp_path / "notes.txt").write_text("not a record")
    items = list(read_osv([tmp_path]))
    assert len(_ok(items)) == 3
    (bad,) = [i for i in items if i.problem]
    assert bad.location == str(tmp_path / "broken.yaml") and "invalid YAML" in (bad.problem or "")


def test_json_lists_and_api_envelopes_locate_each_record() -> None:
    good = {"id": "A-1", "modified": "2024-01-01T00:00:00Z"}
    items = list(parse_document(json.dumps({"vulns": [good, {"id": "A-2"}]}).encode(), "q.json"))
    assert items[0].value is not None and items[0].location == "q.json#0"
    assert items[1].value is None and items[1].location == "q.json#1 (A-2)" and "modified" in items[1].problem


def _pypa_zip(shared_data: Path, n: int) -> bytes:
    buf = io.BytesIO()
    files = sorted((shared_data / "osv/pypi/vulns").rglob("*.yaml"))[:n]
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            rec = yaml.safe_load(f.read_text())
            zf.writestr(f"{rec['id']}.json", json.dumps(rec, default=str))
    return buf.getvalue()


def test_osv_zip_archive(tmp_path: Path, shared_data: Path) -> None:
    path = tmp_path / "all.zip"
    path.write_bytes(_pypa_zip(shared_data, 40))
    items = list(read_osv([path]))
    assert len(_ok(items)) == 40 and not [i for i in items if i.problem]
    assert items[0].location.startswith(f"{path}!") and items[0].location.endswith(".json")
    assert {i.location for i in read_zip(path, name="https://x/PyPI/all.zip")} == {
        f"https://x/PyPI/all.zip!{i.location.split('!')[1]}" for i in items
    }


def test_corrupted_archives_fail_as_a_whole(tmp_path: Path, shared_data: Path) -> None:
    data = _pypa_zip(shared_data, 20)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="corrupted zip"):
        list(read_osv([truncated]))
    not_zip = tmp_path / "nope.zip"
    not_zip.write_bytes(b"this is not an archive")
    with pytest.raises(SourceError, match="corrupted zip"):
        list(read_osv([not_zip]))
    # flip one byte inside the first member's data: the CRC check must catch it
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("A-1.json", json.dumps({"id": "A-1", "modified": "2024-01-01T00:00:00Z"}))
    raw = bytearray(buf.getvalue())
    pos = raw.index(b'"A-1"') + 1
    raw[pos] = ord("B")
    bad_crc = tmp_path / "crc.zip"
    bad_crc.write_bytes(bytes(raw))
    with pytest.raises(SourceError, match="(?i)crc"):
        list(read_osv([bad_crc]))


def test_zip_bombs_and_oversized_members_are_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.json", b"{" + b" " * (20 * 1024 * 1024) + b"}")
    with pytest.raises(SourceError, match="ratio"):
        list(read_zip(bomb))
    with pytest.raises(SourceError, match="per-record limit"):
        list(read_zip(bomb, ZipLimits(max_member=1024 * 1024, max_ratio=1e9)))
    with pytest.raises(SourceError, match="inflates beyond the limit"):
        list(read_zip(bomb, ZipLimits(max_total=1024, max_ratio=1e9)))


# --- NVD ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nvd(shared_data: Path) -> dict[str, object]:
    items = list(read_nvd([shared_data / "nvd/cves"]))
    assert not [i for i in items if i.problem]
    return {i.value.id: i.value for i in items if i.value}


def test_all_nvd_records_parse_with_every_configuration(nvd: dict) -> None:  # type: ignore[type-arg]
    assert len(nvd) == 35
    nodes = [n for a in nvd.values() for c in a.configurations for n in c.nodes]
    assert len(nodes) == 359  # figures from ../shared/data/nvd/README.md
    assert sum(len(n.matches) for n in nodes) == 693
    with_and = {a.id for a in nvd.values() if any(c.operator == "AND" for c in a.configurations)}
    assert len(with_and) == 8
    assert all(not a.withdrawn and a.source == "nvd" for a in nvd.values())


def test_nvd_record_fields(nvd: dict) -> None:  # type: ignore[type-arg]
    eb = nvd["CVE-2017-0144"]
    assert eb.details.startswith("The SMBv1 server in Microsoft Windows Vista SP2")
    assert eb.modified == dt.datetime(2025, 10, 21, 20, 16, 42, 430000, tzinfo=dt.UTC)
    assert [(s.type, s.metric_type, s.base_score) for s in eb.severities][:2] == [
        ("CVSS_V3", "Primary", 8.8),
        ("CVSS_V3", "Secondary", 8.8),
    ]
    assert eb.severities[-1].type == "CVSS_V2" and eb.severities[-1].vector == "AV:N/AC:M/Au:N/C:C/I:C/A:C"
    smb = [c for c in eb.configurations if c.operator == "AND"][0]
    assert any(not m.vulnerable for n in smb.nodes for m in n.matches)
    treck = nvd["CVE-2020-11896"]
    match = treck.configurations[0].nodes[0].matches[0]
    assert match.criteria.startswith("cpe:2.3:a:treck:tcp\\/ip:")
    assert match.version_end_excluding == "6.0.1.66" and match.version_start_including is None
    wolf = nvd["CVE-2022-42905"]
    assert {s.metric_type for s in wolf.severities if s.type == "CVSS_V3"} == {"Primary", "Secondary"}
    assert all(c.startswith("CWE-") for a in nvd.values() for c in a.cwes)
    assert nvd["CVE-2022-3602"].cwes == ("CWE-787",)


def test_nvd_rejected_is_withdrawn_and_v4_metrics(shared_data: Path) -> None:
    cve = json.loads((shared_data / "nvd/cves/CVE-2024-21907.json").read_text())
    cve["vulnStatus"] = "Rejected"
    cve["metrics"]["cvssMetricV40"] = [
        {
            "source": "cna@example.org",
            "type": "Secondary",
            "cvssData": {
                "version": "4.0",
                "vectorString": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                "baseScore": 9.3,
            },
        }
    ]
    adv = parse_cve(cve)
    assert adv.withdrawn == adv.modified
    assert adv.severities[0].type == "CVSS_V4" and adv.severities[0].base_score == 9.3


def test_nvd_pages(shared_data: Path, tmp_path: Path) -> None:
    page = parse_page((shared_data / "nvd/api-page-example.json").read_bytes(), "page.json")
    assert (page.results_per_page, page.start_index, page.total_results) == (3, 0, 3)
    assert [p.value.id for p in page.records] == ["CVE-2018-16523", "CVE-2020-11896", "CVE-2017-0144"]
    doc = json.loads((shared_data / "nvd/api-page-example.json").read_text())
    del doc["vulnerabilities"][1]["cve"]["id"]
    doc["vulnerabilities"][2]["cve"]["metrics"] = {"cvssMetricV31": [{"cvssData": {"baseScore": "high"}}]}
    gz = tmp_path / "page.json.gz"
    gz.write_bytes(gzip.compress(json.dumps(doc).encode()))
    items = list(read_nvd([gz]))
    assert [i.value.id for i in items if i.value] == ["CVE-2018-16523"]
    assert "missing or empty 'id'" in items[1].problem and items[1].location == f"{gz}#1"
    assert "vectorString" in items[2].problem and "CVE-2017-0144" in items[2].location
    with pytest.raises(SourceError, match="not valid JSON"):
        parse_page(b'{"vulnerabilities": [', "cut.json")
    with pytest.raises(SourceError, match="neither"):
        parse_page(b'{"hello": 1}', "other.json")
    with pytest.raises(RecordError):
        parse_cve({"id": "CVE-1-1", "lastModified": "2020-01-01T00:00:00", "configurations": [{"nodes": 3}]})


# --- KEV and EPSS ----------------------------------------------------------------------------


def test_kev_catalogue(shared_data: Path) -> None:
    cat = read_kev(shared_data / "kev/known_exploited_vulnerabilities.json")
    assert cat.catalog_version == "2025.08.25"
    entries = [e.value for e in cat.entries if e.value]
    assert len(entries) == 1404 and not [e for e in cat.entries if e.problem]
    git = next(e for e in entries if e.cve_id == "CVE-2025-48384")
    assert (git.vendor, git.product, git.date_added, git.due_date) == (
        "Git",
        "Git",
        dt.date(2025, 8, 25),
        dt.date(2025, 9, 15),
    )
    assert git.known_ransomware == "Unknown" and git.description.startswith("Git contains a link following")
    broken = parse_catalog(
        orjson.dumps(
            {"vulnerabilities": [{"cveID": "CVE-2020-1"}, {"cveID": "CVE-2020-2", "dateAdded": "2020-01-02"}]}
        ),
        "kev.json",
    )
    assert broken.entries[0].problem and "dateAdded" in broken.entries[0].problem
    assert broken.entries[1].value is not None
    with pytest.raises(SourceError):
        parse_catalog(b"[]", "kev.json")


def test_epss_file() -> None:
    scores = read_epss(EPSS_TEST)
    assert scores.model_version == "v2025.03.14" and scores.score_date == dt.date(2026, 11, 24)
    values = [s.value for s in scores.scores if s.value]
    assert len(values) == 235 and not [s for s in scores.scores if s.problem]
    assert all(0 <= v.epss <= 1 and 0 < v.percentile <= 1 for v in values)
    assert "CVE-2017-0144" in {v.cve_id for v in values}
    bad = parse_csv(
        b"cve,epss,percentile\nCVE-2020-1,0.5,0.9\nnot-a-cve,1,1\nCVE-2020-2,2.0,0.1\nCVE-2020-3,x\n", "e"
    )
    assert [s.value.cve_id for s in bad.scores if s.value] == ["CVE-2020-1"]
    assert [s.location for s in bad.scores if s.problem] == ["e:3", "e:4 (CVE-2020-2)", "e:5"]
    with pytest.raises(SourceError, match="header"):
        parse_csv(b"a,b,c\n", "e")


def test_corrupted_gzip_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "epss.csv.gz"
    path.write_bytes(EPSS_TEST.read_bytes()[:-40])
    with pytest.raises(SourceError, match="gzip"):
        read_epss(path)


def test_parse_datetime_variants() -> None:
    assert parse_datetime("2024-01-02T03:04:05Z", "t") == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert parse_datetime("2024-01-02T03:04:05.123456789Z", "t").microsecond == 123456
    assert parse_datetime("2018-12-06T23:29:00.313", "t").tzinfo is dt.UTC
    assert parse_datetime("2024-01-02T05:04:05+02:00", "t").hour == 3
    with pytest.raises(RecordError):
        parse_datetime(12, "t")


def test_parse_record_rejects_non_mapping() -> None:
    with pytest.raises(RecordError):
        parse_record(["x"])
