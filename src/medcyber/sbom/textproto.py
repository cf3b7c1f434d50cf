"""CycloneDX in protobuf *text format* (``.textproto``): a small safe parser and the mapping to JSON.

Parsing
-------
:func:`parse` reads the protobuf text format without any ``.proto`` schema: fields ``name: value``, nested
messages ``name { ... }`` / ``name < ... >`` (the ``:`` before a message is optional), list values
``name: [a, b]``, strings in single or double quotes with C escapes (octal, ``\\x``, ``\\u``, ``\\U``,
surrogate pairs) and adjacent-string concatenation, integers (decimal, hex, octal), floats (``1.5``,
``1e3``, ``2.0f``, ``inf``, ``nan``), identifiers (enum values and booleans, told apart later), ``#``
comments, and ``[ext.name]`` / ``[type.googleapis.com/pkg.Msg]`` field names. Field separators ``,`` and
``;`` are accepted. Nesting deeper than ``max_depth`` is refused, and every syntax error names its line
and column (:class:`TextFormatError`). The parser never evaluates anything and builds only plain objects.

Mapping
-------
The CycloneDX ``.proto`` files are not shipped (and not needed): :func:`to_cyclonedx_json` maps the parsed
``Bom`` message to the CycloneDX JSON shape of the same spec version *guided by that version's JSON
schema*. Each proto field is looked up among the JSON properties the schema allows at that place
(``bom_ref`` -> ``bom-ref``, ``serial_number`` -> ``serialNumber``, ``x_trust_boundary`` ->
``x-trust-boundary``); the schema also says whether a property is a list, a date-time (proto
``Timestamp {seconds, nanos}`` -> RFC 3339), a boolean, a plain string that the proto wraps in a message
(``pointers { pointer: "/a" }`` -> ``"/a"``) or an enum (``CLASSIFICATION_OPERATING_SYSTEM`` ->
``operating-system``, ``HASH_ALG_SHA_256`` -> ``SHA-256``: the enum value whose letters and digits end the
proto identifier, by whole ``_``-separated words, longest match). Where the proto shape differs from the
JSON one, generic rules apply: a repeated field is a list; a message of one scalar field where JSON wants
a scalar is that scalar; a message that only wraps a list (``relatedCryptographicAssets { assets ..
assets .. }``) is the list; a proto ``oneof`` message the JSON object does not know (``datasets {
dataset {..} }``, ``licenses { expression_detailed {..} }``, ``extensions { commonExtension { name } }``
-> ``commonExtensionName``) is merged into its parent; the empty string (proto3's default) is "not
given"; repeated values of a JSON set (``uniqueItems``) are listed once, with a note. The few renamings
no rule derives are data (:data:`_ALIASES`: ``Hash.value`` -> ``content``, ``dependencies { ref }`` ->
``dependsOn``, ...). What the schema does not know is carried over in camelCase, so the JSON-schema
validation that follows reports it (with a JSON pointer into the mapped document) instead of it being
lost silently. JSF signatures have no protobuf encoding; :func:`signature_only` tells which schema errors
are due to that alone.
"""

from __future__ import annotations

import datetime as dt
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NoReturn

import orjson

__all__ = [
    "Ident",
    "Field",
    "Message",
    "TextFormatError",
    "parse",
    "header",
    "looks_like_textproto",
    "to_cyclonedx_json",
    "TextprotoBom",
    "parse_bom",
    "proto_file_version",
    "signature_only",
]


# --- the parsed tree ------------------------------------------------------------------------------------


class Ident(str):
    """An unquoted identifier value: an enum value name, or ``true``/``false`` (decided by the mapping)."""

    __slots__ = ()


@dataclass(slots=True)
class Field:
    name: str  # as written; "[pkg.ext]" for an extension or Any type URL
    value: Any  # str | int | float | Ident | Message | list of those (a ``[...]`` list value)
    line: int
    column: int


@dataclass(slots=True)
class Message:
    fields: list[Field] = field(default_factory=list)
    line: int = 1
    column: int = 1

    def get(self, name: str) -> Any:
        """The last value given for ``name`` (proto semantics for a singular field), or None."""
        found = None
        for f in self.fields:
            if f.name == name:
                found = f.value
        return found

    def names(self) -> list[str]:
        return list(dict.fromkeys(f.name for f in self.fields))


