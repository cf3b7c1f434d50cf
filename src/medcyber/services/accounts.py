"""Accounts in the store: users, organisation roles, sign-in with throttling, sessions and API tokens.

Every function works in the caller's unit of work (a SQLAlchemy ``Session``) and takes an injectable
``clock`` (naive UTC ``datetime``) so the time-dependent rules can be tested without waiting.

* Accounts are created by an administrator; a new account and a reset one get a one-time temporary
  password and must choose their own at the next sign-in (``User.must_change_password``).
* :func:`authenticate` never raises for wrong credentials: the failed attempt must be committed to count
  towards the throttle, and a raised exception would roll it back. It returns an :class:`AuthResult`;
  call ``result.raise_for_failure()`` once the unit of work is committed.
* Throttle: 5 failures for one account, or 20 from one IP address, within 15 minutes lock sign-in for that
  account (or IP) until 15 minutes after the failure that tripped it. Attempts refused while locked are not
  counted, so a lock does not extend itself. A success clears the account's count (not the IP's).
* Browser sessions: the id is 256 random bits, new at every sign-in (a session id presented before
  sign-in is never kept), stored only as its SHA-256; idle expiry 30 minutes, absolute expiry 12 hours
  from sign-in (rotation keeps the sign-in time).
* API tokens (``mcy_<id>_<secret>``) act for one organisation as the member who owns them, with at most
  that member's current rights there; the secret is shown once and stored as its SHA-256.

The permission matrix is documented in :mod:`medcyber.accounts.policy`; :func:`can` applies it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from ..accounts import passwords, policy, tokens
from ..store.models import ApiToken, LoginAttempt, Membership, Organisation, User, UserSession
from . import audit_hooks
from .errors import ConflictError, NotFoundError, ServiceError

Clock = Callable[[], dt.datetime]

THROTTLE_WINDOW = dt.timedelta(minutes=15)
ACCOUNT_MAX_FAILURES = 5
IP_MAX_FAILURES = 20
SESSION_IDLE_TIMEOUT = dt.timedelta(minutes=30)
SESSION_ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
ORG_ROLES = policy.ORG_ROLES
TOKEN_SCOPES = tuple(policy.TOKEN_SCOPES)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --- errors -------------------------------------------------------------------------------------------


class AuthenticationError(ServiceError):
    """Sign-in or token refused. The message never says whether the account exists."""


class LoginThrottled(AuthenticationError):
    def __init__(self, message: str, until: dt.datetime):
        self.until = until
        super().__init__(message)


class PermissionDenied(ServiceError):
    pass


class WeakPasswordError(ServiceError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("password refused: " + "; ".join(problems))


# --- users --------------------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    """Lower-cased and stripped; ServiceError unless it looks like ``local@domain``."""
    value = email.strip().lower()
    local, at, domain = value.partition("@")
    if (
        not at
        or not local
        or "." not in domain
        or "@" in domain
        or len(value) > 254
        or any(c.isspace() for c in value)
    ):
        raise ServiceError(f"{email!r} is not an e-mail address")
    return value


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def get_user(session: Session, email: str) -> User:
    user = find_user(session, email)
    if user is None:
        raise NotFoundError(f"no account for {email.strip().lower()!r}")
    return user


def list_users(session: Session) -> list[User]:
    q = select(User).options(selectinload(User.memberships).selectinload(Membership.organisation))
    return list(session.scalars(q.order_by(User.email)))


def _checked_hash(password: str, email: str) -> str:
    problems = passwords.policy_problems(password, email=email)
    if problems:
        raise WeakPasswordError(problems)
    return passwords.hash_password(password)


@dataclass
class NewAccount:
    user: User
    temporary_password: str = field(repr=False)


def create_user(
    session: Session,
    email: str,
    *,
    display_name: str | None = None,
    steward: bool = False,
    site_admin: bool = False,
) -> NewAccount:
    """An account made by an administrator, with a one-time temporary password to hand over."""
    address = normalise_email(email)
    if find_user(session, address) is not None:
        raise ConflictError(f"an account for {address!r} already exists")
    temporary = passwords.temporary_password()
    user = User(
        email=address,
        display_name=(display_name or "").strip() or None,
        password_hash=passwords.hash_password(temporary),
        must_change_password=True,
        is_steward=steward,
        is_site_admin=site_admin,
        active=True,
    )
    session.add(user)
    session.flush()
    return NewAccount(user, temporary)


def set_password(
    session: Session,
    user: User,
    new_password: str,
    *,
    keep_session: str | None = None,
    clock: Clock = utcnow,
) -> None:
    """Set the user's own password (policy-checked); every other session of the user is signed out."""
    user.password_hash = _checked_hash(new_password, user.email)
    user.must_change_password = False
    user.password_changed_at = clock()
    revoke_all_for_user(session, user, except_id=keep_session, clock=clock)


