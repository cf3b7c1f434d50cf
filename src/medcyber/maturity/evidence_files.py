"""Evidence files attached to questionnaire answers: what is accepted, decided from the content (pure).

An uploaded file is hostile until proven otherwise. Its type is decided by its bytes, never by the
client's content type, and the name only chooses among the text types once the bytes are known to be
safe text. Accepted:

* PDF (``%PDF-`` at offset 0, ``%%EOF`` near the end; no JavaScript, launch actions or embedded files
  in the document's dictionaries -- a best-effort check, the bytes are still served as a download);
* PNG and JPEG (the chunk / segment structure is walked; dimensions are bounded);
* DOCX and XLSX (an Office Open XML zip: ``[Content_Types].xml`` names the main part and the part is
  there; no macros, ActiveX or OLE objects; no encrypted members; a cap on members, on the inflated
  total and on the compression ratio, and every member's CRC is checked within those caps);
* plain text, CSV and Markdown (valid UTF-8, no NUL byte, not markup and not a script), JSON (parses).

Everything else -- HTML, SVG, XML, executables, scripts, archives, other office formats -- is refused
with a message naming the file and the accepted types. The file name's extension must agree with the
content (a PDF called ``report.exe`` is refused; a file without an extension gets the canonical one).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

from defusedxml import ElementTree as SafeET

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_FILE_NAME_CHARS = 200
#: Zip guards for DOCX/XLSX: members, inflated total, and the inflated/compressed ratio of a member.
MAX_ZIP_MEMBERS = 5_000
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
MAX_ZIP_RATIO = 200
ZIP_RATIO_FLOOR = 1024 * 1024  # members smaller than this are never a bomb on their own
#: Image guards: a small file that decodes to a huge bitmap is a decompression bomb for any viewer.
MAX_IMAGE_SIDE = 30_000
MAX_IMAGE_PIXELS = 100_000_000

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEXT = "text/plain"
CSV = "text/csv"
MARKDOWN = "text/markdown"
JSON = "application/json"


@dataclass(frozen=True)
class FileType:
    media_type: str
    label: str
    extensions: tuple[str, ...]  # the first is the canonical one


FILE_TYPES: tuple[FileType, ...] = (
    FileType(PDF, "PDF", (".pdf",)),
    FileType(PNG, "PNG image", (".png",)),
    FileType(JPEG, "JPEG image", (".jpg", ".jpeg", ".jpe")),
    FileType(DOCX, "Word document (DOCX)", (".docx",)),
    FileType(XLSX, "Excel workbook (XLSX)", (".xlsx",)),
    FileType(TEXT, "plain text", (".txt", ".text", ".log")),
    FileType(CSV, "CSV", (".csv",)),
    FileType(MARKDOWN, "Markdown", (".md", ".markdown")),
    FileType(JSON, "JSON", (".json",)),
)
_BY_MEDIA = {t.media_type: t for t in FILE_TYPES}
_TEXT_BY_EXT = {
    e: t.media_type for t in FILE_TYPES if t.media_type in (TEXT, CSV, MARKDOWN, JSON) for e in t.extensions
}
ALLOWED_DESCRIPTION = "PDF, PNG, JPEG, DOCX, XLSX, plain text (.txt), CSV, Markdown or JSON"


class EvidenceFileError(ValueError):
    """The file is refused; the message names it and says why (meant to be shown as it is)."""


@dataclass(frozen=True)
class CheckedFile:
    """An accepted file: its sanitised name (extension agreeing with the content) and what it is."""

    file_name: str
    media_type: str
    size: int
    sha256: str


def file_type(media_type: str) -> FileType:
    return _BY_MEDIA[media_type]


# --- file names ----------------------------------------------------------------------------------------

_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_UNSAFE_CHARS = re.compile(r'[<>:"|?*]')


def _split_ext(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16 or not ext.isalnum():
        return name, ""
    return stem, "." + ext


def sanitise_file_name(name: str) -> str:
    """A display name safe to store and to show: no path, no control or bidi characters, no leading dots,
    at most ``MAX_FILE_NAME_CHARS`` characters with the extension kept. Never empty ("attachment")."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # drop control (Cc), format (Cf: bidi overrides, zero-width), separators (Zl, Zp), surrogates/unassigned
    name = "".join(
        c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")
    )
    name = _UNSAFE_CHARS.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if not name:
        return "attachment"
    if _WINDOWS_RESERVED.match(name):
        name = "_" + name
    if len(name) > MAX_FILE_NAME_CHARS:
        stem, ext = _split_ext(name)
        name = stem[: MAX_FILE_NAME_CHARS - len(ext)].rstrip(" .") + ext
    return name