class TextFormatError(ValueError):
    """Bad protobuf text format, with the 1-based line and column where it was found."""

    def __init__(self, message: str, line: int, column: int) -> None:
        self.line = line
        self.column = column
        self.reason = message
        super().__init__(f"line {line}, column {column}: {message}")


# --- tokenizer ------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n\f\v]+|\#[^\n]*)
  | (?P<str>"(?:[^"\\\n]|\\[^\n])*"|'(?:[^'\\\n]|\\[^\n])*')
  | (?P<num>(?:0[xX][0-9a-fA-F]+|(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?[fF]?)(?![A-Za-z0-9_]))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[{}<>\[\]:;,\-/.])
  | (?P<bad>.)
    """,
    re.VERBOSE,
)

_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))")
_CLOSER = {"{": "}", "<": ">"}
_FLOAT_WORDS = {"inf": float("inf"), "infinity": float("inf"), "nan": float("nan")}


class _Parser:
    def __init__(self, text: str, max_depth: int) -> None:
        self.text = text
        self.max_depth = max_depth
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self.tokens: list[tuple[str, str, int]] = []
        append = self.tokens.append
        for m in _TOKEN.finditer(text):
            kind = m.lastgroup
            if kind == "ws":
                continue
            if kind == "bad":
                self.fail(f"unexpected character {m.group()!r}", m.start())
            append((kind, m.group(), m.start()))  # type: ignore[arg-type]
        self.i = 0
        self.end = len(text)

    # -- helpers
    def where(self, pos: int) -> tuple[int, int]:
        line = bisect_right(self.line_starts, pos)
        return line, pos - self.line_starts[line - 1] + 1

    def fail(self, message: str, pos: int | None = None) -> NoReturn:
        if pos is None:
            pos = self.tokens[self.i][2] if self.i < len(self.tokens) else self.end
        line, column = self.where(pos)
        raise TextFormatError(message, line, column)

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def at(self, text: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "punct" and tok[1] == text

    def expect(self, text: str, what: str) -> None:
        if not self.at(text):
            tok = self.peek()
            found = repr(tok[1]) if tok else "the end of the text"
            self.fail(f"expected {what}, found {found}")
        self.i += 1

    # -- grammar
    def message_body(self, closer: str | None, depth: int, start: int) -> Message:
        line, column = self.where(start)
        msg = Message(line=line, column=column)
        while True:
            tok = self.peek()
            if tok is None:
                if closer is not None:
                    self.fail(
                        f"missing {closer!r} to close the message opened at line {line}, column {column}"
                    )
                return msg
            if tok[0] == "punct" and tok[1] == closer:
                self.i += 1
                return msg
            msg.fields.append(self.field(depth))
            if self.at(";") or self.at(","):
                self.i += 1

    def field_name(self) -> tuple[str, int]:
        tok = self.peek()
        if tok is None:
            self.fail("expected a field name, found the end of the text")
        assert tok is not None
        if tok[0] == "ident":
            self.i += 1
            return tok[1], tok[2]
        if tok[0] == "punct" and tok[1] == "[":
            self.i += 1
            parts: list[str] = []
            while True:
                t = self.peek()
                if t is None:
                    self.fail("missing ']' after an extension field name", tok[2])
                assert t is not None
                if t[0] == "punct" and t[1] == "]":
                    self.i += 1
                    break
                if t[0] == "ident" or (t[0] == "punct" and t[1] in "./"):
                    parts.append(t[1])
                    self.i += 1
                else:
                    self.fail(f"unexpected {t[1]!r} in an extension field name")
            if not parts:
                self.fail("empty extension field name '[]'", tok[2])
            return "[" + "".join(parts) + "]", tok[2]
        return self.fail(f"expected a field name, found {tok[1]!r}")

    def field(self, depth: int) -> Field:
        name, pos = self.field_name()
        line, column = self.where(pos)
        colon = self.at(":")
        if colon:
            self.i += 1
        tok = self.peek()
        if tok is not None and tok[0] == "punct" and tok[1] in _CLOSER:
            return Field(name, self.message(depth + 1), line, column)
        if tok is not None and tok[0] == "punct" and tok[1] == "[":
            return Field(name, self.list_value(depth, colon), line, column)
        if not colon:
            found = repr(tok[1]) if tok else "the end of the text"
            self.fail(f"expected ':' or '{{' after field {name!r}, found {found}")
        return Field(name, self.scalar(), line, column)

    def message(self, depth: int) -> Message:
        tok = self.tokens[self.i]
        if depth > self.max_depth:
            self.fail(f"the messages are nested deeper than the limit of {self.max_depth} levels")
        self.i += 1
        return self.message_body(_CLOSER[tok[1]], depth, tok[2])

    def list_value(self, depth: int, colon: bool) -> list[Any]:
        self.i += 1  # "["
        items: list[Any] = []
        if self.at("]"):
            self.i += 1
            return items
        while True:
            tok = self.peek()
            if tok is not None and tok[0] == "punct" and tok[1] in _CLOSER:
                items.append(self.message(depth + 1))
            elif not colon:
                self.fail("a list of scalar values needs ':' after the field name")
            else:
                items.append(self.scalar())
            if self.at(","):
                self.i += 1
                continue
            self.expect("]", "',' or ']' in a list value")
            return items

    def scalar(self) -> Any:
        tok = self.peek()
        if tok is None:
            return self.fail("expected a value, found the end of the text")
        kind, text, pos = tok
        if kind == "str":
            parts = []
            while tok is not None and tok[0] == "str":
                parts.append(self.string(tok[1], tok[2]))
                self.i += 1
                tok = self.peek()
            return "".join(parts)
        negative = False
        if kind == "punct" and text == "-":
            negative = True
            self.i += 1
            tok = self.peek()
            if tok is None or tok[0] not in ("num", "ident"):
                return self.fail("expected a number after '-'")
            kind, text, pos = tok
        if kind == "num":
            self.i += 1
            value = self.number(text, pos)
            return -value if negative else value
        if kind == "ident":
            self.i += 1
            if negative:
                word = _FLOAT_WORDS.get(text.lower())
                if word is None:
                    self.fail(f"expected a number after '-', found {text!r}", pos)
                return -word  # type: ignore[operator]
            if text.lower() in _FLOAT_WORDS:
                return _FLOAT_WORDS[text.lower()]
            return Ident(text)
        return self.fail(f"expected a value, found {text!r}")

    def number(self, text: str, pos: int) -> int | float:
        try:
            if text[:2] in ("0x", "0X"):
                return int(text, 16)
            if any(c in text for c in ".eE") or text[-1] in "fF":
                return float(text.rstrip("fF"))
            if len(text) > 1 and text[0] == "0":
                return int(text, 8)
            return int(text)
        except ValueError:
            return self.fail(f"malformed number {text!r}", pos)

    def string(self, token: str, pos: int) -> str:
        body = token[1:-1]
        if "\\" not in body:
            return body
        out = bytearray()
        last = 0
        units: list[int] = []  # pending \u code units (for surrogate pairs)

        def flush_units() -> None:
            if units:
                raw = b"".join(u.to_bytes(2, "big") for u in units)
                out.extend(raw.decode("utf-16-be", errors="strict").encode("utf-8"))
                units.clear()

        for m in _ESCAPE.finditer(body):
            if m.start() > last:
                flush_units()
                out.extend(body[last : m.start()].encode("utf-8"))
            last = m.end()
            octal, hexa, u4, u8, other = m.groups()
            if u4 is not None:
                units.append(int(u4, 16))
                continue
            try:
                flush_units()
            except UnicodeDecodeError:
                self.fail("a \\u escape is an unpaired UTF-16 surrogate", pos)
            if octal is not None:
                code = int(octal, 8)
                if code > 255:
                    self.fail(f"octal escape \\{octal} is above \\377", pos)
                out.append(code)
            elif hexa is not None:
                out.append(int(hexa, 16))
            elif u8 is not None:
                code = int(u8, 16)
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    self.fail(f"\\U{u8} is not a Unicode code point", pos)
                out.extend(chr(code).encode("utf-8"))
            else:
                simple = _SIMPLE_ESCAPES.get(other)
                if simple is None:
                    self.fail(f"unknown escape '\\{other}' in a string", pos)
                out.extend(simple.encode("utf-8"))  # type: ignore[union-attr]
        try:
            flush_units()
        except UnicodeDecodeError:
            self.fail("a \\u escape is an unpaired UTF-16 surrogate", pos)
        out.extend(body[last:].encode("utf-8"))
        try:
            return out.decode("utf-8")
        except UnicodeDecodeError:
            return self.fail("the string's escaped bytes are not valid UTF-8", pos)


def parse(text: str, *, max_depth: int = 64) -> Message:
    """Parse a protobuf text-format message. Raises :class:`TextFormatError` (with line and column)."""
    parser = _Parser(text, max_depth)
    return parser.message_body(None, 0, 0)


_HEADER = re.compile(r"^[ \t]*#[ \t]*proto-(file|message)[ \t]*:[ \t]*(\S+)", re.MULTILINE)
_BOM_FIELD = re.compile(r"^[ \t]*spec_version[ \t]*:?[ \t]*[\"']", re.MULTILINE)


def header(text: str) -> dict[str, str]:
    """The ``# proto-file:`` / ``# proto-message:`` header comments (``{"file": ..., "message": ...}``)."""
    return {m.group(1): m.group(2) for m in _HEADER.finditer(text[:4096])}


