"""Bounded loopback load on the questionnaire: many users of many organisations answering at once.

Set-up (a fresh store each run): ``--users`` organisations (default 50), each with one assessor account
(one real argon2id hash, computed once, shared by every account) and an assessment in progress. The real
app (``web.app.create_app``) is served by uvicorn on 127.0.0.1 (a free port) in a child process.

Each simulated user, with its own ``httpx.AsyncClient`` (its own cookies), signs in through the real form,
opens the questionnaire, and answers every question of the bank (48) one by one through the autosave
endpoint, as the page's htmx does: ``POST /orgs/{org}/assessments/{id}/answers/{question}`` with the
``X-CSRF-Token`` header and the form fields ``choice`` (the level, 0-5) and ``evidence``
(web/pages/maturity.py). At most ``--concurrency`` users run
at once; the whole run has a time budget (``--budget`` seconds) after which unfinished users count as
errors. Every non-2xx answer (other than the sign-in's 303 redirect) is an error and is printed.

Reported: requests, errors (must be 0), p50/p95/max latency of the answer requests and of all requests,
answers per second over the run, and a check that the store holds every answer afterwards.

    .venv/bin/python benchmarks/load_questionnaire.py [--users 50] [--postgres URL] [--json]

SQLite (WAL, the embedded default) unless ``--postgres URL`` (a private schema, dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_web import Server, ensure_schema, percentile, postgres_url  # noqa: E402

PASSWORD = "Load-test-Passw0rd-2026"
_CSRF = re.compile(r'name="csrf-token" content="([^"]*)"')


@dataclass
class Account:
    email: str
    org_id: int
    assessment_id: int


def setup(url: str, users: int) -> tuple[list[Account], list[str]]:
    """``users`` organisations, one assessor each, an assessment in progress each; the bank's question ids."""
    from medcyber.accounts.passwords import hash_password
    from medcyber.benchmark.models import OrgProfile
    from medcyber.maturity.bank import load_bank
    from medcyber.services import accounts as acc
    from medcyber.services import assessments as assess_svc
    from medcyber.store import Store
    from medcyber.store.models import User

    bank = load_bank()
    store = Store(url)
    store.upgrade()
    digest = hash_password(PASSWORD)  # one real argon2id hash for every account (hashing is the slow part)
    out: list[Account] = []
    with store.session() as s:
        for i in range(users):
            profile = OrgProfile(
                employees_band="250-999", revenue_band="50M-250M", device_classes=("II",), region="Europe"
            )
            org = assess_svc.get_or_create_organisation(s, f"Load organisation {i:02d}", profile)
            user = User(
                email=f"assessor{i:02d}@load.example",
                password_hash=digest,
                must_change_password=False,
                active=True,
            )
            s.add(user)
            acc.add_membership(s, user, org, "assessor")
            started = assess_svc.start_assessment(s, org)
            s.flush()
            out.append(Account(user.email, org.id, started.id))
    store.dispose()
    return out, [q.id for q in bank.questions]


@dataclass
class Tally:
    answer_ms: list[float] = field(default_factory=list)
    all_ms: list[float] = field(default_factory=list)
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    finished_users: int = 0


async def one_user(
    base: str, account: Account, questions: list[str], tally: Tally, gate: asyncio.Semaphore, deadline: float
) -> None:
    import httpx

    async with gate, httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False) as client:

        async def call(
            method: str, path: str, *, ok: tuple[int, ...] = (), **kw: Any
        ) -> httpx.Response | None:
            if time.monotonic() > deadline:
                tally.errors.append(f"{account.email}: time budget exhausted before {method} {path}")
                return None
            t = time.perf_counter()
            try:
                resp = await client.request(method, path, **kw)
            except httpx.HTTPError as exc:
                tally.requests += 1
                tally.errors.append(f"{account.email}: {method} {path}: {exc.__class__.__name__}: {exc}")
                return None
            ms = (time.perf_counter() - t) * 1000
            tally.requests += 1
            tally.all_ms.append(ms)
            if not (200 <= resp.status_code < 300 or resp.status_code in ok):
                tally.errors.append(
                    f"{account.email}: {method} {path}: HTTP {resp.status_code}: {resp.text[:200]!r}"
                )
                return None
            return resp

        page = await call("GET", "/login")
        m = _CSRF.search(page.text) if page is not None else None
        if m is None:
            tally.errors.append(f"{account.email}: no sign-in form")
            return
        signed = await call(
            "POST",
            "/login",
            ok=(303,),
            data={"email": account.email, "password": PASSWORD, "csrf_token": m.group(1), "next": "/"},
        )
        if signed is None or signed.status_code != 303:
            if signed is not None:
                tally.errors.append(f"{account.email}: sign-in answered {signed.status_code}, not 303")
            return
        # open the questionnaire (the page the user lands on; its CSRF token is the session's)
        # open the questionnaire: the assessment's page sends to its first unfinished category
        opened = await call("GET", f"/orgs/{account.org_id}/assessments/{account.assessment_id}", ok=(303,))
        if opened is not None and opened.status_code == 303:
            opened = await call("GET", opened.headers["location"])
        token = _CSRF.search(opened.text) if opened is not None else None
        if token is None:
            tally.errors.append(f"{account.email}: the questionnaire page has no CSRF token")
            return
        headers = {"X-CSRF-Token": token.group(1), "HX-Request": "true"}
        base_path = f"/orgs/{account.org_id}/assessments/{account.assessment_id}/answers"
        for i, qid in enumerate(questions):
            level = (i + account.org_id) % 6
            t = time.perf_counter()
            resp = await call(
                "POST",
                f"{base_path}/{qid}",
                headers=headers,
                data={"choice": str(level), "evidence": f"load test evidence for {qid} (level {level})"},
            )
            if resp is None:
                return
            tally.answer_ms.append((time.perf_counter() - t) * 1000)
        tally.finished_users += 1


