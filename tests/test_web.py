"""The web core over a real store: sign-in, sessions, CSRF, 401 on the API, tenancy, security headers."""

from __future__ import annotations

from medcyber.web.security import PRE_SESSION_COOKIE, SESSION_COOKIE
from webkit import PASSWORD, USERS, Portal, csrf_of, login


def test_health_is_open_and_reports_version_and_store(portal: Portal) -> None:
    c = portal.client()
    body = c.get("/api/v1/health").json()
    assert body["status"] == "ok" and body["store"] == "ok" and body["version"]


def test_api_needs_authentication(portal: Portal) -> None:
    c = portal.client()
    r = c.get("/api/v1/me")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert c.get("/api/v1/me", headers={"Authorization": "Bearer mcy_1_nonsense"}).status_code == 401
    assert c.get("/api/v1/me", headers={"Authorization": "Basic eDp5"}).status_code == 401


def test_pages_redirect_to_sign_in(portal: Portal) -> None:
    c = portal.client()
    r = c.get(f"/orgs/{portal.org_a}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=/orgs/{portal.org_a}"


def test_sign_in_sets_a_hardened_cookie_and_rotates_the_session(portal: Portal) -> None:
    c = portal.client()
    c.cookies.set(SESSION_COOKIE, "attacker-chosen-session-id")  # fixation attempt
    page = c.get("/login")
    token = csrf_of(page.text)
    r = c.post(
        "/login",
        data={"email": USERS["a_admin"], "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    first = cookie.split(";")[0].split("=", 1)[1]
    assert first and first != "attacker-chosen-session-id"
    browser = portal.client()
    browser.cookies.set(SESSION_COOKIE, first)
    assert browser.get("/api/v1/me").status_code == 200
    token = csrf_of(browser.get("/login?next=/").text) or csrf_of(browser.get("/account").text)
    again = portal.client()
    login(again, "a_admin")  # another sign-in elsewhere does not disturb this session
    assert browser.get("/api/v1/me").status_code == 200
    browser.post("/logout", data={"csrf_token": csrf_of(browser.get("/account").text)})
    stale = portal.client()
    stale.cookies.set(SESSION_COOKIE, first)
    assert stale.get("/api/v1/me").status_code == 401  # signed out: the old id is dead
    assert token is not None


def test_secure_cookie_behind_tls(portal: Portal) -> None:
    c = portal.client(base_url="https://testserver")
    token = csrf_of(c.get("/login").text)
    r = c.post(
        "/login",
        data={"email": USERS["a_viewer"], "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert any("Secure" in h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))


def test_sign_in_form_needs_its_csrf_token(portal: Portal) -> None:
    c = portal.client()
    c.get("/login")
    assert c.cookies.get(PRE_SESSION_COOKIE)
    r = c.post("/login", data={"email": USERS["a_admin"], "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403
    assert c.cookies.get(SESSION_COOKIE) is None


def test_wrong_password_is_refused_then_throttled(portal: Portal) -> None:
    c = portal.client()
    statuses = []
    for _ in range(6):
        token = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"email": USERS["a_viewer"], "password": "wrong", "csrf_token": token})
        statuses.append(r.status_code)
    assert statuses[0] == 401 and statuses[-1] == 429
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"email": USERS["a_viewer"], "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0  # even the right password waits


def test_state_changes_need_the_csrf_token(portal: Portal) -> None:
    c = portal.client()
    token = login(c, "a_admin")
    assert c.post("/logout", follow_redirects=False).status_code == 403
    assert c.post("/logout", headers={"X-CSRF-Token": "x" * 40}, follow_redirects=False).status_code == 403
    other = portal.client()
    other_token = login(other, "a_viewer")  # a token from another session does not work here
    assert c.post("/logout", data={"csrf_token": other_token}, follow_redirects=False).status_code == 403
    assert c.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert c.get("/api/v1/me").status_code == 401


def test_no_cross_tenant_read(portal: Portal) -> None:
    c = portal.client()
    login(c, "a_admin")
    assert c.get(f"/orgs/{portal.org_a}").status_code == 200
    assert c.get(f"/orgs/{portal.org_b}").status_code == 404
    assert [o["name"] for o in c.get("/api/v1/me").json()["organisations"]] == ["Alpha Devices"]


def test_open_redirect_after_sign_in_is_refused(portal: Portal) -> None:
    c = portal.client()
    token = csrf_of(c.get("/login").text)
    r = c.post(
        "/login",
        data={
            "email": USERS["a_admin"],
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_security_headers_on_pages_api_and_errors(portal: Portal) -> None:
    c = portal.client()
    for path in ("/login", "/api/v1/health", "/api/v1/me", "/nowhere", "/static/app.css"):
        h = c.get(path).headers
        assert (
            "script-src 'self'" in h["content-security-policy"]
            and "unsafe-inline" not in h["content-security-policy"].split("script-src")[1].split(";")[0]
        )
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff"
        assert h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "same-origin"
    assert "<script>" not in c.get("/login").text


def test_oversized_body_is_refused(portal: Portal) -> None:
    c = portal.client(max_body=1024)
    r = c.post("/login", content=b"x" * 4096, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