def extension_of(name: str) -> str:
    """The lower-cased extension with its dot, or ``""``."""
    return _split_ext(name)[1].lower()


# --- sniffing ------------------------------------------------------------------------------------------


def sniff(data: bytes, file_name: str = "") -> str:
    """The media type of an evidence file, decided from its bytes; raises :class:`EvidenceFileError`
    for an empty, oversized or unsafe file, a type that is not accepted, or a name that contradicts it."""
    return check_file(data, file_name).media_type


def check_file(data: bytes, file_name: str, *, max_bytes: int = MAX_ATTACHMENT_BYTES) -> CheckedFile:
    """Size, type and name of an evidence file, all checked (see the module documentation)."""
    name = sanitise_file_name(file_name)
    if not data:
        raise EvidenceFileError(f"{name}: the file is empty")
    if len(data) > max_bytes:
        raise EvidenceFileError(
            f"{name}: {len(data):,} bytes is over the limit of {max_bytes:,} bytes ({max_bytes // 2**20} MiB)"
        )
    ext = extension_of(name)
    media_type = _sniff_content(data, name, ext)
    ftype = _BY_MEDIA[media_type]
    if not ext:
        name = sanitise_file_name(name + ftype.extensions[0])
    elif ext not in ftype.extensions:
        raise EvidenceFileError(
            f"{name}: the content is a {ftype.label} but the name ends in {ext!r}; "
            f"rename it to end in {' or '.join(ftype.extensions)}"
        )
    return CheckedFile(
        file_name=name, media_type=media_type, size=len(data), sha256=hashlib.sha256(data).hexdigest()
    )


def _refuse(name: str, what: str) -> EvidenceFileError:
    return EvidenceFileError(f"{name}: {what}; evidence files must be {ALLOWED_DESCRIPTION}")


_KNOWN_REFUSED: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "an ELF executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O or Java class file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Office or encrypted Office file (OLE2)"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"GIF8", "a GIF image"),
    (b"%!PS", "a PostScript file"),
    (b"{\\rtf", "an RTF document"),
)


def _sniff_content(data: bytes, name: str, ext: str) -> str:
    if data.startswith(b"%PDF-"):
        _check_pdf(data, name)
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        _check_png(data, name)
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        _check_jpeg(data, name)
        return JPEG
    if data.startswith(b"PK\x03\x04"):
        return _check_ooxml(data, name)
    if data.startswith(b"MZ") and b"\x00" in data[:64]:
        raise _refuse(name, "the content is a Windows executable")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(name, "UTF-16 text; save it as UTF-8")
    for magic, what in _KNOWN_REFUSED:
        if data.startswith(magic):
            raise _refuse(name, f"the content is {what}")
    return _check_text(data, name, ext)


# --- PDF -----------------------------------------------------------------------------------------------

_PDF_STREAM_START = re.compile(rb"stream\r?\n")
_PDF_NAME = re.compile(rb"/([^\x00\t\n\x0c\r ()<>\[\]{}/%]+)")
_PDF_ACTIVE = {
    b"JavaScript": "JavaScript",
    b"JS": "JavaScript",
    b"Launch": "a launch action",
    b"EmbeddedFile": "an embedded file",
    b"EmbeddedFiles": "embedded files",
    b"RichMedia": "rich media (Flash)",
    b"XFA": "an XFA form",
}
_PDF_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")


def _outside_streams(data: bytes) -> bytes:
    """The PDF without the content of its streams (compressed bytes would give false alarms); linear."""
    parts: list[bytes] = []
    pos = 0
    while (start := _PDF_STREAM_START.search(data, pos)) is not None:
        parts.append(data[pos : start.start()])
        end = data.find(b"endstream", start.end())
        if end == -1:
            return b" ".join(parts)
        pos = end + len(b"endstream")
    parts.append(data[pos:])
    return b" ".join(parts)