def looks_like_textproto(text: str) -> bool:
    """A CycloneDX ``Bom`` in text format: the ``# proto-message: Bom`` header or a ``spec_version`` field."""
    head = header(text)
    if head.get("message", "").rsplit(".", 1)[-1] == "Bom":
        return True
    return bool(_BOM_FIELD.search(text))


# --- JSON-schema view (which JSON properties exist where, and of what kind) --------------------------------


@cache
def _schema_file(name: str) -> dict[str, Any]:
    from .validate import SCHEMA_DIR

    data: dict[str, Any] = orjson.loads((SCHEMA_DIR / name).read_bytes())
    return data


def _resolve(node: Any, base: str) -> tuple[Any, str]:
    """Follow ``$ref`` (local or into a sibling schema file) once; return (node, file it lives in)."""
    ref = node.get("$ref") if isinstance(node, dict) else None
    if not isinstance(ref, str):
        return node, base
    file_part, _, frag = ref.partition("#")
    if file_part:
        base = file_part.rsplit("/", 1)[-1]
    target: Any = _schema_file(base)
    for part in frag.strip("/").split("/") if frag.strip("/") else ():
        target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
    return target, base


@dataclass(slots=True)
class _Kind:
    """Everything the alternatives of one schema place allow (oneOf/anyOf/allOf/$ref flattened)."""

    types: set[str] = field(default_factory=set)
    props: dict[str, list[tuple[Any, str]]] = field(default_factory=dict)
    items: list[tuple[Any, str]] = field(default_factory=list)
    enum: list[str] = field(default_factory=list)
    datetime: bool = False
    date: bool = False
    unique: bool = False
    objects: list[set[str]] = field(default_factory=list)  # property names of each object alternative
    resolved: dict[tuple[str, str], tuple[str, _Kind]] = field(default_factory=dict)  # memo of property()


