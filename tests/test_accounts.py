"""Accounts: passwords, policy, throttling, sessions, API tokens, CSRF and the permission matrix.

The store tests run on SQLite and PostgreSQL (see conftest.py); every step that must survive a refused
sign-in runs in its own committed unit of work, as the web layer will.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text
from typer.testing import CliRunner

from medcyber.accounts import passwords, tokens
from medcyber.accounts.policy import ACTIONS
from medcyber.cli import accounts as accounts_cli
from medcyber.cli import common as cli_common
from medcyber.services import accounts as svc
from medcyber.services.assessments import get_or_create_organisation
from medcyber.services.errors import ConflictError, NotFoundError, ServiceError
from medcyber.store import Store
from medcyber.store.models import ApiToken, User, UserSession

GOOD = "tangerine-orbit-lantern"
KEY = b"k" * 32


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 2, 9, 0, 0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += dt.timedelta(**kw)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _user(
    store: Store,
    email: str,
    *,
    org: str | None = "Acme",
    role: str = "admin",
    steward: bool = False,
    site_admin: bool = False,
) -> None:
    with store.session() as s:
        user = svc.create_user(s, email, steward=steward, site_admin=site_admin).user
        svc.set_password(s, user, GOOD)
        if org:
            svc.add_membership(s, user, get_or_create_organisation(s, org), role)


def _attempt(
    store: Store, email: str, password: str, clock: FakeClock, ip: str = "10.0.0.1"
) -> svc.AuthResult:
    with store.session() as s:
        result = svc.authenticate(s, email, password, ip=ip, clock=clock)
    return result


# --- pure: passwords, policy, tokens --------------------------------------------------------------------


def test_hash_and_verify() -> None:
    h1, h2 = passwords.hash_password(GOOD), passwords.hash_password(GOOD)
    assert h1.startswith("$argon2id$") and GOOD not in h1
    assert h1 != h2  # salted
    assert passwords.verify_password(h1, GOOD) and passwords.verify_password(h2, GOOD)
    assert not passwords.verify_password(h1, GOOD + "x")
    assert not passwords.verify_password("not a hash", GOOD)
    assert not passwords.needs_rehash(h1)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(GOOD)
    assert passwords.verify_password(weak, GOOD) and passwords.needs_rehash(weak)


def test_password_policy() -> None:
    assert len(passwords.common_passwords()) == 100
    assert passwords.policy_problems(GOOD, email="ann@acme.test") == []
    assert passwords.policy_problems("short-pw", email=None) == ["it must be at least 12 characters long"]
    assert "it must not be the e-mail address" in passwords.policy_problems(
        "Ann.Long@Acme.test", email="ann.long@acme.test"
    )
    assert "it must not be the e-mail address" in passwords.policy_problems(
        "annabelle.long", email="annabelle.long@acme.test"
    )
    assert passwords.policy_problems("PassWord1234") == ["it is one of the most common passwords"]
    assert passwords.policy_problems("x" * 1025) == ["it must be at most 1024 characters long"]
    with pytest.raises(passwords.PasswordPolicyError):
        passwords.check_policy("qwerty123456")
    temp = passwords.temporary_password()
    assert passwords.policy_problems(temp) == [] and temp != passwords.temporary_password()


def test_api_token_format() -> None:
    secret, digest = tokens.new_api_secret()
    raw = tokens.format_api_token(42, secret)
    assert raw.startswith("mcy_42_") and digest == tokens.sha256_hex(secret) and secret not in digest
    assert tokens.parse_api_token(raw) == tokens.ParsedToken(42, secret)
    for bad in ("", "mcy_", "mcy_x_abc", "abc_1_def", "mcy_1_", "mcy_-1_abc", "mcy_１_abc"):
        assert tokens.parse_api_token(bad) is None, bad


def test_csrf_token_is_bound_to_session_and_key() -> None:
    sid, other = tokens.new_session_id(), tokens.new_session_id()
    t1, t2 = tokens.csrf_token(KEY, sid), tokens.csrf_token(KEY, sid)
    assert t1 != t2  # masked afresh each time
    assert tokens.verify_csrf_token(KEY, sid, t1) and tokens.verify_csrf_token(KEY, sid, t2)
    assert not tokens.verify_csrf_token(KEY, other, t1)
    assert not tokens.verify_csrf_token(b"another key", sid, t1)
    assert not tokens.verify_csrf_token(KEY, sid, None) and not tokens.verify_csrf_token(KEY, sid, "")
    assert not tokens.verify_csrf_token(KEY, sid, "!!not base64!!")
    flipped = t1[:-2] + ("A" if t1[-2] != "A" else "B") + t1[-1]
    assert not tokens.verify_csrf_token(KEY, sid, flipped)
    assert not tokens.verify_csrf_token(KEY, sid, tokens.csrf_token(KEY, other))


# --- accounts in the store -------------------------------------------------------------------------------


def test_admin_created_account_and_reset(store: Store, clock: FakeClock) -> None:
    with store.session() as s:
        account = svc.create_user(s, "  Ann@Acme.TEST ", display_name="Ann")
        temporary = account.temporary_password
        assert account.user.email == "ann@acme.test" and account.user.must_change_password
        with pytest.raises(ConflictError):
            svc.create_user(s, "ann@acme.test")
        with pytest.raises(ServiceError):
            svc.create_user(s, "not-an-address")
    result = _attempt(store, "ann@acme.test", temporary, clock)
    assert result.ok and result.user is not None and result.user.must_change_password
    with store.session() as s:
        user = svc.get_user(s, "ann@acme.test")
        with pytest.raises(svc.AuthenticationError):
            svc.change_password(s, user, "wrong one", GOOD)
        with pytest.raises(svc.WeakPasswordError):
            svc.change_password(s, user, temporary, "password1234")
        svc.change_password(s, user, temporary, GOOD, clock=clock)
        assert not user.must_change_password
    assert not _attempt(store, "ann@acme.test", temporary, clock).ok
    assert _attempt(store, "ann@acme.test", GOOD, clock).ok
    with store.session() as s:
        sid = svc.create_session(s, svc.get_user(s, "ann@acme.test"), clock=clock)
        new_temp = svc.admin_reset_password(s, svc.get_user(s, "ann@acme.test"), clock=clock)
        assert svc.get_session(s, sid, clock=clock) is None  # reset signs out everywhere
    assert not _attempt(store, "ann@acme.test", GOOD, clock).ok
    result = _attempt(store, "ann@acme.test", new_temp, clock)
    assert result.ok and result.user is not None and result.user.must_change_password
    with store.session() as s:
        hashes = " ".join(s.scalars(select(User.password_hash)))
    assert temporary not in hashes and new_temp not in hashes and GOOD not in hashes


def test_wrong_password_and_unknown_account_read_the_same(store: Store, clock: FakeClock) -> None:
    _user(store, "bob@acme.test")
    wrong = _attempt(store, "bob@acme.test", "not the password", clock)
    unknown = _attempt(store, "nobody@acme.test", "not the password", clock)
    assert not wrong.ok and not unknown.ok and wrong.message == unknown.message
    with pytest.raises(svc.AuthenticationError, match="wrong e-mail address or password"):
        wrong.raise_for_failure()
    with store.session() as s:
        svc.set_active(s, svc.get_user(s, "bob@acme.test"), False)
    assert _attempt(store, "bob@acme.test", GOOD, clock).message == wrong.message


def test_account_throttle_locks_and_unlocks(store: Store, clock: FakeClock) -> None:
    _user(store, "cat@acme.test")
    for _ in range(4):
        assert (
            _attempt(store, "cat@acme.test", "bad guess 123", clock).message
            == "wrong e-mail address or password"
        )
        clock.advance(seconds=30)
    fifth = _attempt(store, "cat@acme.test", "bad guess 123", clock)
    assert fifth.locked_until is not None and "locked" in fifth.message
    # the right password is refused while locked, with a clear message, and the refusal is not counted
    clock.advance(minutes=5)
    locked = _attempt(store, "CAT@acme.test", GOOD, clock)
    assert not locked.ok and "too many failed sign-ins for this account" in locked.message
    with pytest.raises(svc.LoginThrottled) as info:
        locked.raise_for_failure()
    # the lock ends 15 minutes after the 5th-newest failure (the first one here)
    first_failure = clock.now - dt.timedelta(minutes=5, seconds=120)
    assert info.value.until == first_failure + svc.THROTTLE_WINDOW
    clock.now = info.value.until - dt.timedelta(seconds=1)
    assert not _attempt(store, "cat@acme.test", GOOD, clock).ok
    clock.now = info.value.until + dt.timedelta(seconds=1)
    assert _attempt(store, "cat@acme.test", GOOD, clock).ok
    # a success clears the account's count
    for _ in range(4):
        assert _attempt(store, "cat@acme.test", "bad guess 123", clock).locked_until is None
    assert _attempt(store, "cat@acme.test", GOOD, clock).ok
    for _ in range(4):
        assert _attempt(store, "cat@acme.test", "bad guess 123", clock).locked_until is None


def test_ip_throttle(store: Store, clock: FakeClock) -> None:
    _user(store, "dan@acme.test")
    for i in range(svc.IP_MAX_FAILURES):
        r = _attempt(store, f"guess{i}@acme.test", "bad guess 123", clock, ip="203.0.113.9")
        assert r.locked_until is None or i == svc.IP_MAX_FAILURES - 1
    refused = _attempt(store, "dan@acme.test", GOOD, clock, ip="203.0.113.9")
    assert not refused.ok and "from this network address" in refused.message
    assert _attempt(store, "dan@acme.test", GOOD, clock, ip="198.51.100.4").ok
    clock.advance(minutes=15, seconds=1)
    assert _attempt(store, "dan@acme.test", GOOD, clock, ip="203.0.113.9").ok


# --- sessions ---------------------------------------------------------------------------------------------


def _login(store: Store, clock: FakeClock, previous: str | None = None) -> str:
    with store.session() as s:
        result = svc.login(s, "eve@acme.test", GOOD, ip="10.1.1.1", previous_session_id=previous, clock=clock)
        assert result.ok and result.session_id
        return result.session_id


def test_sessions_new_id_each_login_rotation_and_revocation(store: Store, clock: FakeClock) -> None:
    _user(store, "eve@acme.test")
    a = _login(store, clock)
    b = _login(store, clock, previous=a)
    assert a != b
    with store.session() as s:
        assert svc.get_session(s, a, clock=clock) is None  # the id presented before sign-in is not kept
        row = svc.get_session(s, b, clock=clock)
        assert row is not None and row.user.email == "eve@acme.test"
        stored = list(s.scalars(select(UserSession.id_hash)))
        assert b not in stored and tokens.sha256_hex(b) in stored
        c = svc.rotate_session(s, b, clock=clock)
        assert c is not None and c not in (a, b)
        assert svc.get_session(s, b, clock=clock) is None and svc.get_session(s, c, clock=clock) is not None
        assert svc.rotate_session(s, b, clock=clock) is None
        d = svc.create_session(s, svc.get_user(s, "eve@acme.test"), clock=clock)
        assert svc.revoke_session(s, c, clock=clock) and not svc.revoke_session(s, c, clock=clock)
        assert svc.get_session(s, c, clock=clock) is None and svc.get_session(s, d, clock=clock) is not None
        e = svc.create_session(s, svc.get_user(s, "eve@acme.test"), clock=clock)
        assert svc.revoke_all_for_user(s, svc.get_user(s, "eve@acme.test"), except_id=e, clock=clock) == 1
        assert svc.get_session(s, d, clock=clock) is None and svc.get_session(s, e, clock=clock) is not None
        assert svc.get_session(s, "made-up", clock=clock) is None and svc.get_session(s, None) is None


def test_session_expiry(store: Store, clock: FakeClock) -> None:
    _user(store, "eve@acme.test")
    idle = _login(store, clock)
    busy = _login(store, clock)
    signed_in = clock.now
    with store.session() as s:
        # idle: 29 minutes without activity is fine, and activity restarts the idle timeout
        clock.advance(minutes=29)
        assert svc.get_session(s, idle, clock=clock) is not None
        clock.advance(minutes=29)
        assert svc.get_session(s, idle, clock=clock) is not None
        clock.advance(minutes=31)
        assert svc.get_session(s, idle, clock=clock) is None
    # absolute: 12 hours after sign-in even when in use all along, rotation included
    with store.session() as s:
        clock.now = signed_in
        while clock.now + dt.timedelta(minutes=20) < signed_in + svc.SESSION_ABSOLUTE_TIMEOUT:
            clock.advance(minutes=20)
            assert svc.get_session(s, busy, clock=clock) is not None
            busy = svc.rotate_session(s, busy, clock=clock) or ""
        clock.now = signed_in + svc.SESSION_ABSOLUTE_TIMEOUT
        assert svc.get_session(s, busy, clock=clock) is None
        assert svc.purge_expired(s, clock=clock)[0] >= 1


def test_csrf_token_bound_to_a_stored_session(store: Store, clock: FakeClock) -> None:
    _user(store, "eve@acme.test")
    first, second = _login(store, clock), _login(store, clock)
    token = tokens.csrf_token(KEY, first)
    assert tokens.verify_csrf_token(KEY, first, token)
    assert not tokens.verify_csrf_token(KEY, second, token)
    with store.session() as s:
        rotated = svc.rotate_session(s, first, clock=clock)
    assert rotated is not None and not tokens.verify_csrf_token(KEY, rotated, token)


# --- API tokens -------------------------------------------------------------------------------------------


def test_api_tokens(store: Store, clock: FakeClock) -> None:
    _user(store, "ci@acme.test", org="Acme", role="assessor")
    _user(store, "viv@acme.test", org="Acme", role="viewer")
    with store.session() as s:
        acme, other = get_or_create_organisation(s, "Acme"), get_or_create_organisation(s, "Globex")
        ci = svc.get_user(s, "ci@acme.test")
        row, raw = svc.create_api_token(s, acme, ci, "CI pipeline", ["sbom:upload", "scan"])
        token_id = row.id
        secret = tokens.parse_api_token(raw).secret  # type: ignore[union-attr]
        with pytest.raises(svc.PermissionDenied):
            svc.create_api_token(s, other, ci, "elsewhere")  # not a member there
        with pytest.raises(svc.PermissionDenied):
            svc.create_api_token(s, acme, svc.get_user(s, "viv@acme.test"), "x", ["sbom:upload"])
        with pytest.raises(ServiceError):
            svc.create_api_token(s, acme, ci, "x", ["root"])
    # stored hashed: the secret is nowhere in the table
    with store.session() as s:
        dump = " ".join(str(v) for r in s.execute(text("SELECT * FROM api_tokens")) for v in r)
        assert secret not in dump and raw not in dump
        assert s.get(ApiToken, token_id).secret_sha256 == tokens.sha256_hex(secret)  # type: ignore[union-attr]
    with store.session() as s:
        p = svc.authenticate_token(s, raw, clock=clock)
        assert (p.user.email, p.organisation.name, p.scopes) == (
            "ci@acme.test",
            "Acme",
            {"sbom:upload", "scan"},
        )
        assert p.allows("sbom:upload") and p.allows("scan:run") and not p.allows("org:read")
        assert not svc.can(p.user, get_or_create_organisation(s, "Globex"), "sbom:upload")
        # only verifiable with its own secret
        for forged in (f"mcy_{token_id}_{tokens.random_secret()}", raw[:-1], f"mcy_{token_id + 1}_{secret}"):
            with pytest.raises(svc.AuthenticationError):
                svc.authenticate_token(s, forged, clock=clock)
        assert s.get(ApiToken, token_id).last_used_at == clock.now  # type: ignore[union-attr]
        # one organisation: another organisation cannot revoke (or see) it
        with pytest.raises(NotFoundError):
            svc.revoke_api_token(s, token_id, org=get_or_create_organisation(s, "Globex"))
        assert [t.id for t in svc.list_api_tokens(s, get_or_create_organisation(s, "Globex"))] == []
        # a role change cuts the token down to what the member may still do
        svc.add_membership(s, p.user, p.organisation, "viewer")
        assert svc.authenticate_token(s, raw, clock=clock).scopes == frozenset()
        svc.add_membership(s, p.user, p.organisation, "assessor")
    with store.session() as s:
        svc.revoke_api_token(s, token_id, clock=clock)
    with store.session() as s, pytest.raises(svc.AuthenticationError):
        svc.authenticate_token(s, raw, clock=clock)


def test_token_refused_once_member_leaves_or_expires(store: Store, clock: FakeClock) -> None:
    _user(store, "ci@acme.test", org="Acme", role="admin")
    with store.session() as s:
        acme, ci = get_or_create_organisation(s, "Acme"), svc.get_user(s, "ci@acme.test")
        _, expiring = svc.create_api_token(s, acme, ci, "short", expires_at=clock.now + dt.timedelta(days=1))
        _, raw = svc.create_api_token(s, acme, ci, "long")
        assert svc.authenticate_token(s, expiring, clock=clock).scopes == {"read"}
        clock.advance(days=1)
        with pytest.raises(svc.AuthenticationError):
            svc.authenticate_token(s, expiring, clock=clock)
        svc.remove_membership(s, ci, acme, clock=clock)
        with pytest.raises(svc.AuthenticationError):
            svc.authenticate_token(s, raw, clock=clock)
        svc.add_membership(s, ci, acme, "admin")  # rejoining does not bring the revoked token back
        with pytest.raises(svc.AuthenticationError):
            svc.authenticate_token(s, raw, clock=clock)


# --- the permission matrix --------------------------------------------------------------------------------

# Written out independently of accounts/policy.py, from the documented matrix.
READ = {"org:read"}
WORK = {"assessment:answer", "assessment:import", "sbom:upload", "scan:run"}
ADMIN_ONLY = {
    "assessment:finish",
    "benchmark:submit",
    "org:settings",
    "members:manage",
    "tokens:manage",
    "audit:read",
}
EXPECTED = {"viewer": READ, "assessor": READ | WORK, "admin": READ | WORK | ADMIN_ONLY, None: set()}
PLATFORM = {"steward": {"cohort:read", "cohort:manage"}, "site_admin": {"accounts:manage", "audit:read_all"}}


def test_permission_matrix(store: Store) -> None:
    assert READ | WORK | ADMIN_ONLY | PLATFORM["steward"] | PLATFORM["site_admin"] == ACTIONS
    for role in ("viewer", "assessor", "admin"):
        _user(store, f"{role}@acme.test", org="Acme", role=role)
    _user(store, "steward@hub.test", org=None, steward=True)
    _user(store, "root@hub.test", org=None, site_admin=True)
    _user(store, "both@globex.test", org="Globex", role="admin", steward=True, site_admin=True)
    with store.session() as s:
        acme, globex = get_or_create_organisation(s, "Acme"), get_or_create_organisation(s, "Globex")
        for role in ("viewer", "assessor", "admin"):
            user = svc.get_user(s, f"{role}@acme.test")
            for action in sorted(ACTIONS):
                in_org = action in EXPECTED[role]
                assert svc.can(user, acme, action) is in_org, (role, action)
                assert svc.can(user, globex, action) is False, (role, "other org", action)
                if action not in EXPECTED["admin"]:  # platform actions: no platform role, no right
                    assert svc.can(user, None, action) is False
        steward, root = svc.get_user(s, "steward@hub.test"), svc.get_user(s, "root@hub.test")
        for action in sorted(ACTIONS):
            assert svc.can(steward, None, action) is (action in PLATFORM["steward"]), action
            assert svc.can(root, None, action) is (action in PLATFORM["site_admin"]), action
            for org in (acme, globex):  # never any organisation's data
                assert svc.can(steward, org, action) is (action in PLATFORM["steward"])
                assert svc.can(root, org, action) is (action in PLATFORM["site_admin"])
        both = svc.get_user(s, "both@globex.test")
        assert svc.can(both, globex, "org:read") and not svc.can(both, acme, "org:read")
        assert svc.can(both, None, "cohort:read") and svc.can(both, None, "accounts:manage")
        with pytest.raises(svc.PermissionDenied, match="org:read in Acme"):
            svc.require(steward, acme, "org:read")
        with pytest.raises(ValueError):
            svc.can(steward, acme, "org:delete")
        svc.set_active(s, both, False)
        assert not any(svc.can(both, o, a) for o in (globex, None) for a in ACTIONS)
        assert not svc.can(None, acme, "org:read")
        with pytest.raises(ServiceError):
            svc.add_membership(s, steward, acme, "owner")


# --- the command line -------------------------------------------------------------------------------------


@pytest.fixture
def cli(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setattr(cli_common.state, "database_url", store.url)
    with store.session() as s:
        get_or_create_organisation(s, "Acme")
    yield CliRunner()


def test_cli(store: Store, cli: CliRunner, clock: FakeClock) -> None:
    app = accounts_cli.app
    r = cli.invoke(app, ["user", "add", "Fay@Acme.test", "--org", "Acme", "--role", "assessor"])
    assert r.exit_code == 0, r.output
    temporary = r.output.strip().splitlines()[-1]
    assert _attempt(store, "fay@acme.test", temporary, clock).ok
    r = cli.invoke(app, ["user", "add", "fay@acme.test", "--org", "Acme", "--role", "viewer"])
    assert r.exit_code == 1 and "already exists" in r.output
    assert cli.invoke(app, ["user", "add", "g@acme.test", "--org", "Nope", "--role", "viewer"]).exit_code == 1
    assert cli.invoke(app, ["user", "add", "g@acme.test", "--org", "Acme", "--role", "boss"]).exit_code == 1
    assert cli.invoke(app, ["user", "add", "stew@hub.test", "--steward"]).exit_code == 0
    r = cli.invoke(app, ["user", "reset-password", "fay@acme.test"])
    assert r.exit_code == 0, r.output
    new_temp = r.output.strip().splitlines()[-1]
    assert not _attempt(store, "fay@acme.test", temporary, clock).ok
    assert _attempt(store, "fay@acme.test", new_temp, clock).ok
    r = cli.invoke(app, ["user", "list", "--json"])
    assert r.exit_code == 0, r.output
    assert '"steward"' in r.output and '"role": "assessor"' in r.output and new_temp not in r.output
    r = cli.invoke(
        app,
        ["token", "create", "--org", "Acme", "--user", "fay@acme.test", "--name", "CI", "--scope", "scan"],
    )
    assert r.exit_code == 0, r.output
    raw = r.output.strip().splitlines()[-1]
    with store.session() as s:
        assert svc.authenticate_token(s, raw).scopes == {"scan"}
    r = cli.invoke(app, ["token", "list", "--json"])
    assert r.exit_code == 0 and '"CI"' in r.output and raw not in r.output
    token_id = tokens.parse_api_token(raw).token_id  # type: ignore[union-attr]
    assert cli.invoke(app, ["token", "revoke", str(token_id)]).exit_code == 0
    assert cli.invoke(app, ["token", "revoke", "999"]).exit_code == 1
    with store.session() as s, pytest.raises(svc.AuthenticationError):
        svc.authenticate_token(s, raw)
