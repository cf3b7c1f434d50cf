"""Who may do what: the permission matrix (pure). ``medcyber.services.accounts.can`` applies it to users.

Organisation roles (a user's membership of one organisation; they grant nothing in any other one):

================== ======= ======== =====
action             viewer  assessor admin
================== ======= ======== =====
org:read           yes     yes      yes     read the organisation's assessments, results, products, SBOMs,
                                            findings and reports
assessment:answer          yes      yes     start an assessment and answer questions
assessment:import          yes      yes     import answers from a file
sbom:upload                yes      yes     import SBOMs, create products and versions
scan:run                   yes      yes     match the organisation's SBOMs against vulnerabilities
assessment:finish                   yes     mark an assessment complete
benchmark:submit                    yes     submit (consent to share) a score to a cohort
org:settings                        yes     edit the organisation's profile
members:manage                      yes     add, change or remove the organisation's members
tokens:manage                       yes     create, list and revoke the organisation's API tokens
audit:read                          yes     read the organisation's audit trail
================== ======= ======== =====

Platform roles (flags on the user, not tied to an organisation):

* ``steward`` -- ``cohort:read`` and ``cohort:manage``: cohort statistics across organisations,
  cohort set-up and submissions review. A steward reads no organisation's answers, assessments or
  products: for those the steward needs a membership of that organisation like anyone else.
* ``site_admin`` -- ``accounts:manage`` (create accounts, reset passwords, grant memberships and
  platform roles) and ``audit:read_all``. Like the steward, no organisation data without a membership.

API token scopes (a token acts for one organisation, never beyond the creator's role there):
``read`` -> org:read; ``sbom:upload`` -> sbom:upload; ``scan`` -> scan:run.
"""

from __future__ import annotations

ORG_ROLES = ("viewer", "assessor", "admin")
PLATFORM_ROLES = ("steward", "site_admin")

_VIEWER = frozenset({"org:read"})
_ASSESSOR = _VIEWER | {"assessment:answer", "assessment:import", "sbom:upload", "scan:run"}
_ADMIN = _ASSESSOR | {
    "assessment:finish",
    "benchmark:submit",
    "org:settings",
    "members:manage",
    "tokens:manage",
    "audit:read",
}

ROLE_ACTIONS: dict[str, frozenset[str]] = {"viewer": _VIEWER, "assessor": _ASSESSOR, "admin": _ADMIN}
PLATFORM_ACTIONS: dict[str, frozenset[str]] = {
    "steward": frozenset({"cohort:read", "cohort:manage"}),
    "site_admin": frozenset({"accounts:manage", "audit:read_all"}),
}
ORG_ACTIONS = frozenset().union(*ROLE_ACTIONS.values())
GLOBAL_ACTIONS = frozenset().union(*PLATFORM_ACTIONS.values())
ACTIONS = ORG_ACTIONS | GLOBAL_ACTIONS

TOKEN_SCOPES: dict[str, str] = {"read": "org:read", "sbom:upload": "sbom:upload", "scan": "scan:run"}
DEFAULT_TOKEN_SCOPES = ("read",)


def role_allows(role: str | None, action: str) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return role is not None and action in ROLE_ACTIONS.get(role, frozenset())


def platform_allows(platform_roles: set[str] | frozenset[str], action: str) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return any(action in PLATFORM_ACTIONS.get(r, frozenset()) for r in platform_roles)


def scopes_allowed_for_role(role: str) -> tuple[str, ...]:
    """The token scopes a member with ``role`` may hand to a token."""
    return tuple(s for s, action in TOKEN_SCOPES.items() if role_allows(role, action))
