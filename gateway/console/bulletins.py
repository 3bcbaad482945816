"""Console pages for SMS bulletins (issue 5): validate, call one service, render or redirect.

The services are ``gateway.outbound.actions``: they check the role (``comms`` or ``admin``),
refuse approval by the author, and write the audit entry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway import prompts
from gateway.auth.permissions import Perm, require
from gateway.console.i18n import direction
from gateway.console.web import ConsoleDep, ConsolePostDep, ConsoleRoute, render
from gateway.db import unit_of_work
from gateway.errors import AppError
from gateway.geography.reference import load_hubs, load_provinces
from gateway.outbound import actions

router = APIRouter(prefix="/bulletins", route_class=ConsoleRoute, include_in_schema=False)
MAX_TITLE = 200
MAX_TEXT = 1600  # ten concatenated GSM-7 segments; longer is not an SMS bulletin


def languages() -> list[str]:
    """Bulletin languages: those with a prompt table (what a contact can be spoken to in)."""
    return sorted(prompts.load_all())


def text_dir(language: str) -> str:
    """Direction of a bulletin text: Latin-script tags (``fa-Latn``) read left to right."""
    return "ltr" if "-" in language else direction(language)


async def bulletin_form(request: Request) -> list[tuple[str, str]]:
    """The create form's fields, in order (texts per language are dynamic fields)."""
    form = await request.form()  # parsed once (console_post read it for the CSRF token)
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


def _page(name: str, user: ConsoleDep, **more: Any) -> Response:
    return render(name, lang=user.principal.ui_language, user=user.principal, csrf=user.csrf,
                  Perm=Perm, text_dir=text_dir, **more)


@router.get("", response_class=HTMLResponse)
def bulletin_list(user: ConsoleDep, done: str | None = None) -> Response:
    with unit_of_work() as session:
        rows = actions.listing(session, user.principal)
    return _page("bulletins.html", user, rows=rows, done=done,
                 back_url="/console/bulletins")


@router.get("/new", response_class=HTMLResponse)
def new_form(user: ConsoleDep) -> Response:
    # Checked here too: a role without bulletins never sees the form.
    require(user.principal, Perm.BULLETINS)
    return _page("bulletin_new.html", user, languages=languages(), provinces=load_provinces(),
                 hubs=load_hubs(), back_url="/console/bulletins/new")


def _parse_create(fields: list[tuple[str, str]]) -> dict[str, Any]:
    known = languages()
    texts: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    for key, value in fields:
        if key.startswith("text_"):
            lang = key.removeprefix("text_")
            if lang not in known:
                raise AppError(400, "unknown language")
            if len(value) > MAX_TEXT:
                raise AppError(400, "the text is too long for a bulletin")
            if value.strip():
                # Kept byte for byte (no trimming, no Unicode normalisation): only the
                # browser's CRLF line breaks become LF, as an SMS carries them.
                texts[lang] = value.replace("\r\n", "\n")
        else:
            values.setdefault(key, []).append(value)
    title = (values.get("title") or [""])[0]
    if len(title) > MAX_TITLE:
        raise AppError(400, "the title is too long")
    fallback = (values.get("fallback") or [""])[0] or None
    return {"title": title, "texts": texts, "fallback": fallback,
            "provinces": values.get("province", []), "hubs": values.get("hub", []),
            "languages": values.get("language", [])}


@router.post("", response_class=RedirectResponse)
def create(user: ConsolePostDep,
           fields: Annotated[list[tuple[str, str]], Depends(bulletin_form)]) -> Response:
    parsed = _parse_create(fields)
    with unit_of_work() as session:
        bulletin_id = actions.create(session, user.principal, **parsed).id
    return RedirectResponse(f"/console/bulletins/{bulletin_id}?done=created", status_code=303)


@router.get("/{bulletin_id}", response_class=HTMLResponse)
def preview(user: ConsoleDep, bulletin_id: int, done: str | None = None) -> Response:
    with unit_of_work() as session:
        data, bulletin = actions.details(session, user.principal, bulletin_id)
    return _page("bulletin.html", user, p=data, b=bulletin, done=done,
                 back_url=f"/console/bulletins/{bulletin_id}")


@router.get("/{bulletin_id}/status", response_class=HTMLResponse)
def status(user: ConsoleDep, bulletin_id: int) -> Response:
    with unit_of_work() as session:
        data = actions.status(session, user.principal, bulletin_id)
    return _page("bulletin_status.html", user, s=data,
                 back_url=f"/console/bulletins/{bulletin_id}/status")


def _done(bulletin_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(f"/console/bulletins/{bulletin_id}?done={done}", status_code=303)


@router.post("/{bulletin_id}/approve", response_class=RedirectResponse)
def approve(user: ConsolePostDep, bulletin_id: int) -> Response:
    with unit_of_work() as session:
        actions.approve(session, user.principal, bulletin_id)
    return _done(bulletin_id, "approved")


def _when(at: str) -> datetime | None:
    """A ``datetime-local`` value is UTC, as every time the console shows; empty is now."""
    if not at.strip():
        return None
    try:
        when = datetime.fromisoformat(at.strip())
    except ValueError:
        raise AppError(400, "times are YYYY-MM-DDTHH:MM") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@router.post("/{bulletin_id}/send", response_class=RedirectResponse)
def send(user: ConsolePostDep, bulletin_id: int,
         at: Annotated[str, Form(max_length=40)] = "") -> Response:
    when = _when(at)
    with unit_of_work() as session:
        bulletin = actions.send(session, user.principal, bulletin_id, at=when)
        state = bulletin.status
    return _done(bulletin_id, state)


@router.post("/{bulletin_id}/cancel", response_class=RedirectResponse)
def cancel(user: ConsolePostDep, bulletin_id: int) -> Response:
    with unit_of_work() as session:
        actions.cancel(session, user.principal, bulletin_id)
    return _done(bulletin_id, "cancelled")
