"""Organisation administration API: the organisation's audit trail and its API tokens (never their secrets).

Both need an admin of the organisation signed in (``audit:read``, ``tokens:manage``); no token scope
grants them, so a leaked CI token cannot list or read them.
"""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ...services import accounts as acc
from ...services import audit as audit_svc
from ..deps import DbDep, OrgContext, org_access

router = APIRouter(tags=["administration"])

AuditCtx = Annotated[OrgContext, Depends(org_access("audit:read"))]
TokensCtx = Annotated[OrgContext, Depends(org_access("tokens:manage"))]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PerPage = Annotated[int, Query(ge=1, le=500)]


class AuditEventOut(BaseModel):
    seq: int = Field(description="position in the site-wide hash chain")
    occurred_at: dt.datetime = Field(description="UTC")
    actor: str = Field(description="user:<email>, token:<id>:<email>, cli:<login> or system")
    action: str = Field(description="<entity>.create|update|delete, auth.login, ...")
    entity_type: str
    entity_id: str
    organisation_id: int | None
    before: dict[str, Any] | None = Field(description="values before (changed columns of an update)")
    after: dict[str, Any] | None = Field(description="values after")
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    events: list[AuditEventOut] = Field(description="newest first")
    page: int
    per_page: int
    total: int


class TokenOut(BaseModel):
    id: int
    name: str
    scopes: list[str]
    user: str = Field(description="the member the token acts as")
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenList(BaseModel):
    tokens: list[TokenOut]


@router.get("/orgs/{org_id}/audit", response_model=AuditPage)
def org_audit(db: DbDep, ctx: AuditCtx, page: PageNo = 1, per_page: PerPage = 50) -> AuditPage:
    """The organisation's audit events, newest first, with their chain hashes."""
    events, total = audit_svc.events_page(db, organisation_id=ctx.org.id, page=page, per_page=per_page)
    return AuditPage(
        events=[
            AuditEventOut(
                seq=e.seq,
                occurred_at=e.occurred_at,
                actor=e.actor,
                action=e.action,
                entity_type=e.entity_type,
                entity_id=e.entity_id,
                organisation_id=e.organisation_id,
                before=e.before,
                after=e.after,
                prev_hash=e.prev_hash,
                hash=e.hash,
            )
            for e in events
        ],
        page=page,
        per_page=per_page,
        total=total,
    )


@router.get("/orgs/{org_id}/tokens", response_model=TokenList)
def org_tokens(db: DbDep, ctx: TokensCtx) -> TokenList:
    """The organisation's API tokens, revoked ones included (the secrets are never kept)."""
    return TokenList(
        tokens=[
            TokenOut(
                id=t.id,
                name=t.name,
                scopes=list(t.scopes),
                user=t.user.email,
                created_at=t.created_at,
                expires_at=t.expires_at,
                last_used_at=t.last_used_at,
                revoked_at=t.revoked_at,
            )
            for t in acc.list_api_tokens(db, ctx.org)
        ]
    )
