"""Accounts: password hashing and policy, random tokens and CSRF (pure); the store side is
``medcyber.services.accounts``."""

from .passwords import (
    PasswordPolicyError,
    check_policy,
    hash_password,
    needs_rehash,
    policy_problems,
    temporary_password,
    verify_password,
)
from .tokens import csrf_token, format_api_token, parse_api_token, verify_csrf_token

__all__ = [
    "PasswordPolicyError",
    "check_policy",
    "csrf_token",
    "format_api_token",
    "hash_password",
    "needs_rehash",
    "parse_api_token",
    "policy_problems",
    "temporary_password",
    "verify_csrf_token",
    "verify_password",
]