def change_password(
    session: Session,
    user: User,
    current_password: str,
    new_password: str,
    *,
    keep_session: str | None = None,
    clock: Clock = utcnow,
) -> None:
    """:func:`set_password` after checking the current password (the temporary one included)."""
    if not passwords.verify_password(user.password_hash, current_password):
        raise AuthenticationError("the current password is wrong")
    if passwords.verify_password(user.password_hash, new_password):
        raise WeakPasswordError(["it must differ from the current password"])
    set_password(session, user, new_password, keep_session=keep_session, clock=clock)


def admin_reset_password(session: Session, user: User, *, clock: Clock = utcnow) -> str:
    """A new one-time temporary password (returned, to hand over); all the user's sessions end."""
    temporary = passwords.temporary_password()
    user.password_hash = passwords.hash_password(temporary)
    user.must_change_password = True
    user.password_changed_at = clock()
    revoke_all_for_user(session, user, clock=clock)
    return temporary


def set_active(session: Session, user: User, active: bool, *, clock: Clock = utcnow) -> None:
    user.active = active
    if not active:
        revoke_all_for_user(session, user, clock=clock)


def set_platform_roles(user: User, *, steward: bool | None = None, site_admin: bool | None = None) -> None:
    if steward is not None:
        user.is_steward = steward
    if site_admin is not None:
        user.is_site_admin = site_admin


def platform_roles(user: User) -> frozenset[str]:
    roles = set()
    if user.is_steward:
        roles.add("steward")
    if user.is_site_admin:
        roles.add("site_admin")
    return frozenset(roles)


# --- memberships and permissions ----------------------------------------------------------------------


def _check_role(role: str) -> str:
    if role not in policy.ORG_ROLES:
        raise ServiceError(f"role must be one of {', '.join(policy.ORG_ROLES)} (got {role!r})")
    return role


def add_membership(session: Session, user: User, org: Organisation, role: str) -> Membership:
    """Give ``user`` the ``role`` in ``org`` (changing it when the user is already a member)."""
    _check_role(role)
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.organisation_id == org.id)
    )
    if membership is None:
        membership = Membership(user=user, organisation=org, role=role)
        session.add(membership)
    else:
        membership.role = role
    session.flush()
    return membership


def remove_membership(session: Session, user: User, org: Organisation, *, clock: Clock = utcnow) -> None:
    """End the membership and revoke the user's API tokens for that organisation."""
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.organisation_id == org.id)
    )
    if membership is None:
        raise NotFoundError(f"{user.email} is not a member of {org.name}")
    session.delete(membership)
    now = clock()
    for token in session.scalars(
        select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.organisation_id == org.id, ApiToken.revoked_at.is_(None)
        )
    ):
        token.revoked_at = now
    session.flush()


def role_in(user: User, org: Organisation | None) -> str | None:
    if org is None:
        return None
    for m in user.memberships:
        if m.organisation_id == org.id:
            return m.role
    return None


def can(user: User | None, org: Organisation | None, action: str) -> bool:
    """Whether ``user`` may do ``action`` (in ``org`` for organisation actions; ``None`` for platform ones).

    Organisation actions come only from a membership of that very organisation; platform roles add the
    platform actions and nothing inside an organisation. Inactive users may do nothing.
    """
    if action not in policy.ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if user is None or not user.active:
        return False
    if action in policy.GLOBAL_ACTIONS:
        return policy.platform_allows(platform_roles(user), action)
    return policy.role_allows(role_in(user, org), action)