async def run_load(
    base: str, accounts: list[Account], questions: list[str], concurrency: int, budget: float
) -> tuple[Tally, float]:
    tally = Tally()
    gate = asyncio.Semaphore(concurrency)
    deadline = time.monotonic() + budget
    t = time.perf_counter()
    await asyncio.gather(*(one_user(base, a, questions, tally, gate, deadline) for a in accounts))
    return tally, time.perf_counter() - t


def stored_answers(url: str, accounts: list[Account]) -> int:
    from sqlalchemy import func, select

    from medcyber.store import Store
    from medcyber.store.models import AnswerRow

    store = Store(url)
    with store.session() as s:
        n = s.scalar(
            select(func.count())
            .select_from(AnswerRow)
            .where(AnswerRow.assessment_id.in_([a.assessment_id for a in accounts]))
        )
    store.dispose()
    return int(n or 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=50, help="organisations, one assessor each")
    ap.add_argument("--concurrency", type=int, default=50, help="users answering at the same time")
    ap.add_argument("--budget", type=float, default=300.0, help="seconds for the whole run")
    ap.add_argument("--postgres", metavar="URL", help="run on PostgreSQL (a private schema, dropped after)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = ap.parse_args()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr if args.json else sys.stdout, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        os.environ["MEDCYBER_HOME"] = str(home)
        schema = f"load_{uuid.uuid4().hex[:10]}"
        if args.postgres:
            ensure_schema(args.postgres, schema)
            url, db = postgres_url(args.postgres, schema), "postgresql"
        else:
            url, db = f"sqlite:///{Path(tmp) / 'load.db'}", "sqlite"
        try:
            t = time.perf_counter()
            accounts, questions = setup(url, args.users)
            took = time.perf_counter() - t
            log(f"[{db}] {len(accounts)} organisations and assessors set up in {took:.1f} s")
            server = Server(url, home)
            try:
                server.wait()
                tally, wall = asyncio.run(
                    run_load(server.base, accounts, questions, args.concurrency, args.budget)
                )
            finally:
                server.stop()
            stored = stored_answers(url, accounts)
        finally:
            if args.postgres:
                ensure_schema(args.postgres, schema, drop=True)

    expected = len(accounts) * len(questions)
    answers = len(tally.answer_ms)
    figures: dict[str, Any] = {
        "db": db,
        "users": len(accounts),
        "concurrency": args.concurrency,
        "questions_per_user": len(questions),
        "requests": tally.requests,
        "errors": len(tally.errors),
        "users_finished": tally.finished_users,
        "answers": answers,
        "answers_stored": stored,
        "answers_expected": expected,
        "wall_s": round(wall, 2),
        "answers_per_s": round(answers / wall, 1) if wall else 0.0,
        "requests_per_s": round(tally.requests / wall, 1) if wall else 0.0,
    }
    for key, values in (("answer", tally.answer_ms), ("all", tally.all_ms)):
        if values:
            figures[f"{key}_p50_ms"] = round(statistics.median(values), 1)
            figures[f"{key}_p95_ms"] = round(percentile(values, 0.95), 1)
            figures[f"{key}_max_ms"] = round(max(values), 1)
    for line in tally.errors[:50]:
        log(f"ERROR {line}")
    if len(tally.errors) > 50:
        log(f"... and {len(tally.errors) - 50} more errors")
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"[{db}] {figures['users']} users x {figures['questions_per_user']} answers, "
            f"{args.concurrency} at once: {figures['requests']} requests, {figures['errors']} errors, "
            f"{figures['users_finished']} users finished in {figures['wall_s']} s"
        )
        if answers:
            print(
                f"  answers: p50 {figures['answer_p50_ms']} ms, p95 {figures['answer_p95_ms']} ms, "
                f"max {figures['answer_max_ms']} ms; {figures['answers_per_s']} answers/s; "
                f"stored {stored} of {expected}"
            )
        print(json.dumps(figures))
    if tally.errors or stored != expected:
        sys.exit(1)


if __name__ == "__main__":
    main()
