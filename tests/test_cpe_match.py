"""CPE 2.3 parsing and NVD configuration matching, on the real NVD records in ../shared/data/nvd/cves."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from medcyber.sbom.model import Component, DocumentInfo, Sbom
from medcyber.sbom.reader import read_sbom
from medcyber.vulns.cpe import (
    ANY,
    NA,
    CpeError,
    compare_cpe_versions,
    compile_criterion,
    parse_cpe,
)
from medcyber.vulns.matcher import VulnIndex, scan_sbom
from medcyber.vulns.model import Advisory, ConfigNode, Configuration, CpeMatch
from medcyber.vulns.sources.nvd import read_nvd

DAY = dt.date(2025, 6, 1)


@pytest.fixture(scope="module")
def nvd_index(shared_data: Path) -> VulnIndex:
    records = [p.value for p in read_nvd([shared_data / "nvd" / "cves"]) if p.value is not None]
    assert len(records) == 35
    return VulnIndex(records)


def _sbom(*components: Component, primary: Component | None = None) -> Sbom:
    doc = DocumentInfo(
        format="cyclonedx", spec_version="1.5", encoding="json", primary=primary.ref if primary else None
    )
    return Sbom(document=doc, components=list(components), primary_component=primary)


def _c(ref: str, *cpes: str, version: str | None = None) -> Component:
    return Component(ref=ref, name=ref, version=version, cpes=tuple(cpes))


def _scan(index: VulnIndex, *components: Component, primary: Component | None = None):
    return scan_sbom(_sbom(*components, primary=primary), index, as_of=DAY, lifecycle=False)


def _ids(result, status: str = "affected") -> set[str]:
    return {f.id for f in result.findings if f.status == status}


# --------------------------------------------------------------------------------------------- parsing


def test_parse_formatted_string_with_escapes() -> None:
    c = parse_cpe("cpe:2.3:a:treck:tcp\\/ip:6.0.1.66:*:*:*:*:*:*:*")
    assert (c.part, c.vendor, c.product, c.version) == ("a", "treck", "tcp/ip", "6.0.1.66")
    assert c.update == ANY
    c = parse_cpe("cpe:2.3:a:vendor:prod\\:uct:1.0:-:*:*:*:*:*:*")
    assert c.product == "prod:uct" and c.update == NA
    c = parse_cpe("cpe:2.3:o:microsoft:Windows_7:-:SP1:*:*:*:*:x64:*")
    assert c.product == "windows_7" and c.update == "sp1" and c.target_hw == "x64"


def test_parse_cpe22_uri_and_errors() -> None:
    c = parse_cpe("cpe:/a:openssl:openssl:1.0.2g")
    assert (c.vendor, c.product, c.version, c.update) == ("openssl", "openssl", "1.0.2g", ANY)
    for bad in ("openssl", "cpe:2.3:a:x:y", "cpe:2.3:z:x:y:1:*:*:*:*:*:*:*"):
        with pytest.raises(CpeError):
            parse_cpe(bad)
    assert parse_cpe("cpe:2.3:a:*:openssl:1.0:*:*:*:*:*:*:*").has_wildcard_identity()
    assert parse_cpe("cpe:2.3:a:openssl:*:1.0:*:*:*:*:*:*:*").has_wildcard_identity()
    assert parse_cpe("cpe:2.3:a:open*:openssl:1.0:*:*:*:*:*:*:*").has_wildcard_identity()
    assert not parse_cpe("cpe:2.3:a:open\\*:openssl:1.0:*:*:*:*:*:*:*").has_wildcard_identity()


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0", "1.0.0", 0),
        ("07.0.07", "7.0.7", 0),
        ("1.0.2", "1.0.2a", -1),
        ("1.0.2zf", "1.0.2zg", -1),
        ("1.0.2zg", "1.0.2", 1),
        ("4.0", "4.0e", -1),
        ("6.0.1.41", "6.0.1.66", -1),
        ("10.0.1", "10.0.2", -1),
        ("1.2.2.2", "1.2.11", -1),
        ("2.0.0-beta1", "2.0.0", -1),
        ("2.0.0rc1", "2.0.0", -1),
        ("2.0.0-alpha", "2.0.0-beta", -1),
        ("7.4p1", "7.4", 1),
        ("bs5.2.461.17", "bs5.2.400", 1),
        ("v100r002c00", "v100r002c10", -1),
    ],
)
def test_cpe_version_order(a: str, b: str, expected: int) -> None:
    assert compare_cpe_versions(a, b) == expected
    assert compare_cpe_versions(b, a) == -expected


def test_wildcard_vendor_or_product_criteria_never_compile() -> None:
    assert compile_criterion(CpeMatch("cpe:2.3:a:*:*:*:*:*:*:*:*:*:*")) is None
    assert compile_criterion(CpeMatch("cpe:2.3:a:openssl:*:*:*:*:*:*:*:*:*")) is None
    assert compile_criterion(CpeMatch("not a cpe")) is None
    assert compile_criterion(CpeMatch("cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*")) is not None


# ------------------------------------------------------------------------------------- real records


def test_freertos_version_end_including(nvd_index: VulnIndex) -> None:
    hit = _scan(nvd_index, _c("rtos", "cpe:2.3:a:amazon:freertos:10.0.1:*:*:*:*:*:*:*"))
    # every FreeRTOS record with the amazon:freertos CPE (<= 10.0.1); 16522 and 16528 only name AWS FreeRTOS
    expected = {f"CVE-2018-{n}" for n in (16523, 16524, 16525, 16526, 16527, 16598, 16599, 16600, 16601)}
    expected |= {"CVE-2018-16602", "CVE-2018-16603"}
    assert _ids(hit) == expected
    f = next(f for f in hit.findings if f.id == "CVE-2018-16523")
    assert f.matched == ["cpe:2.3:a:amazon:freertos:*:*:*:*:*:*:*:*: versionEndIncluding 10.0.1"]
    assert f.source == ["nvd"] and f.nearest_fix is None  # versionEndIncluding names no fixed version
    assert _ids(_scan(nvd_index, _c("rtos", "cpe:2.3:a:amazon:freertos:10.0.2:*:*:*:*:*:*:*"))) == set()
    # the version can come from the component when the CPE leaves it ANY
    via_component = _scan(
        nvd_index, _c("rtos", "cpe:2.3:a:amazon:freertos:*:*:*:*:*:*:*:*", version="10.0.1")
    )
    assert _ids(via_component) == expected


def test_treck_escaped_product_and_four_part_versions(nvd_index: VulnIndex) -> None:
    old = _scan(nvd_index, _c("treck", "cpe:2.3:a:treck:tcp\\/ip:6.0.1.41:*:*:*:*:*:*:*"))
    assert _ids(old) == {"CVE-2020-11896", "CVE-2020-11898", "CVE-2020-11901"}
    f = next(f for f in old.findings if f.id == "CVE-2020-11896")
    assert f.fixed == ["6.0.1.66"] and f.nearest_fix == "6.0.1.66"
    assert _ids(_scan(nvd_index, _c("treck", "cpe:2.3:a:treck:tcp\\/ip:6.0.1.66:*:*:*:*:*:*:*"))) == set()
    five = _scan(nvd_index, _c("treck", "cpe:2.3:a:treck:tcp\\/ip:5.0.1.20:*:*:*:*:*:*:*"))
    assert "CVE-2020-11897" in _ids(five)


def test_vxworks_ranges_and_update_na(nvd_index: VulnIndex) -> None:
    r = _scan(nvd_index, _c("vx", "cpe:2.3:o:windriver:vxworks:6.9.3:*:*:*:*:*:*:*"))
    assert _ids(r) == {"CVE-2019-12255", "CVE-2019-12256", "CVE-2019-12258", "CVE-2019-12263"}
    r = _scan(nvd_index, _c("vx", "cpe:2.3:o:windriver:vxworks:6.9.4.1:*:*:*:*:*:*:*"))
    assert "CVE-2019-12255" not in _ids(r)  # < 6.9.4
    assert "CVE-2019-12256" in _ids(r)  # < 6.9.4.12
    # "vxworks:7.0:-": a component naming 7.0 (update unspecified) is the plain release
    r = _scan(nvd_index, _c("vx", "cpe:2.3:o:windriver:vxworks:7.0:*:*:*:*:*:*:*"))
    assert {"CVE-2019-12258", "CVE-2019-12263"} <= _ids(r)
    assert "CVE-2019-12255" not in _ids(r)


def test_running_on_platform_absent_is_conditional(nvd_index: VulnIndex) -> None:
    fw = _c("fw", "cpe:2.3:o:siemens:siprotec_5_firmware:7.80:*:*:*:*:*:*:cp300")
    alone = _scan(nvd_index, fw)
    assert _ids(alone) == set()
    conditional = [f for f in alone.findings if f.id == "CVE-2019-12255"]
    assert conditional and conditional[0].status == "conditional"
    assert any("cpe:2.3:h:siemens:siprotec_5:-" in c for c in conditional[0].conditions)
    assert alone.stats["conditional"] >= 1 and alone.at_or_above("low") == []
    # the platform as another component, or as the SBOM's primary component, makes it unconditional
    hw = _c("hw", "cpe:2.3:h:siemens:siprotec_5:-:*:*:*:*:*:*:*")
    assert "CVE-2019-12255" in _ids(_scan(nvd_index, fw, hw))
    assert "CVE-2019-12255" in _ids(_scan(nvd_index, fw, primary=hw))
    # the firmware's "other" attribute must agree: cp100 is not in the record
    cp100 = _c("fw", "cpe:2.3:o:siemens:siprotec_5_firmware:7.80:*:*:*:*:*:*:cp100")
    assert {f.id for f in _scan(nvd_index, cp100, hw).findings} & {"CVE-2019-12255"} == set()


def test_medical_imaging_on_windows(nvd_index: VulnIndex) -> None:
    smb = _c("smb", "cpe:2.3:a:microsoft:server_message_block:1.0:*:*:*:*:*:*:*")
    r = _scan(nvd_index, smb)
    assert [f.status for f in r.findings if f.id == "CVE-2017-0144"] == ["conditional"]
    win7 = _c("win", "cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:x64:*")
    r = _scan(nvd_index, smb, win7)
    assert "CVE-2017-0144" in _ids(r)
    # BlueKeep: Siemens RAPIDPoint 500 firmware <= 2.3.2 running on the RAPIDPoint 500 hardware
    fw = _c("rp", "cpe:2.3:o:siemens:rapidpoint_500_firmware:2.3.1:*:*:*:*:*:*:*")
    device = _c("dev", "cpe:2.3:h:siemens:rapidpoint_500:-:*:*:*:*:*:*:*")
    assert "CVE-2019-0708" in _ids(_scan(nvd_index, fw, primary=device))
    fixed_fw = _c("rp", "cpe:2.3:o:siemens:rapidpoint_500_firmware:2.4:*:*:*:*:*:*:*")
    assert "CVE-2019-0708" not in {f.id for f in _scan(nvd_index, fixed_fw, primary=device).findings}
    # Windows 7 SP1 itself is listed as vulnerable to BlueKeep
    assert "CVE-2019-0708" in _ids(_scan(nvd_index, win7))


def test_openssl(nvd_index: VulnIndex) -> None:
    r = _scan(nvd_index, _c("ssl", "cpe:2.3:a:openssl:openssl:3.0.5:*:*:*:*:*:*:*"))
    f = next(f for f in r.findings if f.id == "CVE-2022-3602")
    assert f.matched == [
        "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*: versionStartIncluding 3.0.0 versionEndExcluding 3.0.7"
    ]
    assert f.nearest_fix == "3.0.7" and f.severity.level == "high" and f.severity.score == 7.5
    assert "CVE-2022-3602" not in _ids(
        _scan(nvd_index, _c("ssl", "cpe:2.3:a:openssl:openssl:3.0.7:*:*:*:*:*:*:*"))
    )
    old = _scan(nvd_index, _c("ssl", "cpe:2.3:a:openssl:openssl:1.0.2:*:*:*:*:*:*:*"))
    assert "CVE-2022-3602" not in _ids(old)
    assert {"CVE-2016-2107", "CVE-2023-0286"} <= _ids(old)
    # letter releases: 1.0.2zf < 1.0.2zg (fixed)
    assert "CVE-2023-0286" in _ids(
        _scan(nvd_index, _c("s", "cpe:2.3:a:openssl:openssl:1.0.2zf:*:*:*:*:*:*:*"))
    )
    assert "CVE-2023-0286" not in _ids(
        _scan(nvd_index, _c("s", "cpe:2.3:a:openssl:openssl:1.0.2zg:*:*:*:*:*:*:*"))
    )
    # update attribute: 1.0.2 beta1 is listed explicitly for CVE-2016-2107, 1.0.2h is not
    beta = _scan(nvd_index, _c("s", "cpe:2.3:a:openssl:openssl:1.0.2:beta1:*:*:*:*:*:*"))
    assert "CVE-2016-2107" in _ids(beta)
    assert "CVE-2016-2107" not in _ids(
        _scan(nvd_index, _c("s", "cpe:2.3:a:openssl:openssl:1.0.2h:*:*:*:*:*:*:*"))
    )


@pytest.mark.parametrize(
    ("cpe", "present", "absent"),
    [
        ("cpe:2.3:a:zlib:zlib:1.2.11:*:*:*:*:*:*:*", {"CVE-2018-25032", "CVE-2022-37434"}, set()),
        ("cpe:2.3:a:zlib:zlib:1.2.12:*:*:*:*:*:*:*", {"CVE-2022-37434"}, {"CVE-2018-25032"}),
        ("cpe:2.3:a:zlib:zlib:1.2.13:*:*:*:*:*:*:*", set(), {"CVE-2018-25032", "CVE-2022-37434"}),
        ("cpe:2.3:a:haxx:libcurl:8.3.0:*:*:*:*:*:*:*", {"CVE-2023-38545"}, set()),
        ("cpe:2.3:a:haxx:libcurl:8.4.0:*:*:*:*:*:*:*", set(), {"CVE-2023-38545"}),
        ("cpe:2.3:a:curl:curl:8.3.0:*:*:*:*:*:*:*", set(), {"CVE-2023-38545"}),  # not the record's CPE
        ("cpe:2.3:a:libexpat_project:libexpat:2.4.8:*:*:*:*:*:*:*", {"CVE-2022-40674"}, set()),
        ("cpe:2.3:a:libexpat_project:libexpat:2.4.9:*:*:*:*:*:*:*", set(), {"CVE-2022-40674"}),
        ("cpe:2.3:a:sqlite:sqlite:3.39.1:*:*:*:*:*:*:*", {"CVE-2022-35737"}, set()),
        ("cpe:2.3:a:sqlite:sqlite:3.39.2:*:*:*:*:*:*:*", set(), {"CVE-2022-35737"}),
        ("cpe:2.3:a:busybox:busybox:1.36.1:*:*:*:*:*:*:*", {"CVE-2022-48174"}, set()),
        ("cpe:2.3:a:busybox:busybox:1.36.2:*:*:*:*:*:*:*", set(), {"CVE-2022-48174"}),
        ("cpe:2.3:a:newtonsoft:json.net:12.0.3:*:*:*:*:*:*:*", {"CVE-2024-21907"}, set()),
        ("cpe:2.3:a:newtonsoft:json.net:13.0.1:*:*:*:*:*:*:*", set(), {"CVE-2024-21907"}),
        ("cpe:2.3:a:wolfssl:wolfssl:5.5.1:*:*:*:*:*:*:*", {"CVE-2022-42905", "CVE-2023-3724"}, set()),
        ("cpe:2.3:a:wolfssl:wolfssl:5.6.0:*:*:*:*:*:*:*", {"CVE-2023-3724"}, {"CVE-2022-42905"}),
    ],
)
def test_libraries(nvd_index: VulnIndex, cpe: str, present: set[str], absent: set[str]) -> None:
    ids = _ids(_scan(nvd_index, _c("lib", cpe)))
    assert present <= ids
    assert not (absent & ids)


def test_python_on_windows_is_conditional_for_zlib(nvd_index: VulnIndex) -> None:
    py = _c("py", "cpe:2.3:a:python:python:3.9.0:*:*:*:*:*:*:*")
    f = next(f for f in _scan(nvd_index, py).findings if f.id == "CVE-2018-25032")
    assert f.status == "conditional" and f.conditions == ["cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*"]
    win = _c("win", "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*")
    assert "CVE-2018-25032" in _ids(_scan(nvd_index, py, win))


def test_guards_and_not_evaluated(nvd_index: VulnIndex) -> None:
    r = _scan(
        nvd_index,
        _c("wild", "cpe:2.3:a:*:openssl:1.0.1:*:*:*:*:*:*:*"),
        _c("nover", "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*"),
        _c("bad", "cpe:2.3:a:openssl"),
        Component(ref="bare", name="openssl", version="1.0.1"),
    )
    assert r.findings == []
    reasons = {n.ref: n.reason for n in r.not_evaluated}
    assert "wildcard vendor or product" in reasons["wild"]
    assert "CPE has no version" in reasons["nover"] and "CVE-2016-2107" in reasons["nover"]
    assert "CPE not usable" in reasons["bad"]
    assert reasons["bare"] == "no purl and no CPE"
    # names become CPEs only on request, and the finding says so through its CPE
    bare = Component(ref="bare", name="openssl", version="3.0.5", supplier="OpenSSL")
    assert _scan(nvd_index, bare).findings == []
    derived = scan_sbom(_sbom(bare), nvd_index, as_of=DAY, lifecycle=False, cpe_from_names=True)
    assert "CVE-2022-3602" in _ids(derived)


def test_negate_node() -> None:
    """NVD rarely uses negate (none of the real records does): a synthetic record checks it."""
    adv = Advisory(
        id="CVE-2099-0001",
        source="nvd",
        modified=dt.datetime(2099, 1, 1),
        configurations=(
            Configuration(
                operator="AND",
                nodes=(
                    ConfigNode(
                        matches=(
                            CpeMatch("cpe:2.3:a:acme:lib:*:*:*:*:*:*:*:*", True, None, None, None, "2.0"),
                        )
                    ),
                    ConfigNode(
                        negate=True, matches=(CpeMatch("cpe:2.3:o:acme:safe_os:-:*:*:*:*:*:*:*", False),)
                    ),
                ),
            ),
        ),
    )
    idx = VulnIndex([adv])
    lib = _c("lib", "cpe:2.3:a:acme:lib:1.5:*:*:*:*:*:*:*")
    assert _ids(_scan(idx, lib)) == {"CVE-2099-0001"}
    safe = _c("os", "cpe:2.3:o:acme:safe_os:-:*:*:*:*:*:*:*")
    r = _scan(idx, lib, safe)
    assert _ids(r) == set()
    assert any(f.conditions == ["not (cpe:2.3:o:acme:safe_os:-:*:*:*:*:*:*:*)"] for f in r.findings)


def test_medical_device_sbom(nvd_index: VulnIndex, shared_data: Path) -> None:
    rr = read_sbom(shared_data / "sbom" / "medical-device-case-study" / "narrow.sbom.json")
    assert rr.sbom is not None
    r = scan_sbom(rr.sbom, nvd_index, as_of=DAY)
    wolf = {f.id for f in r.findings if f.name == "WolfSSL"}
    assert wolf == {"CVE-2022-42905", "CVE-2023-3724"}
    assert all(f.status == "affected" and f.version == "4.8.1" for f in r.findings if f.name == "WolfSSL")
    assert {f.severity.level for f in r.findings if f.name == "WolfSSL"} == {"critical"}
    # the SBOM writes Newtonsoft.Json as james_newton-king:newtonsoftjson, not NVD's newtonsoft:json.net:
    # no CPE finding is invented for it
    assert not any(f.id == "CVE-2024-21907" for f in r.findings)
    assert r.stats["evaluated_by_cpe"] == 55
