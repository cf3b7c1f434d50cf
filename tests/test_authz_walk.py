"""The authorization walk: every route and API endpoint, for every role, anonymous included, across two
organisations. It discovers the routes from the app itself, so a new route is walked without being listed
here; a route whose path parameter the walk cannot fill fails the test until the walk is taught.

For each route the required permission is read from its dependencies (``org_access(action)`` or
``require_platform(action)``), and the expected answer follows from the permission matrix:

* anonymous: 401 on the API, a redirect to sign-in on pages;
* a member whose role allows the action: not refused (reads answer 200);
* a member whose role does not: 403; a non-member (the other tenant, the steward, the site admin): 404;
* the other tenant's own organisation in the path with this tenant's object ids: 404 (no cross-tenant
  read or write through nested ids);
* API tokens act only in their organisation and only within their scopes; they hold no platform role.

Write requests are sent only where they must be refused, so the walk never changes what it walks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from medcyber.accounts import policy, tokens
from medcyber.maturity.bank import load_bank
from medcyber.services import accounts as acc
from medcyber.services.demo import DEMO_COHORT
from medcyber.store.models import AuditEvent, User
from medcyber.web.security import SESSION_COOKIE
from webkit import SECRET, USERS, Portal

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/api/v1/health"),
    ("GET", "/"),
    ("GET", "/favicon.ico"),
}
PUBLIC_PREFIXES = ("/static",)
# Routes that are for any signed-in user (no organisation or platform permission).
ANY_USER = {"/account", "/account/password", "/api/v1/me", "/logout"}


@dataclass(frozen=True)
class Who:
    key: str
    user: str | None = None  # webkit.USERS key
    token_org: str | None = None  # "a" or "b": an API token of that org's admin
    scopes: tuple[str, ...] = ()


PRINCIPALS = [
    Who("anonymous"),
    Who("a_viewer", "a_viewer"),
    Who("a_assessor", "a_assessor"),
    Who("a_admin", "a_admin"),
    Who("b_admin", "b_admin"),
    Who("steward", "steward"),
    Who("site_admin", "site_admin"),
    Who("token_a_read", "a_admin", "a", ("read",)),
    Who("token_a_all", "a_admin", "a", ("read", "sbom:upload", "scan")),
    Who("token_b_all", "b_admin", "b", ("read", "sbom:upload", "scan")),
]


def required_action(route: APIRoute) -> str | None:
    found: list[str] = []

    def walk(dep) -> None:  # type: ignore[no-untyped-def]
        action = getattr(dep.call, "required_action", None)
        if action:
            found.append(action)
        for sub in dep.dependencies:
            walk(sub)

    walk(route.dependant)
    assert len(set(found)) <= 1, f"{route.path} requires several actions {found}: the walk expects one"
    return found[0] if found else None


def needs_user(route: APIRoute) -> bool:
    names: list[str] = []

    def walk(dep) -> None:  # type: ignore[no-untyped-def]
        names.append(getattr(dep.call, "__name__", ""))
        for sub in dep.dependencies:
            walk(sub)

    walk(route.dependant)
    return "require_user" in names


@pytest.fixture(scope="module")
def walk(shared_portal: Portal) -> Iterator[tuple[Portal, TestClient, dict[str, str]]]:
    portal = shared_portal
    raw_tokens: dict[str, str] = {}
    with portal.store.session() as db:
        for who in PRINCIPALS:
            if who.token_org:
                from medcyber.store.models import Organisation

                org = db.get(Organisation, portal.org_a if who.token_org == "a" else portal.org_b)
                user = db.query(User).filter_by(email=USERS[who.user or ""]).one()
                _, raw = acc.create_api_token(db, org, user, f"walk {who.key}", who.scopes)
                raw_tokens[who.key] = raw
    client = TestClient(portal.client().app, base_url="http://testserver")
    yield portal, client, raw_tokens


def _headers(portal: Portal, who: Who, raw_tokens: dict[str, str], *, csrf: bool = True) -> dict[str, str]:
    if who.token_org:
        return {"Authorization": f"Bearer {raw_tokens[who.key]}"}
    if who.user is None:
        return {}
    with portal.store.session() as db:
        user = db.query(User).filter_by(email=USERS[who.user]).one()
        sid = acc.create_session(db, user)
    headers = {"Cookie": f"{SESSION_COOKIE}={sid}"}
    if csrf:
        headers["X-CSRF-Token"] = tokens.csrf_token(SECRET, sid)
    return headers


def _values(portal: Portal, tenant: str) -> dict[str, str]:
    bank = load_bank()
    first_q = bank.questions_in(bank.categories[0].id)[0].id
    ids = portal.ids
    return {
        "org_id": str(portal.org_a if tenant == "a" else portal.org_b),
        "assessment_id": str(ids[f"{tenant}_assessment"]),
        "aid": str(ids[f"{tenant}_assessment"]),
        "product_id": str(ids[f"{tenant}_product"]),
        "version_id": str(ids[f"{tenant}_version"]),
        "sbom_id": str(ids[f"{tenant}_sbom"]),
        "category_id": bank.categories[0].id,
        "category": bank.categories[0].id,
        "question_id": first_q,
        "qid": first_q,
        "name": DEMO_COHORT,
        "cohort": DEMO_COHORT,
        "fmt": "json",
        "format": "json",
        "attachment_id": str(ids[f"{tenant}_attachment"]),  # the evidence file webkit seeds per tenant
        # Ids of rows no seeded tenant owns yet: enough to prove the refusal comes before the lookup.
        "token_id": "1",
        "user_id": "1",
        "member_id": "1",
        "product_name": "Connected device",
        "version": "1.0",
        "path": "app.css",
    }


def _fill(path: str, values: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1).split(":")[0]
        assert name in values, f"the walk cannot fill {{{name}}} in {path}: teach it"
        return values[name]

    return re.sub(r"\{([^}]+)\}", sub, path)


def _routes(client: TestClient) -> list[tuple[str, str, APIRoute]]:
    out = []
    for ctx in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        route = ctx.original_route
        if not isinstance(route, APIRoute) or ctx.path is None:
            continue
        for method in sorted((ctx.methods or set()) - {"HEAD"}):
            out.append((method, ctx.path, route))
            _PATHS[id(route)] = ctx.path
    assert len(out) > 5
    return out


def _role_of(portal: Portal, who: Who, tenant_org: int) -> str | None:
    if who.user is None:
        return None
    key = who.user
    tenant = "a" if tenant_org == portal.org_a else "b"
    if who.token_org and who.token_org != tenant:
        return None
    if key.startswith(tenant + "_"):
        return key.split("_", 1)[1]
    return None


def _expected(portal: Portal, who: Who, route: APIRoute, method: str, org_id: int | None) -> str:
    """'allow', 'login', 'forbidden' or 'hidden' (404)."""
    path = _path_of(route)
    if (method, path) in PUBLIC or path.startswith(PUBLIC_PREFIXES):
        return "public"
    if who.user is None:
        return "login"
    action = required_action(route)
    if action is None:
        assert needs_user(route) or path in ANY_USER, f"{method} {path} has no permission check at all"
        return "allow"
    if action in policy.GLOBAL_ACTIONS:
        if who.token_org:
            return "forbidden"
        roles = (
            {"steward"} if who.user == "steward" else {"site_admin"} if who.user == "site_admin" else set()
        )
        return "allow" if policy.platform_allows(roles, action) else "forbidden"
    assert org_id is not None, f"{path} checks {action} but has no {{org_id}}"
    role = _role_of(portal, who, org_id)
    if role is None:
        return "hidden"
    if who.token_org:
        scoped = any(policy.TOKEN_SCOPES[s] == action for s in who.scopes)
        return "allow" if scoped and policy.role_allows(role, action) else "forbidden"
    return "allow" if policy.role_allows(role, action) else "forbidden"


_PATHS: dict[int, str] = {}


def _path_of(route: APIRoute) -> str:
    return _PATHS[id(route)]


def _check(status: int, expected: str, api: bool, location: str) -> bool:
    if expected == "login":
        return (
            status == 401
            if api
            else status in (303, 401) and (status == 401 or location.startswith("/login"))
        )
    if expected == "forbidden":
        return status == 403
    if expected == "hidden":
        return status == 404
    if expected == "allow":
        return status < 400 or status in (400, 409, 413, 415, 422)
    return True


@pytest.mark.parametrize("who", PRINCIPALS, ids=lambda w: w.key)
def test_every_route_for_every_role(walk, who: Who) -> None:  # type: ignore[no-untyped-def]
    portal, client, raw_tokens = walk
    failures: list[str] = []
    walked = 0
    for method, path, route in _routes(client):
        if path in {"/logout"} and who.user is not None and method == "POST":
            continue  # signing out is allowed to everyone; it is tested on its own
        if not path.startswith(("/orgs", "/api/v1/orgs")) and "{org_id}" not in path:
            tenant_sets = [("a", None)]
        else:
            tenant_sets = [("a", portal.org_a), ("b", portal.org_b)]
        for tenant, org_id in tenant_sets:
            url = _fill(path, _values(portal, tenant))
            expected = _expected(portal, who, route, method, org_id)
            if expected == "public":
                continue
            if method in UNSAFE and expected == "allow":
                continue  # never change what is walked: permitted writes are tested by each feature
            r = client.request(method, url, headers=_headers(portal, who, raw_tokens), follow_redirects=False)
            walked += 1
            api = path.startswith("/api/")
            if not _check(r.status_code, expected, api, r.headers.get("location", "")):
                failures.append(f"{who.key} {method} {url}: {r.status_code}, expected {expected}")
            if r.status_code >= 500:
                failures.append(f"{who.key} {method} {url}: server error {r.status_code}")
    assert walked > 0
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("who", ["b_admin", "token_b_all"])
def test_other_tenant_cannot_reach_this_tenants_objects_through_its_own_org(walk, who: str) -> None:  # type: ignore[no-untyped-def]
    """Org B in the path, org A's assessment/product/version/SBOM ids below it: always 404."""
    portal, client, raw_tokens = walk
    principal = next(p for p in PRINCIPALS if p.key == who)
    values = _values(portal, "a") | {"org_id": str(portal.org_b)}
    nested = ("assessment_id", "aid", "product_id", "version_id", "sbom_id")
    failures = []
    walked = 0
    for method, path, _route in _routes(client):
        if "{org_id}" not in path or not any("{" + n + "}" in path for n in nested):
            continue
        r = client.request(
            method,
            _fill(path, values),
            headers=_headers(portal, principal, raw_tokens),
            follow_redirects=False,
        )
        walked += 1
        if r.status_code not in (403, 404):
            failures.append(f"{who} {method} {path}: {r.status_code}")
    assert not failures, "\n".join(failures)


def test_unsafe_requests_without_csrf_are_refused(walk) -> None:  # type: ignore[no-untyped-def]
    portal, client, raw_tokens = walk
    admin = next(p for p in PRINCIPALS if p.key == "a_admin")
    failures = []
    for method, path, _route in _routes(client):
        if method not in UNSAFE or path == "/login":
            continue
        url = _fill(path, _values(portal, "a"))
        r = client.request(
            method, url, headers=_headers(portal, admin, raw_tokens, csrf=False), follow_redirects=False
        )
        if r.status_code != 403:
            failures.append(f"{method} {url}: {r.status_code}")
    assert not failures, "\n".join(failures)


def test_the_walk_left_no_trace_in_the_other_tenant(walk) -> None:  # type: ignore[no-untyped-def]
    portal, _client, _ = walk
    with portal.store.session() as db:
        foreign = (
            db.query(AuditEvent)
            .filter(AuditEvent.organisation_id == portal.org_a, AuditEvent.actor.like("%beta.example%"))
            .count()
        )
    assert foreign == 0