def require(user: User | None, org: Organisation | None, action: str) -> None:
    if not can(user, org, action):
        where = f" in {org.name}" if org is not None and action in policy.ORG_ACTIONS else ""
        raise PermissionDenied(f"not allowed: {action}{where}")


def organisations_of(user: User) -> list[tuple[Organisation, str]]:
    return sorted(((m.organisation, m.role) for m in user.memberships), key=lambda p: p[0].name)


# --- sign-in and throttling ---------------------------------------------------------------------------


@dataclass
class AuthResult:
    """What a sign-in attempt gave. ``user`` is None when refused (``message`` says why)."""

    user: User | None
    message: str = ""
    locked_until: dt.datetime | None = None
    session_id: str | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.user is not None

    def raise_for_failure(self) -> User:
        if self.user is not None:
            return self.user
        if self.locked_until is not None:
            raise LoginThrottled(self.message, self.locked_until)
        raise AuthenticationError(self.message)


def _lock_end(times_desc: Sequence[dt.datetime], limit: int) -> dt.datetime | None:
    return times_desc[limit - 1] + THROTTLE_WINDOW if len(times_desc) >= limit else None


def _account_failures(session: Session, email: str, now: dt.datetime) -> list[dt.datetime]:
    since = now - THROTTLE_WINDOW
    last_ok = session.scalar(
        select(LoginAttempt.at)
        .where(LoginAttempt.email == email, LoginAttempt.success.is_(True), LoginAttempt.at > since)
        .order_by(LoginAttempt.at.desc())
        .limit(1)
    )
    q = select(LoginAttempt.at).where(
        LoginAttempt.email == email, LoginAttempt.success.is_(False), LoginAttempt.at > (last_ok or since)
    )
    return list(session.scalars(q.order_by(LoginAttempt.at.desc()).limit(ACCOUNT_MAX_FAILURES)))


def _ip_failures(session: Session, ip: str, now: dt.datetime) -> list[dt.datetime]:
    q = select(LoginAttempt.at).where(
        LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at > now - THROTTLE_WINDOW
    )
    return list(session.scalars(q.order_by(LoginAttempt.at.desc()).limit(IP_MAX_FAILURES)))


