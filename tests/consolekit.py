"""Helpers for the console and API tests: users, items, logins, tokens."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"  # noqa: S105 - test users only
HERAT, KANDAHAR, KABUL = "AF32", "AF27", "AF01"


def make_user(name: str, role: str, *, provinces: Sequence[str] = (), hub: str | None = None,
              language: str = "en") -> int:
    from gateway.auth.service import add_user
    from gateway.db import unit_of_work

    with unit_of_work() as session:
        return add_user(session, name=name, role=role, password=PASSWORD,
                        provinces=provinces, hub=hub, ui_language=language).id


def make_item(province: str | None, text: str = "salam", *, channel: str = "sms",
              status: str = "queued", sender: str | None = None, language: str = "fa",
              age: timedelta = timedelta(hours=1)) -> int:
    """A routed item as the intake job leaves it."""
    from gateway.contacts.crypto import get_vault
    from gateway.contacts.service import get_or_create_contact
    from gateway.db import unit_of_work
    from gateway.intake.models import Item

    now = datetime.now(UTC)
    with unit_of_work() as session:
        contact = get_or_create_contact(session, vault=get_vault(), region="AF",
                                        raw_number=sender or f"+9370{secrets.randbelow(10**7):07d}")
        item = Item(channel=channel, provider="twilio", external_id="SM" + secrets.token_hex(16),
                    contact_id=contact.id, raw_text=text, normalized_text=text,
                    language=language, language_confidence=0.9, script="Arab",
                    language_method="test", province=province,
                    routing_reason="text_mention" if province else "unrouted",
                    routing_detail=province or "", status=status, meta={},
                    received_at=now - age, processed_at=now - age)
        session.add(item)
        session.flush()
        return item.id


def make_token(name: str) -> str:
    from gateway.auth.service import create_token
    from gateway.db import unit_of_work

    with unit_of_work() as session:
        return create_token(session, name, label="test", now=datetime.now(UTC))


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(http: TestClient, name: str, password: str = PASSWORD) -> Any:
    """Log in through the form like a browser; returns the final response."""
    page = http.get("/console/login")
    return http.post("/console/login", data={"name": name, "password": password,
                                             "csrf": csrf_of(page.text)},
                     follow_redirects=False)


def session_csrf(http: TestClient) -> str:
    return csrf_of(http.get("/console/queue").text)


def audit_rows(action: str | None = None) -> list[Any]:
    from sqlalchemy import select

    from gateway.audit.models import AuditEntry
    from gateway.db import unit_of_work

    with unit_of_work() as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return list(session.execute(query).scalars())


@pytest.fixture()
def web(base_env: dict[str, str]) -> Iterator[TestClient]:
    """A browser-like client over https (session cookies are Secure)."""
    from gateway.app import create_app

    app = create_app(background=False)
    with TestClient(app, base_url="https://testserver", follow_redirects=True) as http:
        yield http


@pytest.fixture()
def api(base_env: dict[str, str]) -> Iterator[TestClient]:
    from gateway.app import create_app

    app = create_app(background=False)
    with TestClient(app, base_url="https://testserver") as http:
        yield http
