"""Console plumbing: templates, the session dependency, CSRF, and HTML error pages."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape

from gateway.auth import service as auth
from gateway.auth.permissions import Principal
from gateway.console.i18n import Translator
from gateway.db import unit_of_work
from gateway.errors import AppError

SESSION_COOKIE = "amip_session"
LOGIN_CSRF_COOKIE = "amip_login_csrf"
BAD_FORM = "invalid form; reload the page"


class LoginRequired(Exception):
    """No valid session: the console answers with a redirect to the login page."""


@dataclass(frozen=True)
class ConsoleUser:
    principal: Principal
    csrf: str
    token: str


@functools.cache
def templates() -> Environment:
    env = Environment(loader=PackageLoader("gateway.console", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["age"] = _age
    env.filters["when"] = _when
    return env


def _age(seconds: int | None, t: Translator) -> str:
    if seconds is None:
        return "-"
    minutes = max(seconds // 60, 0)
    if minutes < 60:
        return f"{minutes} {t('minutes')}"
    if minutes < 48 * 60:
        return f"{minutes // 60} {t('hours')}"
    return f"{minutes // 1440} {t('days')}"


def _when(iso: str | None) -> str:
    """``2026-12-03T12:58:54.77+00:00`` → ``2026-12-03 12:58 UTC`` (times are stored in UTC)."""
    return f"{iso[:10]} {iso[11:16]} UTC" if iso else "-"


def render(name: str, *, lang: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    t = Translator(lang)
    html = templates().get_template(name).render(t=t, lang=t.lang, dir=t.dir, **context)
    response = HTMLResponse(html, status_code=status_code)
    # Triage pages carry participants' words: never cache them anywhere.
    response.headers["cache-control"] = "no-store"
    response.headers["x-frame-options"] = "DENY"
    response.headers["content-security-policy"] = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; media-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'")
    response.headers["referrer-policy"] = "no-referrer"
    return response


def console_user(request: Request) -> ConsoleUser:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired()
    with unit_of_work() as session:
        found = auth.session_principal(session, token, datetime.now(UTC))
    if found is None:
        raise LoginRequired()
    principal, csrf = found
    return ConsoleUser(principal, csrf, token)


async def console_post(request: Request) -> ConsoleUser:
    """A logged-in user whose form carries the session's CSRF token."""
    user = console_user(request)
    form = await request.form()
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, user.csrf):
        raise AppError(403, BAD_FORM)
    return user


ConsoleDep = Annotated[ConsoleUser, Depends(console_user)]
ConsolePostDep = Annotated[ConsoleUser, Depends(console_post)]


class ConsoleRoute(APIRoute):
    """Console routes answer errors with an HTML page in the user's language, not JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return RedirectResponse("/console/login", status_code=303)
            except AppError as exc:
                lang = _language_of(request)
                t = Translator(lang)
                return render("error.html", lang=lang, status_code=exc.status,
                              message=t(exc.reason, "error"), user=None)

        return wrapped


def _language_of(request: Request) -> str:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with unit_of_work() as session:
            found = auth.session_principal(session, token, datetime.now(UTC))
        if found:
            return found[0].ui_language
    return "en"