def _minutes(delta: dt.timedelta) -> int:
    return max(1, -(-int(delta.total_seconds()) // 60))


def throttle_status(
    session: Session, email: str, ip: str | None, *, clock: Clock = utcnow
) -> tuple[dt.datetime, str] | None:
    """``(locked until, message)`` when sign-in is locked for this account or this IP address, else None."""
    now = clock()
    email = email.strip().lower()
    until = _lock_end(_account_failures(session, email, now), ACCOUNT_MAX_FAILURES)
    if until is not None and until > now:
        return until, (
            f"too many failed sign-ins for this account: it is locked for {_minutes(until - now)} more "
            f"minute(s); try again later or ask an administrator to reset the password"
        )
    if ip:
        until = _lock_end(_ip_failures(session, ip, now), IP_MAX_FAILURES)
        if until is not None and until > now:
            return until, (
                f"too many failed sign-ins from this network address: sign-in is locked for "
                f"{_minutes(until - now)} more minute(s)"
            )
    return None


_WRONG = "wrong e-mail address or password"


def authenticate(
    session: Session, email: str, password: str, *, ip: str | None = None, clock: Clock = utcnow
) -> AuthResult:
    """Check a password sign-in, recording the attempt. Does not raise for refused credentials."""
    address = email.strip().lower()[:254]
    ip = ip[:64] if ip else None
    locked = throttle_status(session, address, ip, clock=clock)
    if locked is not None:
        return AuthResult(None, locked[1], locked[0])
    user = find_user(session, address)
    if user is None or not user.active:
        passwords.burn_verification(password)
        ok = False
    else:
        ok = passwords.verify_password(user.password_hash, password)
    now = clock()
    session.add(LoginAttempt(email=address, ip=ip, at=now, success=ok))
    session.flush()
    if not ok or user is None:
        locked = throttle_status(session, address, ip, clock=clock)
        if locked is not None:
            return AuthResult(None, f"{_WRONG}; {locked[1]}", locked[0])
        return AuthResult(None, _WRONG)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = now
    return AuthResult(user)


def login(
    session: Session,
    email: str,
    password: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    previous_session_id: str | None = None,
    clock: Clock = utcnow,
) -> AuthResult:
    """:func:`authenticate`, then a brand-new session (``result.session_id``); a session id the browser
    presented before is revoked, never reused."""
    result = authenticate(session, email, password, ip=ip, clock=clock)
    if result.user is not None:
        if previous_session_id:
            revoke_session(session, previous_session_id, clock=clock)
        result.session_id = create_session(session, result.user, ip=ip, user_agent=user_agent, clock=clock)
        audit_hooks.note(
            session,
            "auth.login",
            "user",
            result.user.id,
            None,
            after={"email": result.user.email, "ip": ip[:64] if ip else None},
            actor=f"user:{result.user.email}",
        )
    return result


# --- sessions -----------------------------------------------------------------------------------------


def create_session(
    session: Session,
    user: User,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    clock: Clock = utcnow,
    _signed_in_at: dt.datetime | None = None,
) -> str:
    """A new session for ``user``; returns the raw id (for the cookie), stores only its hash."""
    raw = tokens.new_session_id()
    now = clock()
    session.add(
        UserSession(
            id_hash=tokens.sha256_hex(raw),
            user_id=user.id,
            created_at=_signed_in_at or now,
            last_seen_at=now,
            ip=ip[:64] if ip else None,
            user_agent=user_agent[:300] if user_agent else None,
        )
    )
    session.flush()
    return raw


def _session_row(session: Session, raw_id: str | None) -> UserSession | None:
    if not raw_id or len(raw_id) > 200:
        return None
    return session.get(UserSession, tokens.sha256_hex(raw_id))


def _live(row: UserSession | None, now: dt.datetime) -> bool:
    return (
        row is not None
        and row.revoked_at is None
        and row.user.active
        and now - row.last_seen_at < SESSION_IDLE_TIMEOUT
        and now - row.created_at < SESSION_ABSOLUTE_TIMEOUT
    )


def get_session(
    session: Session, raw_id: str | None, *, touch: bool = True, clock: Clock = utcnow
) -> UserSession | None:
    """The live session with this id (its ``user`` loaded), or None when unknown, revoked or expired.
    ``touch`` records the activity (restarting the idle timeout)."""
    now = clock()
    row = _session_row(session, raw_id)
    if row is None or not _live(row, now):
        return None
    if touch:
        row.last_seen_at = now
    return row


def rotate_session(session: Session, raw_id: str, *, clock: Clock = utcnow) -> str | None:
    """Replace a live session by one with a new id (same user and sign-in time); the old id stops working.
    None when the session is not live."""
    now = clock()
    row = _session_row(session, raw_id)
    if row is None or not _live(row, now):
        return None
    row.revoked_at = now
    return create_session(
        session, row.user, ip=row.ip, user_agent=row.user_agent, clock=clock, _signed_in_at=row.created_at
    )


def revoke_session(session: Session, raw_id: str, *, clock: Clock = utcnow) -> bool:
    row = _session_row(session, raw_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = clock()
    session.flush()
    audit_hooks.note(
        session,
        "auth.logout",
        "user",
        row.user_id,
        None,
        after={"email": row.user.email, "session_revoked_at": row.revoked_at},
        actor=f"user:{row.user.email}",
    )
    return True


def revoke_all_for_user(
    session: Session, user: User, *, except_id: str | None = None, clock: Clock = utcnow
) -> int:
    """Sign the user out everywhere (but in ``except_id``); returns how many sessions ended."""
    keep = tokens.sha256_hex(except_id) if except_id else None
    now = clock()
    count = 0
    for row in session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    ):
        if row.id_hash != keep:
            row.revoked_at = now
            count += 1
    session.flush()
    return count


def purge_expired(session: Session, *, clock: Clock = utcnow) -> tuple[int, int]:
    """Delete sessions past their absolute expiry and login attempts older than the throttle window;
    returns (sessions, attempts) deleted."""
    now = clock()
    s = session.execute(delete(UserSession).where(UserSession.created_at <= now - SESSION_ABSOLUTE_TIMEOUT))
    a = session.execute(delete(LoginAttempt).where(LoginAttempt.at <= now - THROTTLE_WINDOW))
    return s.rowcount or 0, a.rowcount or 0  # type: ignore[attr-defined]


# --- API tokens ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenPrincipal:
    """Who an API request acts as: the token's member, in the token's organisation, with these scopes."""

    user: User
    organisation: Organisation
    scopes: frozenset[str]
    token_id: int

    def allows(self, action: str) -> bool:
        return any(policy.TOKEN_SCOPES[s] == action for s in self.scopes) and can(
            self.user, self.organisation, action
        )


def _membership_role(session: Session, user: User, org: Organisation) -> str | None:
    return session.scalar(
        select(Membership.role).where(Membership.user_id == user.id, Membership.organisation_id == org.id)
    )


def create_api_token(
    session: Session,
    org: Organisation,
    user: User,
    name: str,
    scopes: Iterable[str] | None = None,
    *,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """A token acting as ``user`` (a member) in ``org``. Returns the row and the raw token, shown once."""
    name = name.strip()
    if not name:
        raise ServiceError("an API token needs a name (what it is for, e.g. 'CI pipeline')")
    wanted = sorted(set(scopes or policy.DEFAULT_TOKEN_SCOPES))
    unknown = [s for s in wanted if s not in policy.TOKEN_SCOPES]
    if unknown:
        raise ServiceError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(policy.TOKEN_SCOPES)}")
    role = _membership_role(session, user, org)
    if role is None:
        raise PermissionDenied(f"{user.email} is not a member of {org.name}: a token acts as a member")
    beyond = [s for s in wanted if s not in policy.scopes_allowed_for_role(role)]
    if beyond:
        raise PermissionDenied(f"a {role} of {org.name} cannot hand out the scope(s) {', '.join(beyond)}")
    secret, digest = tokens.new_api_secret()
    row = ApiToken(
        organisation=org, user=user, name=name, secret_sha256=digest, scopes=wanted, expires_at=expires_at
    )
    session.add(row)
    session.flush()
    return row, tokens.format_api_token(row.id, secret)


_BAD_TOKEN = "invalid, expired or revoked API token"


def authenticate_token(session: Session, raw: str, *, clock: Clock = utcnow) -> TokenPrincipal:
    """The principal a raw ``mcy_<id>_<secret>`` token stands for; AuthenticationError otherwise.

    The token's scopes are cut down to what its member's current role allows, and a token whose member
    left the organisation or was deactivated is refused.
    """
    parsed = tokens.parse_api_token(raw)
    row = session.get(ApiToken, parsed.token_id) if parsed else None
    now = clock()
    if (
        parsed is None
        or row is None
        or not tokens.digests_equal(tokens.sha256_hex(parsed.secret), row.secret_sha256)
        or row.revoked_at is not None
        or (row.expires_at is not None and row.expires_at <= now)
        or not row.user.active
    ):
        raise AuthenticationError(_BAD_TOKEN)
    role = _membership_role(session, row.user, row.organisation)
    if role is None:
        raise AuthenticationError(_BAD_TOKEN)
    allowed = set(policy.scopes_allowed_for_role(role))
    row.last_used_at = now
    scopes = frozenset(s for s in row.scopes if s in allowed)
    return TokenPrincipal(row.user, row.organisation, scopes, row.id)


def list_api_tokens(
    session: Session, org: Organisation | None = None, *, include_revoked: bool = True
) -> list[ApiToken]:
    q = select(ApiToken).options(selectinload(ApiToken.user), selectinload(ApiToken.organisation))
    if org is not None:
        q = q.where(ApiToken.organisation_id == org.id)
    if not include_revoked:
        q = q.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(q.order_by(ApiToken.id)))


def revoke_api_token(
    session: Session, token_id: int, *, org: Organisation | None = None, clock: Clock = utcnow
) -> ApiToken:
    """Revoke a token (limited to ``org``'s tokens when given: an admin of one organisation cannot
    revoke another's). Revoking a revoked token is a no-op."""
    row = session.get(ApiToken, token_id)
    if row is None or (org is not None and row.organisation_id != org.id):
        raise NotFoundError(f"no API token {token_id}" + (f" in {org.name}" if org is not None else ""))
    if row.revoked_at is None:
        row.revoked_at = clock()
    session.flush()
    return row
