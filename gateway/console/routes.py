"""Console pages: the routes validate, call one service, and render or redirect."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.audit import service as audit
from gateway.auth import ratelimit
from gateway.auth import service as auth
from gateway.auth.permissions import Perm
from gateway.console import queries, service
from gateway.console.audio import audio_response
from gateway.console.i18n import LANGUAGES, pick_language
from gateway.console.web import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    ConsoleDep,
    ConsolePostDep,
    ConsoleRoute,
    render,
)
from gateway.db import unit_of_work
from gateway.errors import AppError
from gateway.geography.reference import load_hubs, load_provinces
from gateway.webhooks import SettingsDep

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
SIMPLE_ACTIONS = {"claim": service.claim, "release": service.release, "triage": service.triage,
                  "escalate": service.escalate, "discard": service.discard}


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise AppError(400, "dates are YYYY-MM-DD") from None


def _page_context(user: ConsoleDep) -> dict[str, Any]:
    return {"user": user.principal, "csrf": user.csrf, "provinces": load_provinces(),
            "hubs": load_hubs(), "Perm": Perm}


@router.get("", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/console/queue", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, settings: SettingsDep, lang: str | None = None,
               error: str | None = None) -> Response:
    language = pick_language(request.headers.get("accept-language"), lang)
    token = secrets.token_urlsafe(24)
    response = render("login.html", lang=language, user=None, login_csrf=token,
                      error=error if error in ("bad_credentials", "locked", "rate_limited")
                      else None)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=settings.cookie_secure, path="/console/login")
    return response


@router.post("/login", response_class=RedirectResponse)
def login(request: Request, settings: SettingsDep, name: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=1024)],
          csrf: Annotated[str, Form(max_length=64)]) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, csrf):
        raise AppError(403, "invalid form; reload the page")
    client = request.client.host if request.client else "unknown"
    if not ratelimit.allow(f"login:{client}", limit=settings.login_rate_per_minute):
        return RedirectResponse("/console/login?error=rate_limited", status_code=303)
    now = datetime.now(UTC)
    with unit_of_work() as session:
        result = auth.authenticate(session, name=name.strip(), password=password, now=now,
                                   max_failures=settings.login_max_failures,
                                   lockout=timedelta(seconds=settings.login_lockout_seconds))
        if result.user is None:
            token = None
        else:
            token, _ = auth.start_session(session, result.user, now=now,
                                          ttl=timedelta(hours=settings.session_hours))
            audit.record(session, auth.principal_for(session, result.user, "console"), "login")
    if token is None:
        return RedirectResponse(f"/console/login?error={result.reason}", status_code=303)
    response = RedirectResponse("/console/queue", status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=settings.cookie_secure, path="/",
                        max_age=int(settings.session_hours * 3600))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


@router.post("/logout", response_class=RedirectResponse)
def logout(user: ConsolePostDep) -> Response:
    with unit_of_work() as session:
        auth.end_session(session, user.token)
        audit.record(session, user.principal, "logout")
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language", response_class=RedirectResponse)
def set_language(user: ConsolePostDep, language: Annotated[str, Form()],
                 back: Annotated[str, Form()] = "/console/queue") -> Response:
    if language not in LANGUAGES:
        raise AppError(400, "unknown UI language")
    with unit_of_work() as session:
        auth.set_ui_language(session, user.principal.user_id, language)
    # Only ever back into the console: never an open redirect.
    target = back if back.startswith("/console/") and "//" not in back else "/console/queue"
    return RedirectResponse(target, status_code=303)


@router.get("/queue", response_class=HTMLResponse)
def queue(user: ConsoleDep, settings: SettingsDep, province: str | None = None,
          hub: str | None = None, status: str = "open", language: str | None = None,
          channel: str | None = None, topic: str | None = None, since: str | None = None,
          until: str | None = None, page: Annotated[int, Query(ge=1, le=100_000)] = 1,
          ) -> Response:
    f = queries.QueueFilter(province=province or None, hub=hub or None, status=status,
                            language=language or None, channel=channel or None,
                            topic=topic or None, since=_date(since), until=_date(until),
                            page=page)
    p = user.principal
    with unit_of_work() as session:
        if p.can(Perm.QUEUE):
            result = queries.queue_page(session, p, f, settings.console_page_size)
            by_province = None
        else:  # analysts: numbers only
            result = queries.QueuePage(filter=f, provinces=p.provinces,
                                       counts=queries.status_counts(session, p, f))
            by_province = queries.province_counts(session, p)
    pages = max((result.total + settings.console_page_size - 1) // settings.console_page_size, 1)
    return render("queue.html", lang=p.ui_language, q=result, pages=pages,
                  by_province=by_province, statuses=queries.STATUS_FILTERS,
                  languages=service.LANGUAGES, topics=service.topic_tags(),
                  now=datetime.now(UTC), **_page_context(user))


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(user: ConsoleDep, item_id: int, done: str | None = None) -> Response:
    with unit_of_work() as session:
        detail = queries.item_detail(session, user.principal, item_id)
    return render("item.html", lang=user.principal.ui_language, item=detail,
                  done=done, languages=service.LANGUAGES, topics=service.topic_tags(),
                  **_page_context(user))


@router.get("/items/{item_id}/audio")
def item_audio(user: ConsoleDep, item_id: int) -> Response:
    with unit_of_work() as session:
        return audio_response(session, user.principal, item_id)


def _back(item_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(f"/console/items/{item_id}?done={done}", status_code=303)


@router.post("/items/{item_id}/reroute", response_class=RedirectResponse)
def reroute(user: ConsolePostDep, item_id: int, province: Annotated[str, Form(max_length=4)],
            reason: Annotated[str, Form(max_length=500)]) -> Response:
    with unit_of_work() as session:
        service.reroute(session, user.principal, item_id, province=province, reason=reason)
    # The item may now be outside this user's provinces: go back to the queue.
    if not user.principal.sees(province):
        return RedirectResponse("/console/queue", status_code=303)
    return _back(item_id, "reroute")


@router.post("/items/{item_id}/text", response_class=RedirectResponse)
def edit_text(user: ConsolePostDep, item_id: int,
              text: Annotated[str, Form(max_length=service.MAX_TEXT)]) -> Response:
    with unit_of_work() as session:
        service.edit_text(session, user.principal, item_id, text.replace("\r\n", "\n"))
    return _back(item_id, "text")


@router.post("/items/{item_id}/language", response_class=RedirectResponse)
def correct_language(user: ConsolePostDep, item_id: int,
                     language: Annotated[str, Form(max_length=8)]) -> Response:
    with unit_of_work() as session:
        service.set_language(session, user.principal, item_id, language)
    return _back(item_id, "language")


@router.post("/items/{item_id}/tags", response_class=RedirectResponse)
def set_tags(user: ConsolePostDep, item_id: int,
             tag: Annotated[list[str] | None, Form()] = None) -> Response:
    with unit_of_work() as session:
        service.set_tags(session, user.principal, item_id, tag or [])
    return _back(item_id, "tags")


@router.post("/items/{item_id}/notes", response_class=RedirectResponse)
def add_note(user: ConsolePostDep, item_id: int,
             body: Annotated[str, Form(max_length=service.MAX_TEXT)]) -> Response:
    with unit_of_work() as session:
        service.add_note(session, user.principal, item_id, body)
    return _back(item_id, "note")


@router.post("/items/{item_id}/{action}", response_class=RedirectResponse)
def act(user: ConsolePostDep, item_id: int, action: str) -> Response:
    run = SIMPLE_ACTIONS.get(action)
    if run is None:
        raise AppError(404, "no such action")
    with unit_of_work() as session:
        run(session, user.principal, item_id)
    return _back(item_id, action)


@router.get("/audit", response_class=HTMLResponse)
def audit_log(user: ConsoleDep, item: int | None = None, who: str | None = None,
              action: str | None = None,
              page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    with unit_of_work() as session:
        result = audit.browse(session, user.principal, item_id=item, user_name=who or None,
                              action=action or None, page=page)
    return render("audit.html", lang=user.principal.ui_language, result=result,
                  filters={"item": item or "", "who": who or "", "action": action or ""},
                  **_page_context(user))


from gateway.console.bulletins import router as bulletins_router  # noqa: E402 - issue 5

router.include_router(bulletins_router)
