"""The steward, organisation-settings and site-admin pages and their API, over a real store (SQLite and
PostgreSQL), signed in through the real form: cohorts and the cohort report under the disclosure rules,
members, API tokens shown once, the profile, the audit trail (view, verify, export that re-verifies
offline), accounts with one-time passwords, and the tenancy walls around all of it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from medcyber.audit.chain import verify_csv, verify_lines
from medcyber.benchmark.models import MIN_CELL, OrgProfile, Submission
from medcyber.cli.main import app as cli_app
from medcyber.maturity.bank import CATEGORY_IDS
from medcyber.services import audit as audit_svc
from medcyber.services import benchmark as bench_svc
from medcyber.services.demo import DEMO_COHORT
from medcyber.store.models import Assessment, Organisation, User
from webkit import PASSWORD, USERS, Portal, csrf_of, login

COHORT = f"/steward/cohorts/{DEMO_COHORT}"
TOKEN_RE = re.compile(r"mcy_\d+_[A-Za-z0-9_\-]+")


def _client(portal: Portal, who: str):  # type: ignore[no-untyped-def]
    c = portal.client()
    token = login(c, who)
    return c, token


def _temp_password(html: str) -> str:
    m = re.search(r'<input[^>]*id="temp-password"[^>]*>', html)
    assert m, "no temporary password on the page"
    value = re.search(r'value="([^"]+)"', m.group(0))
    assert value
    return value.group(1)


def _user_id(portal: Portal, who: str) -> int:
    with portal.store.session() as db:
        return db.scalars(select(User.id).where(User.email == USERS.get(who, who))).one()


# --- steward ---------------------------------------------------------------------------------------------


def test_steward_sees_cohorts_submitters_stats_and_downloads_the_report(portal: Portal) -> None:
    with portal.store.session() as db:  # Alpha submits, so the steward sees a named submitter
        assessment = db.get(Assessment, portal.ids["a_assessment"])
        assert assessment is not None
        bench_svc.submit_assessment(
            db, assessment, bench_svc.get_cohort(db, DEMO_COHORT), period="2022", consent=True
        )
    c, _ = _client(portal, "steward")
    listing = c.get("/steward")
    assert (
        listing.status_code == 200 and DEMO_COHORT in listing.text and "Synthetic test cohort" in listing.text
    )
    page = c.get(COHORT)
    assert page.status_code == 200
    html = page.text
    assert "Who has submitted" in html and "Alpha Devices" in html and "synthetic-2022-01" in html
    assert "Beta Health" not in html  # it did not submit
    assert "Median" in html and "<svg" in html and "Distribution of composites" in html
    stats = c.get(f"/api/v1/benchmark/cohorts/{DEMO_COHORT}/stats").json()
    assert stats["n"] >= MIN_CELL and not stats["suppressed"]
    suppressed = [s for s in stats["segments"] if s["suppressed"]]
    assert suppressed, "the demo cohort has small segments: the test must see suppression"
    for s in stats["segments"]:  # never a cell below the floor, and no size for a suppressed one
        assert s["n"] is None if s["suppressed"] else s["n"] >= stats["min_cell"]
        if s["suppressed"]:
            assert s["median"] is None and s["q1"] is None
    assert html.count("suppressed — ") == len(suppressed)
    assert stats["composite"]["minimum"] is None or stats["n"] >= 10
    who = c.get(f"/api/v1/benchmark/cohorts/{DEMO_COHORT}/submitters").json()
    alpha = [s for s in who["submissions"] if s["organisation"] == "Alpha Devices"]
    assert len(alpha) == 1 and alpha[0]["period"] == "2022" and alpha[0]["in_force"]
    pdf = c.get(f"{COHORT}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (
        pdf.headers["content-type"] == "application/pdf"
        and "attachment" in pdf.headers["content-disposition"]
    )
    report = c.get(f"{COHORT}/report.html")
    assert report.status_code == 200 and "<svg" in report.text
    assert c.get(f"{COHORT}/report.json").json()["cohort"] == DEMO_COHORT
    assert c.get(f"{COHORT}/report.docx").status_code == 422
    assert c.get("/steward/cohorts/no-such-cohort").status_code == 404


def test_a_small_cohort_shows_no_statistic(portal: Portal) -> None:
    c, token = _client(portal, "steward")
    r = c.post(
        "/steward/cohorts",
        data={"csrf_token": token, "name": "tiny-2026", "title": "Tiny", "min_cell": "5", "retention": "2"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/steward/cohorts/tiny-2026")
    with portal.store.session() as db:
        cohort = bench_svc.get_cohort(db, "tiny-2026")
        profile = OrgProfile(employees_band="50-249", revenue_band="10M-50M")
        for i in range(MIN_CELL - 1):
            sub = Submission(
                submission_id=f"ext-{i}",
                period="2026",
                profile=profile,
                composite=1.0 + i / 10,
                categories={cid: 1.0 + i / 10 for cid in CATEGORY_IDS},
            )
            bench_svc.add_submission(db, cohort, sub, bank_version="test")
    page = c.get("/steward/cohorts/tiny-2026")
    assert page.status_code == 200 and "No statistic is shown" in page.text
    assert "1.30" not in page.text and "Median 95% CI" not in page.text  # no summary table at all
    stats = c.get("/api/v1/benchmark/cohorts/tiny-2026/stats").json()
    assert stats["suppressed"] and stats["composite"] is None and stats["composites"] == []
    assert stats["bins"] == [] and stats["segments"] == []
    pdf = c.get("/steward/cohorts/tiny-2026/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_cohort_form_refuses_a_floor_below_five_and_a_duplicate(portal: Portal) -> None:
    c, token = _client(portal, "steward")
    low = c.post(
        "/steward/cohorts", data={"csrf_token": token, "name": "low", "min_cell": "3", "retention": "3"}
    )
    assert low.status_code == 400 and "between 5 and" in low.text
    dup = c.post("/steward/cohorts", data={"csrf_token": token, "name": DEMO_COHORT, "min_cell": "5"})
    assert dup.status_code == 400 and "exists already" in dup.text
    bad = c.post("/steward/cohorts", data={"csrf_token": token, "name": "a b/c", "min_cell": "5"})
    assert bad.status_code == 400
    with portal.store.session() as db:
        assert [x.name for x in bench_svc.list_cohorts(db)] == [DEMO_COHORT]
        assert bench_svc.get_cohort(db, DEMO_COHORT).synthetic  # the duplicate did not reconfigure it
    # Reconfiguring on the cohort's page keeps what the form does not show (synthetic, description).
    r = c.post(COHORT, data={"csrf_token": token, "title": "Renamed", "min_cell": "6", "retention": "2"})
    assert r.status_code == 200 and "Cohort settings saved" in r.text
    with portal.store.session() as db:
        cohort = bench_svc.get_cohort(db, DEMO_COHORT)
        assert (cohort.title, cohort.min_cell, cohort.retention_periods, cohort.synthetic) == (
            "Renamed",
            6,
            2,
            True,
        )


def test_org_admin_is_refused_steward_pages_but_reads_published_statistics(shared_portal: Portal) -> None:
    c, token = _client(shared_portal, "a_admin")
    for url in (
        "/steward",
        COHORT,
        f"{COHORT}/report.pdf",
        f"/api/v1/benchmark/cohorts/{DEMO_COHORT}/submitters",
    ):
        assert c.get(url).status_code == 403, url
    assert (
        c.post("/steward/cohorts", data={"csrf_token": token, "name": "x", "min_cell": "5"}).status_code
        == 403
    )
    names = c.get("/api/v1/benchmark/cohorts").json()
    assert [x["name"] for x in names["cohorts"]] == [DEMO_COHORT]
    assert c.get(f"/api/v1/benchmark/cohorts/{DEMO_COHORT}/stats").status_code == 200
    assert "/steward" not in c.get(f"/orgs/{shared_portal.org_a}").text  # no Steward link in the nav


def test_steward_sees_no_organisation(shared_portal: Portal) -> None:
    c, _ = _client(shared_portal, "steward")
    a = shared_portal.org_a
    for url in (f"/orgs/{a}", f"/orgs/{a}/settings", f"/orgs/{a}/products", f"/api/v1/orgs/{a}/audit"):
        assert c.get(url).status_code == 404, url
    page = c.get("/steward").text
    assert "Alpha Devices" not in page and f"/orgs/{a}" not in page


# --- organisation settings: members -----------------------------------------------------------------------


def test_org_admin_manages_members(portal: Portal) -> None:
    a = portal.org_a
    c, token = _client(portal, "a_admin")
    page = c.get(f"/orgs/{a}/settings")
    assert page.status_code == 200 and USERS["a_viewer"] in page.text and USERS["b_admin"] not in page.text
    viewer = _user_id(portal, "a_viewer")
    removed = c.post(f"/orgs/{a}/settings/members/{viewer}/remove", data={"csrf_token": token})
    assert removed.status_code == 200 and USERS["a_viewer"] not in removed.text.split("Add a member")[0]
    added = c.post(
        f"/orgs/{a}/settings/members",
        data={"csrf_token": token, "email": "VIEWER@alpha.example ", "role": "assessor"},
    )
    assert added.status_code == 200 and "Member added" in added.text
    again = c.post(
        f"/orgs/{a}/settings/members", data={"csrf_token": token, "email": USERS["a_viewer"], "role": "admin"}
    )
    assert again.status_code == 400 and "already a member" in again.text
    changed = c.post(
        f"/orgs/{a}/settings/members/{viewer}/role", data={"csrf_token": token, "role": "viewer"}
    )
    assert changed.status_code == 200 and "Role changed" in changed.text
    unknown = c.post(
        f"/orgs/{a}/settings/members",
        data={"csrf_token": token, "email": "nobody@alpha.example", "role": "viewer"},
    )
    assert unknown.status_code == 400 and "site administrator" in unknown.text
    bad_role = c.post(
        f"/orgs/{a}/settings/members/{viewer}/role", data={"csrf_token": token, "role": "owner"}
    )
    assert bad_role.status_code == 400
    me = _user_id(portal, "a_admin")
    last = c.post(f"/orgs/{a}/settings/members/{me}/remove", data={"csrf_token": token})
    assert last.status_code == 400 and "only admin" in last.text
    demote = c.post(f"/orgs/{a}/settings/members/{me}/role", data={"csrf_token": token, "role": "viewer"})
    assert demote.status_code == 400 and "only admin" in demote.text
    v, _ = _client(portal, "a_viewer")
    assert v.get(f"/orgs/{a}").status_code == 200  # the membership is back, as viewer
    assert v.get(f"/orgs/{a}/settings").status_code == 403
    # A second admin lets the first one step down.
    c.post(f"/orgs/{a}/settings/members/{viewer}/role", data={"csrf_token": token, "role": "admin"})
    stepped = c.post(
        f"/orgs/{a}/settings/members/{me}/role",
        data={"csrf_token": token, "role": "viewer"},
        follow_redirects=False,
    )
    assert stepped.status_code == 303 and stepped.headers["location"] == f"/orgs/{a}"
    assert c.get(f"/orgs/{a}/settings").status_code == 403


def test_assessor_and_viewer_cannot_open_settings(shared_portal: Portal) -> None:
    a = shared_portal.org_a
    for who in ("a_assessor", "a_viewer"):
        c, token = _client(shared_portal, who)
        for tab in ("", "/tokens", "/profile", "/audit", "/audit/export", "/audit/verify"):
            assert c.get(f"/orgs/{a}/settings{tab}").status_code == 403, (who, tab)
        assert c.get(f"/api/v1/orgs/{a}/audit").status_code == 403
        assert c.get(f"/api/v1/orgs/{a}/tokens").status_code == 403
        r = c.post(f"/orgs/{a}/settings/tokens", data={"csrf_token": token, "name": "x", "scopes": "read"})
        assert r.status_code == 403
        assert "/settings" not in c.get(f"/orgs/{a}").text  # and no Settings link


# --- organisation settings: API tokens -------------------------------------------------------------------


def test_token_is_shown_once_works_and_dies_when_revoked(portal: Portal) -> None:
    a = portal.org_a
    c, token = _client(portal, "a_admin")
    r = c.post(
        f"/orgs/{a}/settings/tokens",
        data={"csrf_token": token, "name": "CI pipeline", "scopes": ["read", "scan"]},
    )
    assert r.status_code == 200 and "no-store" in r.headers["cache-control"]
    raws = set(TOKEN_RE.findall(r.text))
    assert len(raws) == 1
    raw = raws.pop()
    listing = c.get(f"/orgs/{a}/settings/tokens")
    assert (
        "CI pipeline" in listing.text
        and raw not in listing.text
        and raw.rsplit("_", 1)[1] not in listing.text
    )
    api = c.get(f"/api/v1/orgs/{a}/tokens").json()["tokens"]
    assert [(t["name"], t["scopes"], t["user"]) for t in api] == [
        ("CI pipeline", ["read", "scan"], USERS["a_admin"])
    ]
    assert raw not in json.dumps(api)
    bearer = {"Authorization": f"Bearer {raw}"}
    anonymous = portal.client()
    me = anonymous.get("/api/v1/me", headers=bearer)
    assert me.status_code == 200 and me.json()["token"]["scopes"] == ["read", "scan"]
    assert c.get(f"/api/v1/orgs/{a}/tokens").json()["tokens"][0]["last_used_at"] is not None
    # A token cannot manage tokens or read the audit trail, whatever its scopes.
    assert anonymous.get(f"/api/v1/orgs/{a}/tokens", headers=bearer).status_code == 403
    assert anonymous.get(f"/api/v1/orgs/{a}/audit", headers=bearer).status_code == 403
    token_id = api[0]["id"]
    assert raw.startswith(f"mcy_{token_id}_")
    revoked = c.post(f"/orgs/{a}/settings/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 200 and "revoked" in revoked.text
    assert anonymous.get("/api/v1/me", headers=bearer).status_code == 401
    empty = c.post(f"/orgs/{a}/settings/tokens", data={"csrf_token": token, "name": "nothing"})
    assert empty.status_code == 400 and "at least one scope" in empty.text
    assert not TOKEN_RE.search(empty.text)


def test_other_tenant_cannot_reach_settings_or_revoke_tokens(portal: Portal) -> None:
    a, b = portal.org_a, portal.org_b
    admin_a, token_a = _client(portal, "a_admin")
    r = admin_a.post(
        f"/orgs/{a}/settings/tokens", data={"csrf_token": token_a, "name": "A's CI", "scopes": "read"}
    )
    raw = TOKEN_RE.search(r.text).group(0)  # type: ignore[union-attr]
    token_id = int(raw.split("_")[1])
    c, token = _client(portal, "b_admin")
    for tab in ("", "/tokens", "/profile", "/audit", "/audit/export?format=csv", "/audit/verify"):
        assert c.get(f"/orgs/{a}/settings{tab}").status_code == 404, tab
    for url in (f"/api/v1/orgs/{a}/audit", f"/api/v1/orgs/{a}/tokens"):
        assert c.get(url).status_code == 404
    assert (
        c.post(f"/orgs/{a}/settings/tokens/{token_id}/revoke", data={"csrf_token": token}).status_code == 404
    )
    assert (
        c.post(f"/orgs/{b}/settings/tokens/{token_id}/revoke", data={"csrf_token": token}).status_code == 404
    )
    viewer = _user_id(portal, "a_viewer")
    assert (
        c.post(f"/orgs/{b}/settings/members/{viewer}/remove", data={"csrf_token": token}).status_code == 404
    )
    assert (
        c.post(
            f"/orgs/{b}/settings/members/{viewer}/role", data={"csrf_token": token, "role": "admin"}
        ).status_code
        == 404
    )
    assert (
        c.post(
            f"/orgs/{a}/settings/profile", data={"csrf_token": token, "employees": "1-49", "revenue": "<10M"}
        ).status_code
        == 404
    )
    assert portal.client().get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    assert (
        admin_a.get(f"/orgs/{a}/settings").status_code == 200
        and USERS["a_viewer"] in admin_a.get(f"/orgs/{a}/settings").text
    )
    b_tokens = c.get(f"/api/v1/orgs/{b}/tokens").json()["tokens"]
    assert all(t["name"] != "A's CI" for t in b_tokens)
    b_events = c.get(f"/api/v1/orgs/{b}/audit?per_page=500").json()["events"]
    assert b_events and all(e["organisation_id"] == b for e in b_events)


# --- organisation settings: profile -----------------------------------------------------------------------


def test_org_admin_edits_the_banded_profile(portal: Portal) -> None:
    a = portal.org_a
    c, token = _client(portal, "a_admin")
    form = {
        "csrf_token": token,
        "employees": "250-999",
        "revenue": "1B-10B",
        "device_classes": ["III", "I"],
        "region": "Asia-Pacific",
    }
    r = c.post(f"/orgs/{a}/settings/profile", data=form)
    assert r.status_code == 200 and "Profile saved" in r.text
    bad = c.post(f"/orgs/{a}/settings/profile", data={**form, "revenue": "lots"})
    assert bad.status_code == 400 and "revenue band" in bad.text
    with portal.store.session() as db:
        org = db.get(Organisation, a)
        assert org is not None
        assert (org.employees_band, org.revenue_band, org.device_classes, org.region) == (
            "250-999",
            "1B-10B",
            ["I", "III"],
            "Asia-Pacific",
        )


# --- site administration ---------------------------------------------------------------------------------


def test_site_admin_creates_an_account_whose_password_must_be_changed(portal: Portal) -> None:
    a = portal.org_a
    c, token = _client(portal, "site_admin")
    assert c.get("/admin").status_code == 200
    r = c.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "email": "New.Person@Alpha.example",
            "display_name": "New Person",
            "organisation": str(a),
            "role": "assessor",
        },
    )
    assert r.status_code == 200 and "no-store" in r.headers["cache-control"]
    temporary = _temp_password(r.text)
    assert "new.person@alpha.example" in r.text
    assert temporary not in c.get("/admin").text
    dup = c.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "email": "new.person@alpha.example",
            "organisation": str(a),
            "role": "viewer",
        },
    )
    assert dup.status_code == 400 and "already exists" in dup.text
    nothing = c.post("/admin/users", data={"csrf_token": token, "email": "idle@alpha.example"})
    assert nothing.status_code == 400 and "platform role" in nothing.text

    person = portal.client()
    login(person, "new.person@alpha.example", temporary)
    blocked = person.get(f"/orgs/{a}", follow_redirects=False)
    assert blocked.status_code == 303 and blocked.headers["location"] == "/account"
    account = person.get("/account")
    assert "temporary password" in account.text
    changed = person.post(
        "/account/password",
        data={
            "csrf_token": csrf_of(account.text),
            "current": temporary,
            "new": "A-much-better-secret-2026",
            "confirm": "A-much-better-secret-2026",
        },
    )
    assert changed.status_code == 200
    dashboard = person.get(f"/orgs/{a}")
    assert dashboard.status_code == 200
    assert person.get(f"/orgs/{a}/settings").status_code == 403  # assessor


def test_site_admin_resets_a_password_and_the_old_sessions_die(portal: Portal) -> None:
    victim, _ = _client(portal, "a_viewer")
    assert victim.get("/api/v1/me").status_code == 200
    c, token = _client(portal, "site_admin")
    viewer = _user_id(portal, "a_viewer")
    page = c.get(f"/admin/users/{viewer}")
    assert page.status_code == 200 and "Alpha Devices" in page.text
    r = c.post(f"/admin/users/{viewer}/password", data={"csrf_token": token})
    assert r.status_code == 200 and "no-store" in r.headers["cache-control"]
    temporary = _temp_password(r.text)
    assert victim.get("/api/v1/me").status_code == 401
    assert (
        victim.get(f"/orgs/{portal.org_a}", follow_redirects=False).headers["location"].startswith("/login")
    )
    fresh = portal.client()
    page = fresh.get("/login")
    refused = fresh.post(
        "/login", data={"email": USERS["a_viewer"], "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 401
    login(fresh, "a_viewer", temporary)
    assert fresh.get(f"/orgs/{portal.org_a}", follow_redirects=False).headers["location"] == "/account"
    mine = c.post(f"/admin/users/{_user_id(portal, 'site_admin')}/password", data={"csrf_token": token})
    assert mine.status_code == 400  # not your own, here


def test_site_admin_deactivates_and_grants_roles(portal: Portal) -> None:
    c, token = _client(portal, "site_admin")
    victim, _ = _client(portal, "a_assessor")
    assessor = _user_id(portal, "a_assessor")
    r = c.post(f"/admin/users/{assessor}/active", data={"csrf_token": token, "active": "0"})
    assert r.status_code == 200 and "deactivated" in r.text
    assert victim.get("/api/v1/me").status_code == 401
    c.post(f"/admin/users/{assessor}/active", data={"csrf_token": token, "active": "1"})
    c.post(f"/admin/users/{assessor}/roles", data={"csrf_token": token, "steward": "1"})
    again, _ = _client(portal, "a_assessor")
    assert again.get("/steward").status_code == 200
    assert again.get(f"/orgs/{portal.org_a}").status_code == 200
    c.post(
        f"/admin/users/{assessor}/memberships",
        data={"csrf_token": token, "organisation": str(portal.org_b), "role": "viewer"},
    )
    assert again.get(f"/orgs/{portal.org_b}").status_code == 200
    me = _user_id(portal, "site_admin")
    assert c.post(f"/admin/users/{me}/active", data={"csrf_token": token, "active": "0"}).status_code == 400
    assert c.post(f"/admin/users/{me}/roles", data={"csrf_token": token}).status_code == 400
    a_admin = _user_id(portal, "a_admin")
    last = c.post(
        f"/admin/users/{a_admin}/memberships",
        data={"csrf_token": token, "organisation": str(portal.org_a), "role": "remove"},
    )
    assert last.status_code == 400 and "only admin" in last.text
    assert c.get("/admin/users/999999").status_code == 404


def test_org_admin_and_steward_are_refused_site_admin_pages(shared_portal: Portal) -> None:
    for who in ("a_admin", "steward"):
        c, token = _client(shared_portal, who)
        for url in ("/admin", "/admin/users/1", "/admin/audit", "/admin/audit/export", "/admin/audit/verify"):
            assert c.get(url).status_code == 403, (who, url)
        assert (
            c.post(
                "/admin/users", data={"csrf_token": token, "email": "x@y.example", "steward": "1"}
            ).status_code
            == 403
        )


# --- audit trail -----------------------------------------------------------------------------------------


def test_audit_page_lists_the_changes_just_made_with_their_actor(portal: Portal) -> None:
    a = portal.org_a
    c, token = _client(portal, "a_admin")
    viewer = _user_id(portal, "a_viewer")
    c.post(f"/orgs/{a}/settings/members/{viewer}/role", data={"csrf_token": token, "role": "assessor"})
    c.post(f"/orgs/{a}/settings/tokens", data={"csrf_token": token, "name": "audited CI", "scopes": "read"})
    page = c.get(f"/orgs/{a}/settings/audit")
    assert page.status_code == 200
    newest = page.text.split("<tbody>", 1)[1]
    assert newest.index("api_token.create") < newest.index("membership.update")  # newest first
    assert "role: viewer → assessor" in newest and USERS["a_admin"] in newest and "audited CI" in newest
    api = c.get(f"/api/v1/orgs/{a}/audit?per_page=2").json()
    assert api["total"] > 2 and len(api["events"]) == 2
    update = next(
        e for e in c.get(f"/api/v1/orgs/{a}/audit").json()["events"] if e["action"] == "membership.update"
    )
    assert update["actor"] == f"user:{USERS['a_admin']}"
    assert update["before"] == {"role": "viewer"} and update["after"] == {"role": "assessor"}
    verify = c.get(f"/orgs/{a}/settings/audit/verify", headers={"HX-Request": "true"})
    assert verify.status_code == 200 and "Hash chain intact" in verify.text and "<html" not in verify.text
    assert "Hash chain intact" in c.get(f"/orgs/{a}/settings/audit/verify").text
    admin, _ = _client(portal, "site_admin")
    full = admin.get("/admin/audit")
    assert "role: viewer → assessor" in full.text and "Alpha Devices" in full.text


def test_exports_re_verify_offline(portal: Portal, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = portal.org_a
    c, token = _client(portal, "a_admin")
    c.post(f"/orgs/{a}/settings/tokens", data={"csrf_token": token, "name": "exported", "scopes": "read"})
    admin, _ = _client(portal, "site_admin")
    with portal.store.session() as db:
        in_store = audit_svc.verify(db)
    jsonl = admin.get("/admin/audit/export?format=jsonl")
    assert jsonl.status_code == 200 and "attachment" in jsonl.headers["content-disposition"]
    result = verify_lines(jsonl.text.splitlines())
    assert result.ok, result.reason
    assert in_store.ok and result.events == in_store.events and result.last_hash == in_store.last_hash
    csv_export = admin.get("/admin/audit/export?format=csv")
    checked = verify_csv(io.StringIO(csv_export.text, newline=""))
    assert checked.ok and checked.events == result.events
    for name, body in (("trail.jsonl", jsonl.content), ("trail.csv", csv_export.content)):
        path = tmp_path / name
        path.write_bytes(body)
        run = CliRunner().invoke(cli_app, ["audit", "verify", "--file", str(path)])
        assert run.exit_code == 0, run.output
    assert admin.get("/admin/audit/export?format=xml").status_code == 422

    org_export = c.get(f"/orgs/{a}/settings/audit/export?format=jsonl")
    records = [json.loads(line) for line in org_export.text.splitlines()]
    assert records and {r["organisation_id"] for r in records} == {a}
    assert any(r["action"] == "api_token.create" for r in records)
    b, _ = _client(portal, "b_admin")
    b_records = [
        json.loads(line) for line in b.get(f"/orgs/{portal.org_b}/settings/audit/export").text.splitlines()
    ]
    assert b_records and all(r["organisation_id"] == portal.org_b for r in b_records)


def test_a_tampered_trail_shows_as_broken(portal: Portal) -> None:
    admin, _ = _client(portal, "site_admin")
    with portal.store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
    page = admin.get("/admin/audit/verify")
    assert page.status_code == 200 and "Hash chain BROKEN" in page.text and "at event 2" in page.text
    c, _ = _client(portal, "a_admin")
    assert "Hash chain BROKEN" in c.get(f"/orgs/{portal.org_a}/settings/audit/verify").text
    exported = admin.get("/admin/audit/export").text.splitlines()
    assert verify_lines(exported).first_broken_seq == 2


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_org_export_is_only_that_organisations(shared_portal: Portal, fmt: str) -> None:
    c, _ = _client(shared_portal, "a_admin")
    r = c.get(f"/orgs/{shared_portal.org_a}/settings/audit/export?format={fmt}")
    assert r.status_code == 200
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(r.text, newline="")))
        assert rows and {row["organisation_id"] for row in rows} == {str(shared_portal.org_a)}
    else:
        assert {json.loads(line)["organisation_id"] for line in r.text.splitlines()} == {shared_portal.org_a}
    assert str(dt.date.today().year) in r.headers["content-disposition"]
