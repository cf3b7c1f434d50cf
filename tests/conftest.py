"""Shared fixtures: a real store on SQLite and, when MEDCYBER_TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from medcyber.config import normalise_url
from medcyber.store import Store

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PG_URL = os.environ.get("MEDCYBER_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = SHARED / "data"
    if not path.is_dir():
        pytest.fail(f"../shared/data is missing at {path}: the tests read the real data there")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: an SQLite file, or a private schema in the test PostgreSQL."""
    yield from fresh_url(request.param, tmp_path)


def fresh_url(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'medcyber.db'}"
        return
    if not PG_URL:
        pytest.skip("MEDCYBER_TEST_DATABASE_URL is not set")
    base = normalise_url(PG_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    s.upgrade()
    try:
        yield s
    finally:
        s.dispose()


@pytest.fixture
def portal(store: Store):  # type: ignore[no-untyped-def]
    """Two organisations with real SBOMs, an assessment each, and a user for every role (tests/webkit.py)."""
    from webkit import seed_portal

    return seed_portal(store)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_portal(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Like ``portal`` but built once per test module (per database): for tests that only read, or that
    write only what no other test in the module looks at."""
    from webkit import seed_portal

    for url in fresh_url(request.param, tmp_path_factory.mktemp("portal")):
        s = Store(url)
        s.upgrade()
        try:
            yield seed_portal(s)
        finally:
            s.dispose()
