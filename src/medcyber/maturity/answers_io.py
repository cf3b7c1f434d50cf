"""Answer files: read and write an assessment's answers as YAML, JSON, CSV or a fillable Excel workbook.

Every reader goes through :func:`parse_answers`, which detects the format from the content (not only
the file name), refuses oversized or hostile input, and collects *all* problems of the file into one
:class:`AnswerFileError` so a person can fix a returned workbook in one go.

File layouts
------------
YAML / JSON
    A mapping ``{bank_id, bank_version, organisation?, assessed_on?, assessment_type?, answers: [...]}``;
    each answer is ``{question_id, level?, not_applicable?, na_reason?, evidence?, note?}``. ``level``
    may be an integer, a drop-down text such as ``"3 - Defined"`` or ``"N/A"``.
CSV
    Metadata rows first, each a CSV row whose first cell starts with ``#``
    (``# bank_id,medcyber-jsp``), then the header
    ``question_id,level,not_applicable,na_reason,evidence,note`` and one row per answer. Comma,
    semicolon and tab separators are recognised from the header line.
XLSX
    Sheets ``Instructions``, ``Answers`` (one row per question, header in row 1) and a hidden ``Meta``
    sheet with key/value rows; see :func:`write_template_xlsx`.

Text fields are kept in a canonical form in every format: surrounding whitespace is dropped, line
breaks (CR LF, CR, NEL, U+2028, U+2029) become ``\\n``, characters that XML (and therefore Excel)
cannot hold are removed, and blank text is absent (``None``). :class:`AnswerSet` applies the same
rule, so a round trip gives back exactly the answer set that was written.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .bank import LEVEL_NAMES, QuestionBank, load_bank
from .scoring import Answer

Format = Literal["yaml", "json", "csv", "xlsx"]
AssessmentType = Literal["self", "third-party"]
BankResolver = Callable[[str], QuestionBank]

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: Refuse workbooks whose parts would inflate to more than this (zip-bomb guard).
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024

CSV_COLUMNS: tuple[str, ...] = ("question_id", "level", "not_applicable", "na_reason", "evidence", "note")
ANSWER_FIELDS = frozenset(CSV_COLUMNS)
META_FIELDS: tuple[str, ...] = ("bank_id", "bank_version", "organisation", "assessed_on", "assessment_type")
ASSESSMENT_TYPES: tuple[str, ...] = ("self", "third-party")

SHEET_INSTRUCTIONS = "Instructions"
SHEET_ANSWERS = "Answers"
SHEET_META = "Meta"
#: The columns of the Answers sheet that carry data; the level descriptor columns follow them.
XLSX_COLUMNS: tuple[str, ...] = (
    "ID",
    "Category",
    "Practice area",
    "Question",
    "Guidance",
    "Level",
    "N/A reason",
    "Evidence",
    "Note",
)
NA_TEXT = "N/A"
_NA_WORDS = frozenset({"n/a", "na", "n.a.", "not applicable"})
_TRUE_WORDS = frozenset({"true", "yes", "y", "1", "x"})
_FALSE_WORDS = frozenset({"false", "no", "n", "0", ""})
_ILLEGAL_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: Safe loading only (no Python tags); the libyaml one when it is installed.
_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_LINE_BREAKS = re.compile("\r\n|[\r\x85\u2028\u2029]")
_LEVEL_TEXT = re.compile(r"([+-]?\d+(?:\.\d+)?)\s*(?:[-\u2013\u2014:]\s*)?(.*)", re.DOTALL)


def clean_text(value: str | None) -> str | None:
    """The canonical form of a free-text field (see the module docstring)."""
    if value is None:
        return None
    text = _ILLEGAL_TEXT.sub("", _LINE_BREAKS.sub("\n", value)).strip()
    return text or None


def _clean_answer(a: Answer) -> Answer:
    update = {f: clean_text(getattr(a, f)) for f in ("na_reason", "evidence", "note")}
    if all(update[f] == getattr(a, f) for f in update):
        return a
    return Answer.model_validate({**a.model_dump(), **update})


class AnswerSet(BaseModel):
    """The answers of one assessment, with the bank they were given against."""

    model_config = ConfigDict(extra="forbid")

    bank_id: str
    bank_version: str
    organisation: str | None = None
    assessed_on: date | None = None
    assessment_type: AssessmentType = "self"
    answers: list[Answer] = Field(default_factory=list)

    @model_validator(mode="after")
    def _canonical(self) -> AnswerSet:
        self.organisation = clean_text(self.organisation)
        self.answers = [_clean_answer(a) for a in self.answers]
        return self

    def by_question(self) -> dict[str, Answer]:
        return {a.question_id: a for a in self.answers}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an answer file. ``location`` is e.g. "line 7" or "sheet 'Answers' row 14"."""

    location: str
    message: str
    question_id: str | None = None

    def render(self, file: str) -> str:
        where = f"{self.location} ({self.question_id})" if self.question_id else self.location
        return f"{file}: {where}: {self.message}"


