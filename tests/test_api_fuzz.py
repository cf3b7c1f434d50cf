"""Schemathesis against the OpenAPI document: generated requests to every API operation (as an org
admin's API token with every scope, with the organisation id pinned to the token's organisation half of
the time so the requests get past the tenancy check) find no server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from medcyber.services import accounts as acc
from medcyber.store.models import Organisation, User
from webkit import USERS, Portal


@pytest.fixture(scope="module")
def api_context(shared_portal: Portal) -> tuple[object, dict[str, str], int]:
    with shared_portal.store.session() as db:
        org = db.get(Organisation, shared_portal.org_a)
        user = db.query(User).filter_by(email=USERS["a_admin"]).one()
        _, raw = acc.create_api_token(db, org, user, "fuzz", ("read", "sbom:upload", "scan"))
    app = shared_portal.client().app
    return app, {"Authorization": f"Bearer {raw}"}, shared_portal.org_a


@pytest.fixture(scope="module")
def api_schema(api_context):  # type: ignore[no-untyped-def]
    app, _, _ = api_context
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


def test_no_server_error(api_schema, api_context) -> None:  # type: ignore[no-untyped-def]
    _, headers, org_id = api_context
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            params = case.path_parameters or {}
            if "org_id" in params and hash(repr(sorted(params.items(), key=str))) % 2 == 0:
                params["org_id"] = org_id
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # noqa: BLE001 (collect every operation's failure)
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:800]}")
    assert operations >= 2
    assert not failures, "\n\n".join(failures)


def test_schema_lists_the_api(api_schema) -> None:  # type: ignore[no-untyped-def]
    paths = set(api_schema.raw_schema["paths"])
    assert "/api/v1/health" in paths and "/api/v1/me" in paths
    assert all(p.startswith("/api/v1/") for p in paths), "pages must stay out of the API document"
