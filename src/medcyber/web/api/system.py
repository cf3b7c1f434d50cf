"""System endpoints: health (open) and who am I."""

from typing import Any

from fastapi import APIRouter, Request

from ... import __version__
from ...store import StoreError
from ..deps import UserDep

router = APIRouter(tags=["system"])


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    """Open to all: the version and whether the store answers."""
    try:
        request.app.state.store.check()
        store = "ok"
    except StoreError as exc:
        store = f"error: {exc}"
    return {"status": "ok" if store == "ok" else "degraded", "version": __version__, "store": store}


@router.get("/me")
def me(principal: UserDep) -> dict[str, Any]:
    """The caller: user, organisations and roles; for a token, its organisation and scopes."""
    assert principal.user is not None
    out: dict[str, Any] = {
        "email": principal.email,
        "organisations": [{"id": i, "name": n, "role": r} for i, n, r in principal.organisations()],
        "platform_roles": sorted(principal.platform_roles),
    }
    if principal.token is not None:
        out["token"] = {"id": principal.token.token_id, "scopes": sorted(principal.token.scopes)}
    return out