class AnswerFileError(ValueError):
    """An answer file that cannot be used, with every problem found in it."""

    def __init__(self, file: str, problems: Sequence[Problem]):
        self.file = file
        self.problems = list(problems)
        super().__init__("\n".join(p.render(file) for p in self.problems))


# --------------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------------


@dataclass
class _RawAnswer:
    """One answer as found in a file, before it is checked against the bank."""

    location: str
    question_id: str | None
    level: Any = None
    not_applicable: Any = None
    na_reason: Any = None
    evidence: Any = None
    note: Any = None


@dataclass
class _RawFile:
    meta: dict[str, Any]
    meta_location: str
    rows: list[_RawAnswer]
    #: True for layouts that list every bank question (the workbook): blank rows are not answers.
    lists_all_questions: bool = False


def read_answers(
    path: str | Path,
    bank_resolver: BankResolver = load_bank,
    *,
    require_complete: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> AnswerSet:
    """Read and validate an answer file (YAML, JSON, CSV or XLSX, detected from the content)."""
    p = Path(path)
    name = p.name
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise AnswerFileError(name, [Problem("file", f"cannot be read: {exc.strerror or exc}")]) from exc
    if size > max_bytes:
        raise AnswerFileError(name, [Problem("file", _too_big(size, max_bytes))])
    with p.open("rb") as fh:
        data = fh.read(max_bytes + 1)
    return parse_answers(
        data,
        filename=name,
        bank_resolver=bank_resolver,
        require_complete=require_complete,
        max_bytes=max_bytes,
    )


def parse_answers(
    data: bytes,
    *,
    filename: str = "answers",
    bank_resolver: BankResolver = load_bank,
    require_complete: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> AnswerSet:
    """Like :func:`read_answers` for content already in memory (an upload).

    ``filename`` names the content in error messages.
    """
    if len(data) > max_bytes:
        raise AnswerFileError(filename, [Problem("file", _too_big(len(data), max_bytes))])
    fmt = detect_format(data, filename)
    if fmt == "xlsx":
        raw = _read_xlsx(data, filename)
    else:
        text = _decode(data, filename)
        if fmt == "json":
            raw = _read_json(text, filename)
        elif fmt == "csv":
            raw = _read_csv(text, filename)
        else:
            raw = _read_yaml(text, filename)
    return _build(raw, filename, bank_resolver, require_complete)


def detect_format(data: bytes, filename: str = "") -> Format:
    """The answer-file format of ``data``, judged from the content; the file name only breaks ties."""
    head = data[:8]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise AnswerFileError(
            filename or "answers",
            [Problem("file", "this is an old binary Excel (.xls) file; save it as .xlsx and send it again")],
        )
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise AnswerFileError(
            filename, [Problem("file", "not a workbook: the file is not an .xlsx (zip) archive")]
        )
    text = data[:65536].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("{"):
        return "json"
    if _csv_delimiter(text) is not None:
        return "csv"
    return "yaml"


def _too_big(size: int, limit: int) -> str:
    return f"file is too large ({size:,} bytes; the limit is {limit:,} bytes)"


def _decode(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnswerFileError(
            filename, [Problem(f"byte {exc.start}", "the file is not UTF-8 text (save it as UTF-8)")]
        ) from exc


def _csv_delimiter(text: str) -> str | None:
    """The separator of a CSV answer file, found on its header line; None if there is no such header."""
    for line in text.splitlines()[:200]:
        stripped = line.strip().lstrip("\ufeff")
        m = re.match(r'"?question_id"?\s*([,;\t])', stripped)
        if m:
            return m.group(1)
    return None


# --- YAML / JSON ---------------------------------------------------------------------------------


def _read_yaml(text: str, filename: str) -> _RawFile:
    try:
        for event in yaml.parse(text, Loader=_YamlLoader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else 0
                raise AnswerFileError(
                    filename, [Problem(f"line {line}", "YAML aliases (*name) are not accepted")]
                )
        root = yaml.compose(text, Loader=_YamlLoader)
        data = yaml.load(text, Loader=_YamlLoader)  # _YamlLoader is a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        problem = getattr(exc, "problem", None) or str(exc)
        raise AnswerFileError(filename, [Problem(where, f"not valid YAML: {problem}")]) from exc
    lines: list[int] = []
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if getattr(key, "value", None) == "answers" and isinstance(value, yaml.SequenceNode):
                lines = [item.start_mark.line + 1 for item in value.value]
    return _from_mapping(
        data, filename, lambda i: f"line {lines[i]}" if i < len(lines) else f"answer #{i + 1}"
    )


def _read_json(text: str, filename: str) -> _RawFile:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnswerFileError(
            filename, [Problem(f"line {exc.lineno}", f"not valid JSON: {exc.msg}")]
        ) from exc
    return _from_mapping(data, filename, lambda i: f"answer #{i + 1}")


def _from_mapping(data: Any, filename: str, locate: Callable[[int], str]) -> _RawFile:
    if not isinstance(data, dict):
        raise AnswerFileError(
            filename,
            [Problem("file", "expected a mapping with bank_id, bank_version and answers at the top")],
        )
    problems: list[Problem] = []
    for key in data:
        if key not in (*META_FIELDS, "answers"):
            problems.append(Problem("top level", f"unknown field {key!r}"))
    answers = data.get("answers")
    rows: list[_RawAnswer] = []
    if answers is None:
        answers = []
    if not isinstance(answers, list):
        problems.append(Problem("answers", "must be a list of answers"))
        answers = []
    for i, item in enumerate(answers):
        where = locate(i)
        if not isinstance(item, dict):
            problems.append(Problem(where, "an answer must be a mapping with question_id and level"))
            continue
        qid = item.get("question_id")
        qid_s = str(qid).strip() if qid is not None else None
        for key in item:
            if key not in ANSWER_FIELDS:
                problems.append(Problem(where, f"unknown field {key!r}", qid_s))
        rows.append(
            _RawAnswer(
                location=where,
                question_id=qid_s,
                level=item.get("level"),
                not_applicable=item.get("not_applicable"),
                na_reason=item.get("na_reason"),
                evidence=item.get("evidence"),
                note=item.get("note"),
            )
        )
    if problems:
        raise AnswerFileError(filename, problems)
    meta = {k: data.get(k) for k in META_FIELDS}
    return _RawFile(meta=meta, meta_location="top level", rows=rows)


# --- CSV -----------------------------------------------------------------------------------------


def _read_csv(text: str, filename: str) -> _RawFile:
    delimiter = _csv_delimiter(text) or ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    meta: dict[str, Any] = {}
    problems: list[Problem] = []
    header: list[str] | None = None
    rows: list[_RawAnswer] = []
    line = 1
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            where = f"line {start}"
            if not record or all(not c.strip() for c in record):
                continue
            first = record[0].strip().lstrip("\ufeff")
            if first.startswith("#"):
                key = first.lstrip("#").strip().rstrip(":").strip()
                if header is None and key in META_FIELDS:
                    meta[key] = record[1] if len(record) > 1 else None
                continue
            if header is None:
                header = [c.strip().lstrip("\ufeff").strip('"') for c in record]
                if tuple(header[: len(CSV_COLUMNS)]) != CSV_COLUMNS:
                    raise AnswerFileError(
                        filename,
                        [
                            Problem(
                                where, f"header must be {','.join(CSV_COLUMNS)} (found {','.join(header)})"
                            )
                        ],
                    )
                continue
            cells = dict(zip(CSV_COLUMNS, [*record, *[""] * len(CSV_COLUMNS)], strict=False))
            extra = [c for c in record[len(CSV_COLUMNS) :] if c.strip()]
            qid = cells["question_id"].strip() or None
            if extra:
                problems.append(
                    Problem(where, f"{len(extra)} value(s) beyond the {len(CSV_COLUMNS)} columns", qid)
                )
            rows.append(
                _RawAnswer(
                    location=where,
                    question_id=qid,
                    level=cells["level"],
                    not_applicable=cells["not_applicable"],
                    na_reason=cells["na_reason"],
                    evidence=cells["evidence"],
                    note=cells["note"],
                )
            )
    except csv.Error as exc:
        raise AnswerFileError(
            filename, [Problem(f"line {reader.line_num}", f"not valid CSV: {exc}")]
        ) from exc
    if header is None:
        raise AnswerFileError(filename, [Problem("file", f"no header line {','.join(CSV_COLUMNS)}")])
    if problems:
        raise AnswerFileError(filename, problems)
    return _RawFile(meta=meta, meta_location="metadata lines", rows=rows)


# --- XLSX ----------------------------------------------------------------------------------------


def _read_xlsx(data: bytes, filename: str) -> _RawFile:
    from openpyxl import load_workbook

    not_wb = "not a workbook: "
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            inflated = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise AnswerFileError(filename, [Problem("file", f"{not_wb}damaged zip archive ({exc})")]) from exc
    if "xl/workbook.xml" not in names:
        kind = "an OpenDocument file; save it as .xlsx" if "mimetype" in names else "no Excel workbook inside"
        raise AnswerFileError(filename, [Problem("file", f"{not_wb}zip archive with {kind}")])
    if inflated > MAX_UNZIPPED_BYTES:
        raise AnswerFileError(
            filename, [Problem("file", f"workbook would inflate to {inflated:,} bytes; refusing to open it")]
        )
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds of errors on damaged files
        raise AnswerFileError(filename, [Problem("file", f"{not_wb}cannot be opened ({exc})")]) from exc
    try:
        missing = [s for s in (SHEET_ANSWERS, SHEET_META) if s not in wb.sheetnames]
        if missing:
            raise AnswerFileError(
                filename,
                [
                    Problem(f"sheet {s!r}", "sheet is missing (use the template made by medcyber, unchanged)")
                    for s in missing
                ],
            )
        meta = _xlsx_meta(wb[SHEET_META].iter_rows(values_only=True))
        rows = _xlsx_answers(wb[SHEET_ANSWERS].iter_rows(values_only=True), filename)
    finally:
        wb.close()
    return _RawFile(meta=meta, meta_location=f"sheet {SHEET_META!r}", rows=rows, lists_all_questions=True)


def _xlsx_meta(rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for row in rows:
        if not row or row[0] is None:
            continue
        key = str(row[0]).strip()
        if key in META_FIELDS:
            meta[key] = row[1] if len(row) > 1 else None
    return meta


def _xlsx_answers(rows: Iterator[Sequence[Any]] | Iterable[Sequence[Any]], filename: str) -> list[_RawAnswer]:
    sheet = f"sheet {SHEET_ANSWERS!r}"
    it = iter(rows)
    header = next(it, None)
    if header is None:
        raise AnswerFileError(filename, [Problem(sheet, "the sheet is empty (its header row is gone)")])
    problems: list[Problem] = []
    cells = [_cell_text(c) or "" for c in header]
    cells += [""] * (len(XLSX_COLUMNS) - len(cells))
    for i, expected in enumerate(XLSX_COLUMNS):
        if cells[i].casefold() != expected.casefold():
            problems.append(
                Problem(
                    f"{sheet} row 1",
                    f"header changed: column {_col_letter(i)} is {cells[i]!r}, expected {expected!r}",
                )
            )
    if problems:
        raise AnswerFileError(filename, problems)
    out: list[_RawAnswer] = []
    idx = {name: i for i, name in enumerate(XLSX_COLUMNS)}
    for n, row in enumerate(it, start=2):
        vals = [*row, *[None] * (len(XLSX_COLUMNS) - len(row))]

        def get(col: str, vals: list[Any] = vals) -> Any:
            return vals[idx[col]]

        qid = _cell_text(get("ID"))
        out.append(
            _RawAnswer(
                location=f"{sheet} row {n}",
                question_id=qid,
                level=get("Level"),
                not_applicable=None,
                na_reason=get("N/A reason"),
                evidence=get("Evidence"),
                note=get("Note"),
            )
        )
    return out


def _col_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


# --- checking against the bank -------------------------------------------------------------------


def _cell_text(value: Any) -> str | None:
    """A cell or field value as canonical text (numbers and dates typed into text cells included)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return clean_text(
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    return clean_text(str(value))


def _text_field(value: Any, field: str, problems: list[Problem], where: str, qid: str | None) -> str | None:
    if isinstance(value, dict | list):
        problems.append(Problem(where, f"{field} must be text", qid))
        return None
    return _cell_text(value)


def parse_level(value: Any, scale_names: Sequence[str] = LEVEL_NAMES) -> tuple[int | None, bool]:
    """Read a level cell: ``3``, ``3.0``, ``"3"``, ``"3 - Defined"``, ``"N/A"`` or blank.

    Returns ``(level, not_applicable)``; raises ValueError with a message for a person.
    """
    if value is None:
        return None, False
    if isinstance(value, bool):
        raise ValueError(f"level {value!r} is not a whole number 0-5")
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"level {value:g} is not a whole number 0-5")
        n = int(value)
        if not 0 <= n <= 5:
            raise ValueError(f"level {n} is outside 0-5")
        return n, False
    if not isinstance(value, str):
        raise ValueError(f"level must be a number 0-5 or {NA_TEXT}")
    text = value.strip()
    if not text:
        return None, False
    if text.casefold() in _NA_WORDS:
        return None, True
    m = _LEVEL_TEXT.fullmatch(text)
    if not m:
        raise ValueError(f"level {text!r} is not a level: use 0-5 or {NA_TEXT}")
    number, name = m.group(1), m.group(2).strip()
    if "." in number and not float(number).is_integer():
        raise ValueError(f"level {number} is not a whole number 0-5")
    n = int(float(number))
    if not 0 <= n <= 5:
        raise ValueError(f"level {n} is outside 0-5")
    if name:
        known = {scale_names[n].casefold(), LEVEL_NAMES[n].casefold()}
        if name.casefold() not in known:
            raise ValueError(f"level text {text!r} does not match: level {n} is {scale_names[n]!r}")
    return n, False


def _parse_flag(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().casefold()
    if text in _TRUE_WORDS or text in _NA_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    raise ValueError(f"not_applicable {value!r} is not yes/no")


def _meta_text(meta: dict[str, Any], key: str) -> str | None:
    return _cell_text(meta.get(key))


def _build(raw: _RawFile, filename: str, resolver: BankResolver, require_complete: bool) -> AnswerSet:
    problems: list[Problem] = []
    mloc = raw.meta_location
    bank_id = _meta_text(raw.meta, "bank_id")
    version = _meta_text(raw.meta, "bank_version")
    if not bank_id:
        problems.append(Problem(mloc, "bank_id is missing: the file must say which question bank it answers"))
    if not version:
        problems.append(
            Problem(mloc, "bank_version is missing: the file must say which bank version it answers")
        )
    bank: QuestionBank | None = None
    if bank_id and version:
        try:
            bank = resolver(version)
        except LookupError as exc:
            message = str(exc.args[0]) if exc.args else str(exc)
            problems.append(Problem(mloc, f"unknown bank version {version!r}: {message}"))
        else:
            if bank.id != bank_id:
                problems.append(
                    Problem(mloc, f"file is for bank {bank_id!r} but bank version {version} is {bank.id!r}")
                )
                bank = None

    assessed_on: date | None = None
    raw_date = raw.meta.get("assessed_on")
    if isinstance(raw_date, datetime):
        assessed_on = raw_date.date()
    elif isinstance(raw_date, date):
        assessed_on = raw_date
    elif raw_date not in (None, ""):
        try:
            assessed_on = date.fromisoformat(str(raw_date).strip())
        except ValueError:
            problems.append(Problem(mloc, f"assessed_on {raw_date!r} is not a date (use YYYY-MM-DD)"))
    atype = _meta_text(raw.meta, "assessment_type") or "self"
    if atype not in ASSESSMENT_TYPES:
        problems.append(
            Problem(mloc, f"assessment_type {atype!r} must be one of {', '.join(ASSESSMENT_TYPES)}")
        )

    scale_names = [s.name for s in bank.scale] if bank else list(LEVEL_NAMES)
    answers: list[Answer] = []
    first_seen: dict[str, str] = {}
    for row in raw.rows:
        where, qid = row.location, row.question_id
        before = len(problems)
        na_reason = _text_field(row.na_reason, "na_reason", problems, where, qid)
        evidence = _text_field(row.evidence, "evidence", problems, where, qid)
        note = _text_field(row.note, "note", problems, where, qid)
        try:
            level, na_from_level = parse_level(row.level, scale_names)
        except ValueError as exc:
            problems.append(Problem(where, str(exc), qid))
            level, na_from_level = None, False
        try:
            na = _parse_flag(row.not_applicable) or na_from_level
        except ValueError as exc:
            problems.append(Problem(where, str(exc), qid))
            na = na_from_level
        blank = level is None and not na and row.level in (None, "") and not (na_reason or evidence or note)
        if not qid:
            if not blank or not raw.lists_all_questions:
                problems.append(Problem(where, "question id is missing"))
            continue
        if raw.lists_all_questions and blank:
            if qid in first_seen:
                problems.append(Problem(where, f"question listed twice (also at {first_seen[qid]})", qid))
            first_seen.setdefault(qid, where)
            continue
        if qid in first_seen:
            problems.append(Problem(where, f"duplicate answer (also at {first_seen[qid]})", qid))
            continue
        first_seen[qid] = where
        if bank is not None and not bank.has_question(qid):
            problems.append(Problem(where, f"unknown question id for bank {bank.id} {bank.version}", qid))
            continue
        if na and level is not None:
            problems.append(Problem(where, f"level {level} given but the answer is also marked N/A", qid))
        if na and not na_reason:
            problems.append(Problem(where, "N/A needs a reason (fill in the N/A reason)", qid))
        if na and bank is not None and not bank.question(qid).na_allowed:
            problems.append(Problem(where, "N/A is not allowed for this question; choose a level 0-5", qid))
        if len(problems) > before:
            continue
        answers.append(
            Answer(
                question_id=qid,
                level=level,
                not_applicable=na,
                na_reason=na_reason,
                evidence=evidence,
                note=note,
            )
        )

    if bank is not None and require_complete:
        answered = {a.question_id for a in answers if a.answered}
        failed = {p.question_id for p in problems if p.question_id}
        for q in bank.questions:
            if q.required and q.id not in answered and q.id not in failed:
                problems.append(Problem(f"question {q.id}", "required answer is missing"))
    if problems:
        raise AnswerFileError(filename, problems)
    assert bank_id and version
    return AnswerSet(
        bank_id=bank_id,
        bank_version=version,
        organisation=_meta_text(raw.meta, "organisation"),
        assessed_on=assessed_on,
        assessment_type=atype,  # type: ignore[arg-type]
        answers=answers,
    )


# --------------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------------


def level_label(level: int, scale_names: Sequence[str] = LEVEL_NAMES) -> str:
    """The drop-down text of a level, e.g. ``"3 - Defined"``."""
    return f"{level} - {scale_names[level]}"


def _answer_dict(a: Answer) -> dict[str, Any]:
    d: dict[str, Any] = {"question_id": a.question_id}
    if a.level is not None:
        d["level"] = a.level
    if a.not_applicable:
        d["not_applicable"] = True
    for f in ("na_reason", "evidence", "note"):
        if getattr(a, f) is not None:
            d[f] = getattr(a, f)
    return d


def _set_dict(s: AnswerSet) -> dict[str, Any]:
    d: dict[str, Any] = {"bank_id": s.bank_id, "bank_version": s.bank_version}
    if s.organisation is not None:
        d["organisation"] = s.organisation
    if s.assessed_on is not None:
        d["assessed_on"] = s.assessed_on.isoformat()
    d["assessment_type"] = s.assessment_type
    d["answers"] = [_answer_dict(a) for a in s.answers]
    return d


def answers_to_bytes(answer_set: AnswerSet, format: Format, *, bank: QuestionBank | None = None) -> bytes:
    """The content of an answer file; ``bank`` is needed for xlsx (loaded from the shipped banks if None)."""
    if format == "json":
        return (json.dumps(_set_dict(answer_set), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    if format == "yaml":
        text = yaml.safe_dump(_set_dict(answer_set), sort_keys=False, allow_unicode=True, width=100)
        return text.encode("utf-8")
    if format == "csv":
        return _csv_text(answer_set).encode("utf-8")
    if format == "xlsx":
        buf = io.BytesIO()
        write_template_xlsx(bank or load_bank(answer_set.bank_version), buf, answer_set)
        return buf.getvalue()
    raise ValueError(f"unknown answer file format {format!r}")


def _csv_text(s: AnswerSet) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["# medcyber answers", "1"])
    for key in META_FIELDS:
        value = getattr(s, key)
        if value is not None:
            w.writerow([f"# {key}", value.isoformat() if isinstance(value, date) else value])
    w.writerow(CSV_COLUMNS)
    for a in s.answers:
        level = NA_TEXT if a.not_applicable else ("" if a.level is None else str(a.level))
        w.writerow(
            [
                a.question_id,
                level,
                "yes" if a.not_applicable else "no",
                a.na_reason or "",
                a.evidence or "",
                a.note or "",
            ]
        )
    return buf.getvalue()


def write_answers(
    answer_set: AnswerSet,
    path: str | Path | IO[bytes] | IO[str],
    format: Format | None = None,
    *,
    bank: QuestionBank | None = None,
) -> None:
    """Write an answer file. ``format`` defaults to the file extension; for a stream it is required.

    Text formats may go to a text or a binary stream; xlsx needs a binary stream or a path.
    """
    if format is None:
        if not isinstance(path, str | Path):
            raise ValueError("format is required when writing to a stream")
        format = _format_from_suffix(Path(path))
    data = answers_to_bytes(answer_set, format, bank=bank)
    if isinstance(path, str | Path):
        Path(path).write_bytes(data)
    elif isinstance(path, io.TextIOBase):
        if format == "xlsx":
            raise TypeError("an xlsx workbook needs a binary stream")
        path.write(data.decode("utf-8"))
    else:
        path.write(data)  # type: ignore[arg-type]


def _format_from_suffix(path: Path) -> Format:
    suffix = path.suffix.lower().lstrip(".")
    mapping: dict[str, Format] = {"yaml": "yaml", "yml": "yaml", "json": "json", "csv": "csv", "xlsx": "xlsx"}
    if suffix not in mapping:
        raise ValueError(f"cannot tell the format of {path.name}; pass format= one of yaml, json, csv, xlsx")
    return mapping[suffix]


# --- the fillable workbook -----------------------------------------------------------------------

_WIDTHS = {"ID": 8, "Category": 16, "Practice area": 20, "Question": 55, "Guidance": 50, "Level": 26}
_WIDTHS |= {"N/A reason": 28, "Evidence": 40, "Note": 30}
_DESCRIPTOR_WIDTH = 38


def write_template_xlsx(
    bank: QuestionBank, path: str | Path | IO[bytes], answer_set: AnswerSet | None = None
) -> None:
    """Write the fillable workbook for ``bank``, pre-filled with ``answer_set`` when given.

    Sheets: "Instructions", "Answers" (one row per question; the Level column has a drop-down) and a
    hidden "Meta" that :func:`read_answers` uses to know the bank and version.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    if answer_set is not None and (answer_set.bank_id, answer_set.bank_version) != (bank.id, bank.version):
        raise ValueError(
            f"answers are for bank {answer_set.bank_id} {answer_set.bank_version}, "
            f"not {bank.id} {bank.version}"
        )
    scale_names = [s.name for s in bank.scale]
    labels = [level_label(n, scale_names) for n in range(6)]
    for label in labels:
        if "," in label or '"' in label:
            raise ValueError(f"level name {label!r} cannot be used in a drop-down list")

    wb = Workbook()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDE6F0")
    input_fill = PatternFill("solid", fgColor="FFF8DC")
    wrap_top = Alignment(wrap_text=True, vertical="top")
    unlocked = Protection(locked=False)

    # Instructions
    ins = wb.active
    assert ins is not None
    ins.title = SHEET_INSTRUCTIONS
    ins.column_dimensions["A"].width = 26
    ins.column_dimensions["B"].width = 100
    _put(ins, 1, 1, bank.title, font=Font(bold=True, size=14))
    _put(ins, 2, 1, f"Question bank {bank.id}, version {bank.version} - {len(bank.questions)} questions")
    lines = [
        "How to fill in",
        f"1. Go to the sheet '{SHEET_ANSWERS}'. Each row is one question; read the question, the guidance "
        "and the "
        "six level descriptors to the right of it.",
        "2. In the Level column pick the level that describes your organisation today from the drop-down "
        "(0 - Not initiated ... 5 - Optimizing). Typing just the number (e.g. 3) also works.",
        f"3. Where the drop-down offers {NA_TEXT}, the question may be marked not applicable; "
        "then write why in 'N/A reason' (required).",
        "4. Optionally name your evidence (documents, records, tools) in 'Evidence' and add a 'Note'.",
        "5. Leave a Level blank if you cannot answer yet; the file can be read back incomplete "
        "and finished later.",
        "6. Do not rename the sheets, change the header row or the IDs, or delete the hidden 'Meta' sheet: "
        "they tell medcyber which questions and which bank version the answers belong to.",
        "7. Save as .xlsx and send the file back.",
    ]
    row = 4
    for i, text in enumerate(lines):
        _put(ins, row, 1, text, font=bold if i == 0 else None, align=wrap_top, merge_to=2)
        row += 1
    row += 1
    _put(ins, row, 1, "Level", font=bold, fill=head_fill)
    _put(ins, row, 2, "Meaning", font=bold, fill=head_fill)
    for s in bank.scale:
        row += 1
        _put(ins, row, 1, level_label(s.level, scale_names), align=wrap_top)
        _put(ins, row, 2, s.description, align=wrap_top)
    if answer_set is not None and answer_set.organisation:
        row += 2
        _put(ins, row, 1, "Organisation", font=bold)
        _put(ins, row, 2, answer_set.organisation)

    # Answers
    ws = wb.create_sheet(SHEET_ANSWERS)
    headers = [*XLSX_COLUMNS, *(f"Level {label}" for label in labels)]
    for c, name in enumerate(headers, start=1):
        _put(ws, 1, c, name, font=bold, fill=head_fill, align=wrap_top)
        ws.column_dimensions[get_column_letter(c)].width = _WIDTHS.get(name, _DESCRIPTOR_WIDTH)
    col = {name: i + 1 for i, name in enumerate(XLSX_COLUMNS)}
    level_col = get_column_letter(col["Level"])
    plain = DataValidation(type="list", formula1='"' + ",".join(labels) + '"', allow_blank=True)
    with_na = DataValidation(type="list", formula1='"' + ",".join([*labels, NA_TEXT]) + '"', allow_blank=True)
    for dv in (plain, with_na):
        dv.showErrorMessage = True
        dv.errorTitle = "Level"
        dv.error = "Pick a level from the list (0-5" + (", or N/A)" if dv is with_na else ")")
        dv.promptTitle = "Level"
        dv.prompt = "Pick the level that describes your organisation today"
        dv.showInputMessage = True
        ws.add_data_validation(dv)
    prefill = answer_set.by_question() if answer_set is not None else {}
    for r, q in enumerate(bank.questions, start=2):
        category = bank.category(q.category)
        area = bank.practice_area(q.practice_area)
        values: dict[str, Any] = {
            "ID": q.id,
            "Category": category.name,
            "Practice area": area.name,
            "Question": q.text,
            "Guidance": q.guidance,
        }
        a = prefill.get(q.id)
        if a is not None:
            values["Level"] = NA_TEXT if a.not_applicable else (None if a.level is None else labels[a.level])
            values["N/A reason"] = a.na_reason
            values["Evidence"] = a.evidence
            values["Note"] = a.note
        for name, c in col.items():
            editable = name in ("Level", "N/A reason", "Evidence", "Note")
            _put(
                ws,
                r,
                c,
                values.get(name),
                align=wrap_top,
                fill=input_fill if editable else None,
                protection=unlocked if editable else None,
            )
        for n, descriptor in enumerate(q.levels):
            _put(ws, r, len(XLSX_COLUMNS) + 1 + n, descriptor, align=wrap_top)
        (with_na if q.na_allowed else plain).add(f"{level_col}{r}")
    ws.freeze_panes = "E2"
    last = get_column_letter(len(headers))
    ws.auto_filter.ref = f"A1:{last}{len(bank.questions) + 1}"
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.autoFilter = False
    ws.protection.sort = False
    wb.active = wb.index(ws)

    # Meta (hidden)
    meta = wb.create_sheet(SHEET_META)
    meta_rows: list[tuple[str, Any]] = [
        ("format", "medcyber-answers"),
        ("format_version", 1),
        ("bank_id", bank.id),
        ("bank_version", bank.version),
        ("organisation", answer_set.organisation if answer_set else None),
        (
            "assessed_on",
            answer_set.assessed_on.isoformat() if answer_set and answer_set.assessed_on else None,
        ),
        ("assessment_type", answer_set.assessment_type if answer_set else "self"),
    ]
    for r, (key, value) in enumerate(meta_rows, start=1):
        _put(meta, r, 1, key)
        _put(meta, r, 2, value)
    meta.sheet_state = "hidden"
    meta.protection.sheet = True

    if isinstance(path, str | Path):
        wb.save(str(path))
    else:
        wb.save(path)


def _put(
    ws: Any,
    row: int,
    column: int,
    value: Any,
    *,
    font: Any = None,
    fill: Any = None,
    align: Any = None,
    protection: Any = None,
    merge_to: int | None = None,
) -> None:
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        value = _ILLEGAL_TEXT.sub("", value)
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text typed by a person, never a formula
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if align is not None:
        cell.alignment = align
    if protection is not None:
        cell.protection = protection
    if merge_to is not None:
        ws.merge_cells(start_row=row, start_column=column, end_row=row, end_column=merge_to)