_KIND_CACHE: dict[tuple[tuple[int, str], ...], _Kind] = {}


def _kind(schemas: list[tuple[Any, str]]) -> _Kind:
    key = tuple((id(s), b) for s, b in schemas)
    found = _KIND_CACHE.get(key)
    if found is not None:
        return found
    kind = _Kind()
    seen: set[int] = set()

    def visit(node: Any, base: str, depth: int) -> None:
        node, base = _resolve(node, base)
        if not isinstance(node, dict) or id(node) in seen or depth > 40:
            return
        seen.add(id(node))
        if "$ref" in node:
            visit(node, base, depth + 1)
        t = node.get("type")
        if isinstance(t, str):
            kind.types.add(t)
        elif isinstance(t, list):
            kind.types.update(x for x in t if isinstance(x, str))
        props = node.get("properties")
        if isinstance(props, dict):
            kind.types.add("object")
            kind.objects.append(set(props))
            for name, sub in props.items():
                kind.props.setdefault(name, []).append((sub, base))
        if "items" in node:
            kind.types.add("array")
            items = node["items"]
            kind.items.extend((it, base) for it in (items if isinstance(items, list) else [items]))
        if node.get("uniqueItems") is True:
            kind.unique = True
        for value in node.get("enum") or ():
            if isinstance(value, str):
                kind.enum.append(value)
        if isinstance(node.get("const"), str):
            kind.enum.append(node["const"])
        if node.get("format") == "date-time":
            kind.datetime = True
        elif node.get("format") == "date":
            kind.date = True
        for combinator in ("oneOf", "anyOf", "allOf"):
            for alt in node.get(combinator) or ():
                visit(alt, base, depth + 1)
        for key in ("then", "else"):
            if isinstance(node.get(key), dict):
                visit(node[key], base, depth + 1)

    for node, base in schemas:
        visit(node, base, 0)
    if len(_KIND_CACHE) < 20000:
        _KIND_CACHE[key] = kind
    return kind