def _check_pdf(data: bytes, name: str) -> None:
    if b"%%EOF" not in data[-2048:]:
        raise _refuse(name, "not a complete PDF (no %%EOF marker at the end; truncated or damaged?)")
    outside_streams = _outside_streams(data)
    for raw in set(_PDF_NAME.findall(outside_streams)):
        token = _PDF_HEX.sub(lambda h: bytes([int(h.group(1), 16)]), raw) if b"#" in raw else raw
        if token in _PDF_ACTIVE:
            raise EvidenceFileError(
                f"{name}: the PDF contains {_PDF_ACTIVE[token]}; export or print it to a plain PDF "
                "without active content and upload that"
            )


# --- PNG and JPEG --------------------------------------------------------------------------------------


def _check_dimensions(name: str, kind: str, width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise _refuse(name, f"a damaged {kind} (zero width or height)")
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
        raise EvidenceFileError(
            f"{name}: the {kind} is {width} x {height} pixels, more than the limit of "
            f"{MAX_IMAGE_PIXELS:,} pixels ({MAX_IMAGE_SIDE} per side); scale it down"
        )


def _check_png(data: bytes, name: str) -> None:
    pos = 8
    first = True
    while True:
        if pos + 12 > len(data):
            raise _refuse(name, "a truncated PNG image (no IEND chunk)")
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 8 + length
        if end + 4 > len(data):
            raise _refuse(name, f"a truncated PNG image (chunk {ctype!r} runs past the end)")
        (crc,) = struct.unpack(">I", data[end : end + 4])
        if zlib.crc32(data[pos + 4 : end]) != crc:
            raise _refuse(name, f"a damaged PNG image (bad checksum in chunk {ctype!r})")
        if first:
            if ctype != b"IHDR" or length != 13:
                raise _refuse(name, "a damaged PNG image (IHDR is not the first chunk)")
            width, height = struct.unpack(">II", data[pos + 8 : pos + 16])
            _check_dimensions(name, "PNG image", width, height)
            first = False
        if ctype == b"IEND":
            return
        pos = end + 4


_JPEG_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _check_jpeg(data: bytes, name: str) -> None:
    pos = 2
    size: tuple[int, int] | None = None
    while True:
        while pos < len(data) and data[pos] == 0xFF and pos + 1 < len(data) and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise _refuse(name, "a damaged JPEG image (bad segment structure)")
        marker = data[pos + 1]
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        if marker == 0xD9:
            raise _refuse(name, "a damaged JPEG image (ends before any image data)")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise _refuse(name, "a truncated JPEG image")
        if marker in _JPEG_SOF:
            if length < 8:
                raise _refuse(name, "a damaged JPEG image (short frame header)")
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            size = (width, height)
        if marker == 0xDA:  # start of scan: the entropy-coded data follows
            if size is None:
                raise _refuse(name, "a damaged JPEG image (no frame header before the image data)")
            _check_dimensions(name, "JPEG image", *size)
            if b"\xff\xd9" not in data[pos + 2 + length :]:
                raise _refuse(name, "a truncated JPEG image (no end-of-image marker)")
            return
        pos += 2 + length


# --- DOCX and XLSX (Office Open XML) --------------------------------------------------------------------

_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
}
_OOXML_OTHER = {
    "application/vnd.ms-word.document.macroEnabled.main+xml": "a macro-enabled Word document (DOCM)",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml": "a macro-enabled Word template",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": "a Word template",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "a macro-enabled Excel workbook (XLSM)",
    "application/vnd.ms-excel.template.macroEnabled.main+xml": "a macro-enabled Excel template",
    "application/vnd.ms-excel.sheet.binary.macroEnabled.main": "a binary Excel workbook (XLSB)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "an Excel template",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "a PowerPoint file",
}


def _check_ooxml(data: bytes, name: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:
                raise _refuse(
                    name, f"a zip archive with {len(infos):,} members (more than {MAX_ZIP_MEMBERS:,})"
                )
            declared = sum(i.file_size for i in infos)
            if declared > MAX_UNZIPPED_BYTES:
                raise EvidenceFileError(
                    f"{name}: would inflate to {declared:,} bytes, over the limit of "
                    f"{MAX_UNZIPPED_BYTES:,} bytes (zip bomb?)"
                )
            names = {i.filename for i in infos}
            for info in infos:
                _check_member(info, name)
            media_type = _ooxml_main_type(zf, names, name)
            _inflate_all(zf, infos, name)
    except EvidenceFileError:
        raise
    except zipfile.BadZipFile as exc:
        raise _refuse(name, f"a damaged zip archive ({exc})") from None
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError, zlib.error) as exc:
        raise _refuse(name, f"an unreadable zip archive ({exc})") from None
    return media_type


