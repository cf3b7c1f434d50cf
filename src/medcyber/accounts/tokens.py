"""Random secrets, API token strings and CSRF tokens. Pure: no store, no clock.

* Session ids and token secrets come from :mod:`secrets` (256 bits of entropy).
* Only SHA-256 digests of session ids and token secrets are stored: they are high-entropy random values,
  so a fast hash is enough (no salt or key stretching needed) and a database leak yields no usable secret.
* API tokens read ``mcy_<id>_<secret>``: the id locates the row, the secret proves possession.
* A CSRF token is HMAC-SHA256(server key, session id), masked with a fresh random pad on every rendering
  (so that it never repeats in compressed responses); it verifies only for the session it was made for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

TOKEN_PREFIX = "mcy"
_SECRET_BYTES = 32
_CSRF_CONTEXT = b"medcyber-csrf-v1\x00"


def random_secret(nbytes: int = _SECRET_BYTES) -> str:
    """A URL-safe random string carrying ``nbytes`` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)


def new_session_id() -> str:
    return random_secret()


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def digests_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two digests (or any two strings)."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


# --- API tokens ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedToken:
    token_id: int
    secret: str


def format_api_token(token_id: int, secret: str) -> str:
    return f"{TOKEN_PREFIX}_{token_id}_{secret}"


def parse_api_token(raw: str) -> ParsedToken | None:
    """Split ``mcy_<id>_<secret>``; None when the string does not have that shape."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    id_text, secret = parts[1], parts[2]
    if not id_text.isascii() or not id_text.isdigit() or len(id_text) > 18 or not secret:
        return None
    if len(secret) > 200:
        return None
    return ParsedToken(int(id_text), secret)


def new_api_secret() -> tuple[str, str]:
    """A fresh token secret and the SHA-256 digest to store in its place."""
    secret = random_secret()
    return secret, sha256_hex(secret)


# --- CSRF ---------------------------------------------------------------------------------------------


def _csrf_mac(key: bytes, session_id: str) -> bytes:
    if not key:
        raise ValueError("the CSRF key must not be empty")
    return hmac.new(key, _CSRF_CONTEXT + session_id.encode("utf-8"), hashlib.sha256).digest()


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def csrf_token(key: bytes, session_id: str) -> str:
    """A CSRF token for the session ``session_id`` (a different string on every call, all valid)."""
    mac = _csrf_mac(key, session_id)
    pad = secrets.token_bytes(len(mac))
    return base64.urlsafe_b64encode(pad + _xor(pad, mac)).decode("ascii").rstrip("=")


def verify_csrf_token(key: bytes, session_id: str, token: str | None) -> bool:
    """True only when ``token`` was made by :func:`csrf_token` with this key for this session."""
    if not token or not session_id or len(token) > 200:
        return False
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return False
    expected = _csrf_mac(key, session_id)
    if len(blob) != 2 * len(expected):
        return False
    pad, masked = blob[: len(expected)], blob[len(expected) :]
    return hmac.compare_digest(_xor(pad, masked), expected)
