"""Answer files: round trips in every format, the fillable workbook, and every kind of bad input."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maturity_testbank import bank_or_small, small_bank, small_resolver
from medcyber.maturity.answers_io import (
    XLSX_COLUMNS,
    AnswerFileError,
    AnswerSet,
    answers_to_bytes,
    detect_format,
    parse_answers,
    read_answers,
    write_answers,
    write_template_xlsx,
)
from medcyber.maturity.bank import QuestionBank
from medcyber.maturity.scoring import Answer

BANK, RESOLVER = bank_or_small()
LEVEL_COL = XLSX_COLUMNS.index("Level") + 1
COL = {name: i + 1 for i, name in enumerate(XLSX_COLUMNS)}

# every character a file can carry (no lone surrogates), including controls, line breaks and spaces
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@st.composite
def answer_sets(draw: st.DrawFn, bank: QuestionBank = BANK) -> AnswerSet:
    questions = draw(st.lists(st.sampled_from(bank.questions), unique_by=lambda q: q.id))
    answers = []
    for q in questions:
        kind = draw(st.sampled_from(["level", "na", "blank"] if q.na_allowed else ["level", "blank"]))
        evidence = draw(st.none() | TEXT)
        note = draw(st.none() | TEXT)
        if kind == "na":
            answers.append(
                Answer(
                    question_id=q.id,
                    not_applicable=True,
                    na_reason="r" + draw(TEXT),
                    evidence=evidence,
                    note=note,
                )
            )
        elif kind == "level":
            answers.append(
                Answer(
                    question_id=q.id,
                    level=draw(st.integers(0, 5)),
                    na_reason=draw(st.none() | TEXT),
                    evidence=evidence,
                    note=note,
                )
            )
        else:  # not answered yet but carrying a note: must survive the round trip too
            answers.append(Answer(question_id=q.id, evidence=evidence, note="n" + draw(TEXT)))
    return AnswerSet(
        bank_id=bank.id,
        bank_version=bank.version,
        organisation=draw(st.none() | TEXT),
        assessed_on=draw(st.none() | st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1))),
        assessment_type=draw(st.sampled_from(["self", "third-party"])),
        answers=answers,
    )


def _meta(s: AnswerSet) -> tuple[object, ...]:
    return (s.bank_id, s.bank_version, s.organisation, s.assessed_on, s.assessment_type)


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv", "xlsx"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer_set=answer_sets())
def test_round_trip(fmt: str, answer_set: AnswerSet) -> None:
    data = answers_to_bytes(answer_set, fmt, bank=BANK)  # type: ignore[arg-type]
    assert detect_format(data) == fmt
    back = parse_answers(data, filename=f"a.{fmt}", bank_resolver=RESOLVER, require_complete=False)
    assert _meta(back) == _meta(answer_set)
    assert back.by_question() == answer_set.by_question()
    if fmt != "xlsx":  # the workbook lists questions in bank order; the others keep the file's order
        assert back == answer_set


def test_answer_set_is_canonical() -> None:
    s = AnswerSet(
        bank_id="b",
        bank_version="1",
        organisation="  Acme\r\n",
        answers=[Answer(question_id="X", level=1, evidence=" a\r\nb\x00 ", note="   ")],
    )
    assert s.organisation == "Acme"
    assert s.answers[0].evidence == "a\nb"
    assert s.answers[0].note is None


def _full_answer_set(bank: QuestionBank) -> AnswerSet:
    answers = []
    for k, q in enumerate(bank.questions):
        if q.na_allowed and k % 3 == 0:
            answers.append(Answer(question_id=q.id, not_applicable=True, na_reason="no such product line"))
        else:
            answers.append(Answer(question_id=q.id, level=k % 6, evidence=f"doc {k}" if k % 2 else None))
    return AnswerSet(
        bank_id=bank.id,
        bank_version=bank.version,
        organisation="Acme Medical",
        assessed_on=date(2025, 3, 1),
        answers=answers,
    )


@pytest.mark.parametrize(
    ("fmt", "name"), [("yaml", "a.txt"), ("json", "a.yaml"), ("csv", "a.json"), ("xlsx", "a.bin")]
)
def test_files_on_disk_are_detected_by_content(tmp_path: Path, fmt: str, name: str) -> None:
    s = _full_answer_set(BANK)
    path = tmp_path / name
    write_answers(s, path, fmt, bank=BANK)  # type: ignore[arg-type]
    back = read_answers(path, RESOLVER)
    assert back.by_question() == s.by_question()
    assert back.organisation == "Acme Medical" and back.assessed_on == date(2025, 3, 1)


def test_write_answers_to_streams_and_by_suffix(tmp_path: Path) -> None:
    s = _full_answer_set(BANK)
    text = io.StringIO()
    write_answers(s, text, "json")
    assert json.loads(text.getvalue())["bank_id"] == BANK.id
    binary = io.BytesIO()
    write_answers(s, binary, "xlsx", bank=BANK)
    assert parse_answers(binary.getvalue(), bank_resolver=RESOLVER).by_question() == s.by_question()
    write_answers(s, tmp_path / "x.yml", bank=BANK)
    assert yaml.safe_load((tmp_path / "x.yml").read_text())["bank_version"] == BANK.version
    with pytest.raises(TypeError):
        write_answers(s, io.StringIO(), "xlsx", bank=BANK)


# --- the fillable workbook -----------------------------------------------------------------------


def _template(tmp_path: Path, bank: QuestionBank = BANK, answer_set: AnswerSet | None = None) -> Path:
    path = tmp_path / "answers.xlsx"
    write_template_xlsx(bank, path, answer_set)
    return path


def _row_of(bank: QuestionBank, qid: str) -> int:
    return [q.id for q in bank.questions].index(qid) + 2


def test_person_fills_in_the_template(tmp_path: Path) -> None:
    """Cells edited the way a person does in Excel read back as exactly these answers."""
    path = _template(tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Answers"]
    expected: dict[str, Answer] = {}
    typed_forms = ["3 - Defined", 2, 4.0, "5", " 1 - initiated ", "0 - Not initiated"]
    for k, q in enumerate(BANK.questions):
        r = _row_of(BANK, q.id)
        if q.na_allowed and k % 2:
            ws.cell(r, COL["Level"]).value = "N/A"
            ws.cell(r, COL["N/A reason"]).value = "We make no software of this kind"
            expected[q.id] = Answer(
                question_id=q.id, not_applicable=True, na_reason="We make no software of this kind"
            )
            continue
        form = typed_forms[k % len(typed_forms)]
        level = int(str(form).strip()[0])
        ws.cell(r, COL["Level"]).value = form
        ws.cell(r, COL["Evidence"]).value = f"SOP-{k}\nrev 2"
        ws.cell(r, COL["Note"]).value = "see SOP §4, 'quoted'" if k == 0 else None
        expected[q.id] = Answer(
            question_id=q.id,
            level=level,
            evidence=f"SOP-{k}\nrev 2",
            note="see SOP §4, 'quoted'" if k == 0 else None,
        )
    wb.save(path)
    back = read_answers(path, RESOLVER)
    assert back.by_question() == expected
    assert (back.bank_id, back.bank_version, back.assessment_type) == (BANK.id, BANK.version, "self")


def test_template_structure(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(_template(tmp_path))
    assert wb.sheetnames == ["Instructions", "Answers", "Meta"]
    assert wb["Meta"].sheet_state == "hidden"
    ws = wb["Answers"]
    assert [c.value for c in ws[1]][: len(XLSX_COLUMNS)] == list(XLSX_COLUMNS)
    assert [c.value for c in ws[1]][len(XLSX_COLUMNS) :] == [
        f"Level {n} - {s.name}" for n, s in enumerate(BANK.scale)
    ]
    assert ws.freeze_panes == "E2"
    assert ws.protection.sheet
    assert ws.max_row == len(BANK.questions) + 1
    for q in BANK.questions:
        r = _row_of(BANK, q.id)
        assert ws.cell(r, COL["ID"]).value == q.id
        assert ws.cell(r, COL["Question"]).value == q.text
        assert [ws.cell(r, len(XLSX_COLUMNS) + 1 + n).value for n in range(6)] == list(q.levels)
        assert ws.cell(r, COL["ID"]).protection.locked
        assert not ws.cell(r, COL["Level"]).protection.locked
        assert ws.cell(r, COL["Question"]).alignment.wrap_text
    # the level column carries a drop-down; N/A is offered exactly where the question allows it
    validations = ws.data_validations.dataValidation
    assert validations, "no data validation in the Answers sheet"
    letter = openpyxl.utils.get_column_letter(LEVEL_COL)
    offered: dict[str, str] = {}
    for dv in validations:
        assert dv.type == "list"
        for q in BANK.questions:
            if f"{letter}{_row_of(BANK, q.id)}" in dv.sqref:
                offered[q.id] = dv.formula1
    assert set(offered) == {q.id for q in BANK.questions}
    for q in BANK.questions:
        assert "0 - Not initiated" in offered[q.id] and "5 - Optimizing" in offered[q.id]
        assert ("N/A" in offered[q.id]) == q.na_allowed


def test_template_prefilled(tmp_path: Path) -> None:
    s = _full_answer_set(BANK)
    ws = openpyxl.load_workbook(_template(tmp_path, answer_set=s))["Answers"]
    first = BANK.questions[1]
    cell = ws.cell(_row_of(BANK, first.id), LEVEL_COL).value
    assert cell == f"1 - {BANK.scale[1].name}"
    assert read_answers(tmp_path / "answers.xlsx", RESOLVER) == s
    other = AnswerSet(bank_id=BANK.id, bank_version="0.0.1")
    with pytest.raises(ValueError, match="0.0.1"):
        write_template_xlsx(BANK, tmp_path / "x.xlsx", other)


# --- bad input -----------------------------------------------------------------------------------
# The small bank's properties are known: XX-02 allow N/A, XX-01 do not, CH-02 is optional.

SMALL = small_bank()


def _small_yaml(tmp_path: Path, answers: list[dict[str, object]], **meta: object) -> Path:
    doc = {"bank_id": SMALL.id, "bank_version": SMALL.version, **meta, "answers": answers}
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _all_small(**overrides: dict[str, object]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = [{"question_id": q.id, "level": 2} for q in SMALL.questions]
    for item in out:
        item.update(overrides.get(str(item["question_id"]), {}))
    return out


def _line_of(path: Path, qid: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.endswith(f"question_id: {qid}"))


def _problems(exc: pytest.ExceptionInfo[AnswerFileError]) -> list[str]:
    return str(exc.value).splitlines()


def test_workbook_errors_are_all_reported_with_sheet_row_and_question(tmp_path: Path) -> None:
    path = _template(tmp_path, SMALL)
    wb = openpyxl.load_workbook(path)
    ws = wb["Answers"]
    for q in SMALL.questions:
        ws.cell(_row_of(SMALL, q.id), LEVEL_COL).value = "3 - Defined"
    ws.cell(_row_of(SMALL, "OS-01"), LEVEL_COL).value = 7
    ws.cell(_row_of(SMALL, "OS-02"), LEVEL_COL).value = "N/A"  # no reason
    ws.cell(_row_of(SMALL, "RM-01"), LEVEL_COL).value = "N/A"  # not allowed here
    ws.cell(_row_of(SMALL, "RM-01"), COL["N/A reason"]).value = "because"
    ws.cell(_row_of(SMALL, "RM-02"), LEVEL_COL).value = 2.5
    ws.cell(_row_of(SMALL, "DC-01"), LEVEL_COL).value = "3 - Managed"
    ws.cell(_row_of(SMALL, "DC-02"), LEVEL_COL).value = "lots"
    ws.cell(_row_of(SMALL, "CH-01"), LEVEL_COL).value = None  # required, left blank
    wb.save(path)
    with pytest.raises(AnswerFileError) as exc:
        read_answers(path, small_resolver)
    assert exc.value.file == "answers.xlsx"
    lines = _problems(exc)
    assert lines == [
        "answers.xlsx: sheet 'Answers' row 2 (OS-01): level 7 is outside 0-5",
        "answers.xlsx: sheet 'Answers' row 3 (OS-02): N/A needs a reason (fill in the N/A reason)",
        "answers.xlsx: sheet 'Answers' row 4 (RM-01): N/A is not allowed for this question; "
        "choose a level 0-5",
        "answers.xlsx: sheet 'Answers' row 5 (RM-02): level 2.5 is not a whole number 0-5",
        "answers.xlsx: sheet 'Answers' row 6 (DC-01): level text '3 - Managed' does not match: "
        "level 3 is 'Defined'",
        "answers.xlsx: sheet 'Answers' row 7 (DC-02): level 'lots' is not a level: use 0-5 or N/A",
        "answers.xlsx: question CH-01: required answer is missing",
    ]
    assert [p.question_id for p in exc.value.problems][:2] == ["OS-01", "OS-02"]
    assert exc.value.problems[-1].location == "question CH-01"


def test_unknown_question_and_not_an_integer_in_yaml(tmp_path: Path) -> None:
    answers = _all_small()
    answers.append({"question_id": "ZZ-99", "level": 1})
    answers[0]["level"] = "two"
    answers[1]["level"] = True
    path = _small_yaml(tmp_path, answers)
    with pytest.raises(AnswerFileError) as exc:
        read_answers(path, small_resolver)
    text = str(exc.value)
    assert (
        f"answers.yaml: line {_line_of(path, 'OS-01')} (OS-01): level 'two' is not a level: use 0-5 or N/A"
        in text
    )
    assert (
        f"answers.yaml: line {_line_of(path, 'OS-02')} (OS-02): level True is not a whole number 0-5" in text
    )
    assert (
        f"line {_line_of(path, 'ZZ-99')} (ZZ-99): unknown question id for bank {SMALL.id} {SMALL.version}"
        in text
    )
    assert len(exc.value.problems) == 3


def test_na_rules(tmp_path: Path) -> None:
    ok = _all_small(**{"OS-02": {"level": "N/A", "na_reason": "no such devices"}})
    assert read_answers(_small_yaml(tmp_path, ok), small_resolver).by_question()["OS-02"].not_applicable
    flag_form = _all_small(**{"OS-02": {"level": None, "not_applicable": True, "na_reason": "x"}})
    assert (
        read_answers(_small_yaml(tmp_path, flag_form), small_resolver).by_question()["OS-02"].not_applicable
    )
    bad = _all_small(
        **{
            "OS-02": {"level": "N/A", "na_reason": "   "},
            "RM-01": {"level": None, "not_applicable": True, "na_reason": "r"},
            "DC-02": {"level": 3, "not_applicable": True, "na_reason": "r"},
        }
    )
    path = _small_yaml(tmp_path, bad)
    with pytest.raises(AnswerFileError) as exc:
        read_answers(path, small_resolver)
    assert _problems(exc) == [
        f"answers.yaml: line {_line_of(path, 'OS-02')} (OS-02): N/A needs a reason (fill in the N/A reason)",
        f"answers.yaml: line {_line_of(path, 'RM-01')} (RM-01): N/A is not allowed for this question; "
        "choose a level 0-5",
        f"answers.yaml: line {_line_of(path, 'DC-02')} (DC-02): level 3 given but the answer is also "
        "marked N/A",
    ]


def test_duplicates_in_csv(tmp_path: Path) -> None:
    s = AnswerSet(
        bank_id=SMALL.id,
        bank_version=SMALL.version,
        answers=[Answer(question_id=q.id, level=1) for q in SMALL.questions],
    )
    text = answers_to_bytes(s, "csv").decode()
    text += "RM-01,4,no,,,\n"
    path = tmp_path / "answers.csv"
    path.write_text(text)
    with pytest.raises(AnswerFileError) as exc:
        read_answers(path, small_resolver)
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines, 1) if line.startswith("RM-01"))
    assert _problems(exc) == [
        f"answers.csv: line {len(lines)} (RM-01): duplicate answer (also at line {first})"
    ]


def test_missing_required_answers(tmp_path: Path) -> None:
    answers = [a for a in _all_small() if a["question_id"] not in ("DC-01", "CH-02")]
    path = _small_yaml(tmp_path, answers)
    with pytest.raises(AnswerFileError) as exc:
        read_answers(path, small_resolver)
    assert _problems(exc) == ["answers.yaml: question DC-01: required answer is missing"]  # CH-02 is optional
    partial = read_answers(path, small_resolver, require_complete=False)
    assert len(partial.answers) == 6


def test_bank_version_and_id(tmp_path: Path) -> None:
    with pytest.raises(AnswerFileError) as exc:
        read_answers(_small_yaml(tmp_path, _all_small(), bank_version="7.0.0"), small_resolver)
    text = str(exc.value)
    assert "answers.yaml: top level: unknown bank version '7.0.0'" in text
    assert "0.8.0, 0.9.0" in text
    older = read_answers(_small_yaml(tmp_path, _all_small(), bank_version="0.8.0"), small_resolver)
    assert older.bank_version == "0.8.0"
    path = tmp_path / "answers.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["bank_id"] = "another-bank"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(AnswerFileError, match="file is for bank 'another-bank'"):
        read_answers(path, small_resolver)
    doc.pop("bank_version")
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(AnswerFileError, match="bank_version is missing"):
        read_answers(path, small_resolver)


def test_unknown_version_with_the_shipped_banks(tmp_path: Path) -> None:
    """The default resolver (load_bank) names the versions the package ships."""
    from medcyber.maturity.bank import available_versions

    path = _small_yaml(tmp_path, _all_small(), bank_version="99.0.0")
    with pytest.raises(AnswerFileError) as exc:
        read_answers(path)
    assert "unknown bank version '99.0.0'" in str(exc.value)
    assert f"(have: {', '.join(available_versions())})" in str(exc.value)


def test_bad_metadata(tmp_path: Path) -> None:
    path = _small_yaml(tmp_path, _all_small(), assessed_on="last tuesday", assessment_type="audit")
    with pytest.raises(AnswerFileError) as exc:
        read_answers(path, small_resolver)
    text = str(exc.value)
    assert "assessed_on 'last tuesday' is not a date" in text
    assert "assessment_type 'audit' must be one of self, third-party" in text


def test_malformed_workbooks(tmp_path: Path) -> None:
    def fails(path: Path) -> str:
        with pytest.raises(AnswerFileError) as exc:
            read_answers(path, small_resolver)
        assert str(exc.value).startswith(f"{path.name}: ")
        return str(exc.value)

    path = _template(tmp_path, SMALL)
    wb = openpyxl.load_workbook(path)
    del wb["Answers"]
    wb.save(tmp_path / "no-answers.xlsx")
    assert "sheet 'Answers': sheet is missing" in fails(tmp_path / "no-answers.xlsx")

    wb = openpyxl.load_workbook(path)
    del wb["Meta"]
    wb.save(tmp_path / "no-meta.xlsx")
    assert "sheet 'Meta': sheet is missing" in fails(tmp_path / "no-meta.xlsx")

    wb = openpyxl.load_workbook(path)
    wb["Answers"].cell(1, LEVEL_COL).value = "Maturity"
    wb["Answers"].cell(1, 1).value = None
    wb.save(tmp_path / "header.xlsx")
    msg = fails(tmp_path / "header.xlsx")
    assert "sheet 'Answers' row 1: header changed: column A is '', expected 'ID'" in msg
    assert "column F is 'Maturity', expected 'Level'" in msg

    wb = openpyxl.load_workbook(path)
    wb["Meta"]["B4"] = None  # bank_version
    wb.save(tmp_path / "meta.xlsx")
    assert "meta.xlsx: sheet 'Meta': bank_version is missing" in fails(tmp_path / "meta.xlsx")

    (tmp_path / "text.xlsx").write_text("question_id,level\n")
    assert "not a workbook" in fails(tmp_path / "text.xlsx")
    (tmp_path / "cut.xlsx").write_bytes(path.read_bytes()[:300])
    assert "not a workbook" in fails(tmp_path / "cut.xlsx")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "hi")
    (tmp_path / "zip.xlsx").write_bytes(buf.getvalue())
    assert "no Excel workbook inside" in fails(tmp_path / "zip.xlsx")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert "old binary Excel (.xls)" in fails(tmp_path / "old.xls")


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    import medcyber.maturity.answers_io as aio

    path = _template(tmp_path, SMALL)
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("xl/media/padding.bin", b"\0" * (aio.MAX_UNZIPPED_BYTES + 1))
    data = buf.getvalue()
    assert len(data) < 1_000_000
    with pytest.raises(AnswerFileError, match="refusing to open"):
        parse_answers(data, filename="bomb.xlsx", bank_resolver=small_resolver)


def test_size_limit(tmp_path: Path) -> None:
    path = _small_yaml(tmp_path, _all_small())
    size = path.stat().st_size
    assert read_answers(path, small_resolver, max_bytes=size).answers
    with pytest.raises(AnswerFileError, match=r"answers.yaml: file: file is too large .*limit is 100 bytes"):
        read_answers(path, small_resolver, max_bytes=100)
    with pytest.raises(AnswerFileError, match="too large"):
        parse_answers(b"x" * 101, filename="up.yaml", bank_resolver=small_resolver, max_bytes=100)


def test_hostile_yaml(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("bank_id: !!python/object/apply:os.system ['echo pwned']\nbank_version: 0.9.0\n")
    with pytest.raises(AnswerFileError, match="evil.yaml: line 1: not valid YAML"):
        read_answers(path, small_resolver)
    path.write_text("a: &x [1, 2]\nb: [*x, *x, *x]\n")
    with pytest.raises(AnswerFileError, match="evil.yaml: line 2: YAML aliases"):
        read_answers(path, small_resolver)
    path.write_text("- just\n- a list\n")
    with pytest.raises(AnswerFileError, match="expected a mapping"):
        read_answers(path, small_resolver)
    path.write_text("bank_id: [unclosed\n")
    with pytest.raises(AnswerFileError, match="not valid YAML"):
        read_answers(path, small_resolver)


def test_json_errors_and_unknown_fields(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_text('{"bank_id": "x",\n "bank_version": }')
    with pytest.raises(AnswerFileError, match="answers.json: line 2: not valid JSON"):
        read_answers(path, small_resolver)
    doc = {"bank_id": SMALL.id, "bank_version": SMALL.version, "answers": _all_small(), "extra": 1}
    doc["answers"][2]["levl"] = 3  # type: ignore[index]
    path.write_text(json.dumps(doc))
    with pytest.raises(AnswerFileError) as exc:
        read_answers(path, small_resolver)
    assert _problems(exc) == [
        "answers.json: top level: unknown field 'extra'",
        "answers.json: answer #3 (RM-01): unknown field 'levl'",
    ]


def test_csv_from_a_spreadsheet_with_semicolons_and_bom(tmp_path: Path) -> None:
    lines = [f"# bank_id;{SMALL.id}", f"# bank_version;{SMALL.version}", '# organisation;"Acme; Inc."']
    lines.append("question_id;level;not_applicable;na_reason;evidence;note")
    for q in SMALL.questions:
        lines.append(f'{q.id};3 - Defined;;;"SOP 1;\nSOP 2";')
    path = tmp_path / "export.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    s = read_answers(path, small_resolver)
    assert s.organisation == "Acme; Inc."
    assert {a.level for a in s.answers} == {3}
    assert s.answers[0].evidence == "SOP 1;\nSOP 2"


def test_csv_bad_header_and_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text(f"# bank_id,{SMALL.id}\nquestion_id,level,notes\nOS-01,1,\n")
    with pytest.raises(AnswerFileError, match="answers.csv: line 2: header must be question_id,level,"):
        read_answers(path, small_resolver)
    path.write_bytes(
        "question_id,level,not_applicable,na_reason,evidence,note\nOS-01,1,no,,Pr\xfcfung,\n".encode(
            "latin-1"
        )
    )
    with pytest.raises(AnswerFileError, match="not UTF-8"):
        read_answers(path, small_resolver)


def test_real_bank_template_round_trip_if_shipped(tmp_path: Path) -> None:
    """With the shipped bank (or the small one before it lands): a complete set survives the workbook."""
    s = _full_answer_set(BANK)
    path = _template(tmp_path, BANK, s)
    assert read_answers(path, RESOLVER) == read_answers(path, RESOLVER, require_complete=False)
    assert read_answers(path, RESOLVER).by_question() == s.by_question()