def _check_member(info: zipfile.ZipInfo, name: str) -> None:
    member = info.filename
    low = member.lower()
    if info.flag_bits & 0x1:
        raise EvidenceFileError(
            f"{name}: member {member!r} is encrypted; upload a document without a password"
        )
    if info.file_size > ZIP_RATIO_FLOOR and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
        raise EvidenceFileError(
            f"{name}: member {member!r} inflates {info.file_size // max(info.compress_size, 1):,} times "
            f"(more than {MAX_ZIP_RATIO}; zip bomb?)"
        )
    if low.endswith("vbaproject.bin") or low.endswith("vbadata.xml"):
        raise EvidenceFileError(f"{name}: the document contains macros; save it without macros (.docx/.xlsx)")
    if "/activex/" in low:
        raise EvidenceFileError(f"{name}: the document contains ActiveX controls; remove them and save again")
    if "/embeddings/" in low and low.endswith(".bin"):
        raise EvidenceFileError(
            f"{name}: the document contains an embedded OLE object ({member}); remove it and save again"
        )


def _ooxml_main_type(zf: zipfile.ZipFile, names: set[str], name: str) -> str:
    if "[Content_Types].xml" not in names:
        raise _refuse(name, "a zip archive that is not an Office document (no [Content_Types].xml)")
    info = zf.getinfo("[Content_Types].xml")
    if info.file_size > 2 * 1024 * 1024:
        raise _refuse(name, "an Office document with an implausibly large [Content_Types].xml")
    try:
        root = SafeET.fromstring(zf.read(info))
    except Exception as exc:  # defusedxml raises its own errors for entity tricks, ParseError otherwise
        raise _refuse(name, f"an Office document with an unreadable [Content_Types].xml ({exc})") from None
    overrides: dict[str, str] = {}
    for el in root.iter(f"{_CT_NS}Override"):
        overrides[el.get("ContentType", "")] = el.get("PartName", "")
    if any("vbaproject" in ct.lower() or "activex" in ct.lower() for ct in overrides):
        raise EvidenceFileError(
            f"{name}: the document contains macros or ActiveX; save it as a plain .docx/.xlsx"
        )
    for ct, what in _OOXML_OTHER.items():
        if ct in overrides:
            raise _refuse(name, f"the content is {what}")
    found = [(ct, part) for ct, part in overrides.items() if ct in _OOXML_MAIN]
    if len(found) != 1:
        raise _refuse(name, "a zip archive that is not a Word or Excel document")
    ct, part = found[0]
    if part.lstrip("/") not in names:
        raise _refuse(name, f"a damaged Office document (main part {part} is missing)")
    return _OOXML_MAIN[ct]


def _inflate_all(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], name: str) -> None:
    """Read every member (bounded by the declared sizes, checked above): CRCs and compression are sound."""
    for info in infos:
        if info.is_dir():
            continue
        with zf.open(info) as fh:
            while fh.read(1024 * 1024):
                pass


# --- text ----------------------------------------------------------------------------------------------

_MARKUP_SNIFF = re.compile(
    rb"<\s*(!doctype|html|head|body|script|iframe|svg|object|embed|\?xml|meta|style)\b",
    re.IGNORECASE,
)


def _check_text(data: bytes, name: str, ext: str) -> str:
    if b"\x00" in data:
        raise _refuse(name, "a binary file (it contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(
            name, f"not UTF-8 text (byte {exc.start:,} is invalid); if it is text, save it as UTF-8"
        ) from None
    head = text.lstrip("\ufeff \t\r\n\x0c")
    if head.startswith("<") or _MARKUP_SNIFF.search(data[:4096]):
        raise _refuse(name, "the content is HTML, SVG or XML markup")
    if head.startswith("#!"):
        raise _refuse(name, "the content is a script")
    media_type = _TEXT_BY_EXT.get(ext)
    if media_type is None:
        if ext:
            raise _refuse(name, f"the content is text but {ext!r} is not an accepted text extension")
        media_type = TEXT
    if media_type == JSON:
        _check_json(text, name)
    return media_type


def _no_constants(value: str) -> Any:
    raise ValueError(f"{value} is not valid JSON")


def _check_json(text: str, name: str) -> None:
    try:
        json.loads(text.removeprefix("\ufeff"), parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise EvidenceFileError(
            f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise EvidenceFileError(f"{name}: not valid JSON ({exc or 'nested too deeply'})") from None
