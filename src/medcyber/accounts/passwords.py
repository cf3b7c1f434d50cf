"""Password hashing (argon2id via argon2-cffi) and the password policy. Pure apart from the hash cost.

Policy: at least 12 characters (at most 1024), not the account's e-mail address (nor its local part),
and not one of the common passwords shipped in ``data/common_passwords.txt`` (case-insensitive).
"""

from __future__ import annotations

import functools
import secrets
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024
_TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I

# argon2id with the library's defaults (RFC 9106 "low memory" profile: t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()


class PasswordPolicyError(ValueError):
    """A password the policy refuses; ``problems`` says why (each a sentence)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("password refused: " + "; ".join(problems))


@functools.cache
def common_passwords() -> frozenset[str]:
    text = (resources.files("medcyber.accounts") / "data" / "common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def policy_problems(password: str, *, email: str | None = None) -> list[str]:
    """Everything wrong with ``password`` for the account ``email`` (empty when acceptable)."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"it must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        problems.append(f"it must be at most {MAX_LENGTH} characters long")
    folded = password.strip().lower()
    if email:
        address = email.strip().lower()
        if folded == address or folded == address.split("@", 1)[0]:
            problems.append("it must not be the e-mail address")
    if folded in common_passwords():
        problems.append("it is one of the most common passwords")
    return problems


def check_policy(password: str, *, email: str | None = None) -> None:
    problems = policy_problems(password, email=email)
    if problems:
        raise PasswordPolicyError(problems)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``; False on mismatch or an unreadable hash."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with other parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def burn_verification(password: str) -> None:
    """Spend the time of one verification (for unknown accounts, so timing does not reveal them)."""
    verify_password(_dummy_hash(), password)


def temporary_password(groups: int = 4, size: int = 5) -> str:
    """A random one-time password such as ``k7Qmz-9xTfa-...`` (about 23 bits per group)."""
    return "-".join("".join(secrets.choice(_TEMP_ALPHABET) for _ in range(size)) for _ in range(groups))
