"""Jinja2 templates for the pages, with what every page needs (who is signed in, the CSRF token)."""

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from .. import __version__
from ..accounts import tokens
from .security import PRE_SESSION_COOKIE
from .static_assets import htmx_available

TEMPLATES_DIR = Path(__file__).parent / "templates"


def _page_context(request: Request) -> dict[str, Any]:
    principal = getattr(request.state, "principal", None)
    binding = getattr(request.state, "csrf_binding", None)
    if binding is None and principal is not None and principal.session_id:
        binding = principal.session_id
    csrf = tokens.csrf_token(request.app.state.secret_key, binding) if binding else ""
    return {
        "principal": principal,
        "csrf_token": csrf,
        "version": __version__,
        "htmx": htmx_available(),
        "memberships": principal.organisations() if principal is not None and principal.user else [],
    }


templates = Jinja2Templates(directory=str(TEMPLATES_DIR), context_processors=[_page_context])
# Escape everything: the default select_autoescape only covers *.html, and the templates are *.html.j2.
templates.env.autoescape = True
templates.env.globals["PRE_SESSION_COOKIE"] = PRE_SESSION_COOKIE


def _fmt_date(value: Any) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)


def _fmt_score(value: Any) -> str:
    return "—" if value is None else f"{float(value):.2f}"


templates.env.filters["date"] = _fmt_date
templates.env.filters["score"] = _fmt_score


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code)