def _root_schema(spec_version: str) -> list[tuple[Any, str]]:
    name = f"bom-{spec_version}.SNAPSHOT.schema.json"
    return [(_schema_file(name), name)]


# --- mapping to the CycloneDX JSON shape -----------------------------------------------------------------

_TRUE = {"true", "True", "t"}
_FALSE = {"false", "False", "f"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@cache
def _enum_index(values: tuple[str, ...]) -> dict[str, str]:
    index: dict[str, str] = {}
    for value in values:
        index.setdefault(_alnum(value), value)
    return index


def _enum_value(ident: str, values: list[str]) -> str | None:
    """The JSON enum value a proto enum identifier names: ``SCOPE_REQUIRED`` -> ``required``.

    Proto enum values carry their type as a prefix; the JSON value is the longest run of trailing whole
    words whose letters and digits equal (case-insensitively) one of the schema's enum values.
    """
    index = _enum_index(tuple(values))
    words = ident.split("_")
    for start in range(len(words)):
        hit = index.get(_alnum("".join(words[start:])))
        if hit is not None:
            return hit
    for suffix, value in _ENUM_SPELLED_OUT.items():
        if ident.endswith(suffix) and value in values:
            return value
    return None


# JSON enum values that the proto spells out in words (the rest match letter for letter).
_ENUM_SPELLED_OUT = {
    "_KILOWATT_HOURS": "kWh",
    "_TONNES_CO2_EQUIVALENT": "tCO2eq",
}

# Proto field names whose JSON property has another name (used only where the proto name is no property).
_ALIASES: dict[str, tuple[str, ...]] = {
    "value": ("content", "classification"),  # Hash/AttachedText -> "content", DataClassification
    "graphic": ("collection",),  # GraphicsCollection.graphic -> "collection"
    "details": ("expressionDetails",),  # LicenseExpressionDetailed.details
    "dependencies": ("dependsOn",),  # Dependency.dependencies { ref } -> dependsOn: [ref]
    "predefined_state": ("state",),  # CertificateState
    "crypto_ref": ("cryptoRefArray",),  # 1.6 ProtocolProperties
    "ikev2_transform_types_detailed": ("ikev2TransformTypes",),  # 1.7 ProtocolProperties
}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _timestamp(msg: Message) -> str | None:
    """``{seconds, nanos}`` -> RFC 3339 in UTC, or None when it is no valid protobuf Timestamp."""
    names = set(msg.names())
    if not names <= {"seconds", "nanos"}:
        return None
    seconds = msg.get("seconds") or 0
    nanos = msg.get("nanos") or 0
    if type(seconds) is not int or type(nanos) is not int or not 0 <= nanos <= 999_999_999:
        return None
    try:
        moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    except OverflowError:
        return None
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.year < 1 or len(text) != 19:
        return None
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"


@cache
def _candidates(name: str, prefix: str) -> tuple[str, ...]:
    """The JSON property names a proto field name may stand for, most likely first."""
    camel = _camel(name)
    found = (camel, name.replace("_", "-"), name, *_ALIASES.get(_snake(name), ()))
    if prefix:
        found = (prefix + camel[:1].upper() + camel[1:], *found)
    return found


class _Mapper:
    def __init__(self) -> None:
        self.notes: list[tuple[str, str]] = []  # (JSON pointer, what the mapping changed)

    def message(self, msg: Message, kind: _Kind, path: str, prefix: str = "") -> dict[str, Any]:
        grouped: dict[str, list[Any]] = {}
        for f in msg.fields:
            values = f.value if isinstance(f.value, list) else [f.value]
            grouped.setdefault(f.name, []).extend(values)
        out: dict[str, Any] = {}
        for name, values in grouped.items():
            if len(values) == 1 and self.is_oneof_group(name, values[0], kind, prefix):
                # A proto oneof message next to other fields (``licenses { acknowledgement: ..
                # expression_detailed { expression details } }``): its fields belong to this object.
                out.update(self.message(values[0], kind, path, prefix))
                continue
            key, sub = self.property(name, kind, prefix)
            here = f"{path}/{_escape(key)}"
            if "array" in sub.types and not (len(values) == 1 and self.prefers_object(values[0], sub)):
                items = _kind(sub.items)
                if len(values) == 1 and isinstance(values[0], Message):
                    values = self.unwrap_list(values[0], items)
                out[key] = self.array(values, sub, items, here)
            else:
                value = values[-1]
                if value == "" and not isinstance(value, Ident):
                    continue  # proto3: the empty string is the default value, i.e. not given
                out[key] = self.value(value, sub, here)
        return out

    def array(self, values: list[Any], sub: _Kind, items: _Kind, path: str) -> list[Any]:
        mapped = [self.value(v, items, f"{path}/{i}") for i, v in enumerate(values)]
        if sub.unique and len(mapped) > 1 and all(isinstance(v, (str, int, float)) for v in mapped):
            unique = list(dict.fromkeys(mapped))
            if len(unique) < len(mapped):
                # JSON lists these as a set (uniqueItems); a proto repeated field may repeat a value.
                self.notes.append((path, f"{len(mapped) - len(unique)} repeated value(s) listed once"))
                mapped = unique
        return mapped

    @staticmethod
    def candidates(name: str, prefix: str) -> tuple[str, ...]:
        return _candidates(name, prefix)

    @staticmethod
    def property(name: str, kind: _Kind, prefix: str = "") -> tuple[str, _Kind]:
        found = kind.resolved.get((name, prefix))
        if found is None:
            found = (_camel(name), _Kind())
            for candidate in _candidates(name, prefix):
                if candidate in kind.props:
                    found = (candidate, _kind(kind.props[candidate]))
                    break
            kind.resolved[(name, prefix)] = found
        return found

    def known(self, name: str, kind: _Kind, prefix: str = "") -> bool:
        return any(c in kind.props for c in _candidates(name, prefix))

    def is_oneof_group(self, name: str, value: Any, kind: _Kind, prefix: str) -> bool:
        if not isinstance(value, Message) or not value.fields or self.known(name, kind, prefix):
            return False
        return all(self.known(n, kind, prefix) for n in value.names())

    def prefers_object(self, value: Any, sub: _Kind) -> bool:
        """A place that is an array *or* an object (1.5+ ``tools``): the object if the fields fit it."""
        if "object" not in sub.types or not isinstance(value, Message):
            return False
        names = {_camel(n) for n in value.names()}
        return any(names <= alt for alt in sub.objects) and not any(
            names <= alt for alt in _kind(sub.items).objects
        )

    def unwrap_list(self, msg: Message, items: _Kind) -> list[Any]:
        """A proto message that only wraps a list (``relatedCryptographicAssets { assets {..} assets {..} }``)
        stands for the list; anything else is one item."""
        names = msg.names()
        if len(names) == 1 and items.props and not self.known(names[0], items):
            out: list[Any] = []
            for f in msg.fields:
                out.extend(f.value if isinstance(f.value, list) else [f.value])
            return out
        return [msg]

    def value(self, value: Any, kind: _Kind, path: str) -> Any:
        if isinstance(value, Message):
            return self.message_value(value, kind, path)
        if isinstance(value, Ident):
            if "boolean" in kind.types and (value in _TRUE or value in _FALSE):
                return value in _TRUE
            if kind.enum:
                found = _enum_value(value, kind.enum)
                if found is not None:
                    return found
            return str(value)
        if type(value) is int and "boolean" in kind.types and value in (0, 1) and "integer" not in kind.types:
            return bool(value)
        if (
            type(value) is float
            and value.is_integer()
            and "integer" in kind.types
            and "number" not in kind.types
        ):
            return int(value)
        return value

    def message_value(self, value: Message, kind: _Kind, path: str) -> Any:
        if (kind.datetime or kind.date) and "object" not in kind.types:
            stamp = _timestamp(value)
            if stamp is not None:
                return stamp[:10] if kind.date and not kind.datetime else stamp
        fields = value.fields
        scalar_types = kind.types & {"string", "number", "integer", "boolean"}
        if scalar_types and len(fields) == 1 and not isinstance(fields[0].value, (Message, list)):
            # A scalar the proto wraps in a message of one field (``pointers { pointer: "/x" }``,
            # ``environmentVars { value: "x" }``, ``asserter { ref: "org" }``).
            return self.value(fields[0].value, kind, path)
        if "object" not in kind.types and kind.types:
            return self.message(value, _Kind(), path)
        # A proto oneof wrapper (``datasets { dataset {...} }``, ``licenses { expression_detailed {...} }``,
        # ``extensions { commonExtension { name value } }``): one message field the JSON object does not
        # know stands for its content; its fields may carry the wrapper's name as a prefix in JSON.
        prefix = ""
        while (
            kind.props
            and len(value.fields) == 1
            and isinstance(value.fields[0].value, Message)
            and not self.known(value.fields[0].name, kind)
        ):
            prefix = _camel(value.fields[0].name)
            value = value.fields[0].value
        return self.message(value, kind, path, prefix)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def to_cyclonedx_json(bom: Message, spec_version: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The CycloneDX JSON document (of ``spec_version``'s schema) a parsed text-format ``Bom`` stands for,
    and notes on what the mapping had to change (JSON pointer, text)."""
    mapper = _Mapper()
    root = _kind(_root_schema(spec_version))
    doc = mapper.message(bom, root, "")
    mapped: dict[str, Any] = {"bomFormat": "CycloneDX"}
    mapped.update(doc)
    return mapped, mapper.notes


# --- the entry points the reader uses ---------------------------------------------------------------------

_PROTO_FILE_VERSION = re.compile(r"bom-(\d+\.\d+)\.proto$")


@dataclass(slots=True)
class TextprotoBom:
    """A parsed text-format ``Bom``: the message, its spec version and where the version came from."""

    message: Message
    spec_version: str | None
    version_from_header: bool = False  # no ``spec_version`` field: taken from ``# proto-file: bom-X.Y.proto``
    proto_file: str | None = None


def proto_file_version(proto_file: str | None) -> str | None:
    """``schema/bom-1.6.proto`` -> ``1.6`` (None when the header names no CycloneDX proto file)."""
    match = _PROTO_FILE_VERSION.search(proto_file or "")
    return match.group(1) if match else None


def parse_bom(text: str, *, max_depth: int = 64) -> TextprotoBom:
    """Parse a text-format CycloneDX ``Bom`` and find its spec version (raises :class:`TextFormatError`)."""
    message = parse(text, max_depth=max_depth)
    proto_file = header(text).get("file")
    version = message.get("spec_version")
    if isinstance(version, str) and version:
        return TextprotoBom(message, version, False, proto_file)
    from_header = proto_file_version(proto_file)
    return TextprotoBom(message, from_header, from_header is not None, proto_file)


# JSON Signature Format (JSF) signatures have no protobuf encoding: the CycloneDX .proto files leave them
# out, so a schema rule that asks for a ``signature`` cannot apply to a text-format BOM.
_PLACEHOLDER_SIGNATURE = {"algorithm": "ES256", "value": "AA"}


def _at(doc: Any, pointer: str) -> Any:
    node = doc
    for part in pointer.strip("/").split("/") if pointer.strip("/") else ():
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def signature_only(
    doc: dict[str, Any], pointers: list[str], still_failing: Callable[[Any], set[str]]
) -> set[str]:
    """Which of the failing places (JSON pointers) fail only because they carry no JSF ``signature``.

    Each failing object without a ``signature`` gets a placeholder one in a copy of the document; the
    places that then pass are the ones whose only fault is what protobuf cannot encode.
    """
    candidates = [
        p for p in dict.fromkeys(pointers) if isinstance(_at(doc, p), dict) and "signature" not in _at(doc, p)
    ]
    if not candidates:
        return set()
    trial = orjson.loads(orjson.dumps(doc))
    for p in candidates:
        _at(trial, p)["signature"] = dict(_PLACEHOLDER_SIGNATURE)
    failing = still_failing(trial)
    return {p for p in candidates if p not in failing}
