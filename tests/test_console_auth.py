"""Logins, lockout, rate limit, sessions, tokens and the `amip user` / `amip token` CLI."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tests import support
from tests.consolekit import (
    HERAT,
    PASSWORD,
    audit_rows,
    bearer,
    csrf_of,
    login,
    make_item,
    make_user,
)

pytest_plugins = ["tests.consolekit"]  # the web / api client fixtures


def _app_client(monkeypatch: pytest.MonkeyPatch, **env: str) -> TestClient:
    from gateway.app import create_app

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    support.reset_caches()
    return TestClient(create_app(background=False), base_url="https://testserver")


def test_login_sets_a_hardened_session_cookie(web: TestClient) -> None:
    make_user("hamid", "coordinator", provinces=[HERAT])
    response = login(web, "hamid")
    assert response.status_code == 303 and response.headers["location"] == "/console/queue"
    cookie = response.headers["set-cookie"].lower()
    assert "amip_session=" in cookie
    for flag in ("httponly", "secure", "samesite=lax"):
        assert flag in cookie
    assert web.get("/console/queue").status_code == 200
    assert [e.user_name for e in audit_rows("login")] == ["hamid"]


def test_wrong_password_gets_a_message_and_no_session(web: TestClient) -> None:
    make_user("hamid", "coordinator", provinces=[HERAT])
    response = login(web, "hamid", "not the password")
    assert response.headers["location"] == "/console/login?error=bad_credentials"
    assert "amip_session" not in response.headers.get("set-cookie", "")
    assert "Wrong user name or password" in web.get(response.headers["location"]).text
    # An unknown name gets exactly the same answer.
    assert login(web, "nobody", "whatever").headers["location"].endswith("bad_credentials")


def test_repeated_failures_lock_the_account_until_a_new_password(web: TestClient) -> None:
    make_user("hamid", "coordinator", provinces=[HERAT])
    for _ in range(5):
        login(web, "hamid", "guess guess guess")
    assert login(web, "hamid").headers["location"].endswith("error=locked")
    runner = CliRunner()
    from gateway.cli import app

    result = runner.invoke(app, ["user", "set-password", "hamid", "--password-stdin"],
                           input="a brand new passphrase\n")
    assert result.exit_code == 0, result.output
    assert login(web, "hamid", "a brand new passphrase").status_code == 303
    assert login(web, "hamid").headers["location"].endswith("bad_credentials")


def test_login_attempts_are_rate_limited_per_address(base_env: dict[str, str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    make_user("hamid", "coordinator", provinces=[HERAT])
    with _app_client(monkeypatch, AMIP_LOGIN_RATE_PER_MINUTE="3") as http:
        answers = [login(http, "nobody", "x" * 12).headers["location"] for _ in range(4)]
        assert answers[:3] == ["/console/login?error=bad_credentials"] * 3
        assert answers[3] == "/console/login?error=rate_limited"
        # Even the right password waits for the window to pass.
        assert login(http, "hamid").headers["location"].endswith("rate_limited")


def test_login_form_needs_its_csrf_cookie(web: TestClient) -> None:
    make_user("hamid", "coordinator", provinces=[HERAT])
    web.cookies.clear()
    forged = web.post("/console/login", data={"name": "hamid", "password": PASSWORD,
                                              "csrf": "made-up"}, follow_redirects=False)
    assert forged.status_code == 403


def test_logout_and_disable_end_access(web: TestClient, api: TestClient) -> None:
    make_user("hamid", "coordinator", provinces=[HERAT])
    item = make_item(HERAT)
    login(web, "hamid")
    csrf = csrf_of(web.get("/console/queue").text)
    old_cookie = web.cookies.get("amip_session")
    web.post("/console/logout", data={"csrf": csrf})
    web.cookies.set("amip_session", old_cookie or "", domain="testserver")
    assert web.get("/console/queue", follow_redirects=False).status_code == 303

    runner = CliRunner()
    from gateway.cli import app

    token = runner.invoke(app, ["token", "create", "hamid"]).output.strip()
    assert api.get(f"/api/items/{item}", headers=bearer(token)).status_code == 200
    login(web, "hamid")
    assert runner.invoke(app, ["user", "disable", "hamid"]).exit_code == 0
    assert api.get(f"/api/items/{item}", headers=bearer(token)).status_code == 401
    assert web.get("/console/queue", follow_redirects=False).status_code == 303
    assert login(web, "hamid").headers["location"].endswith("bad_credentials")


def test_secrets_are_stored_only_as_hashes(base_env: dict[str, str]) -> None:
    from gateway.auth.models import ApiToken, User
    from gateway.cli import app
    from gateway.db import unit_of_work

    runner = CliRunner()
    added = runner.invoke(app, ["user", "add", "sami", "--role", "secretariat",
                                "--password-stdin"], input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    token = runner.invoke(app, ["token", "create", "sami", "--label", "reports"]).output.strip()
    assert token.startswith("amip_") and len(token) > 40
    with unit_of_work() as session:
        user = session.execute(select(User)).scalar_one()
        stored = session.execute(select(ApiToken)).scalar_one()
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert stored.token_hash != token and token not in stored.token_hash
    assert len(stored.token_hash) == 64


def test_cli_user_add_checks_roles_and_scopes(base_env: dict[str, str]) -> None:
    from gateway.cli import app

    runner = CliRunner()

    def add(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["user", "add", *args, "--password-stdin"],
                               input=PASSWORD + "\n")
        return result.exit_code, result.output

    assert add("x", "--role", "emperor")[0] == 1
    assert "needs at least one --province" in add("x", "--role", "coordinator")[1]
    assert "unknown province" in add("x", "--role", "coordinator", "--province", "AF99")[1]
    assert "needs --hub" in add("x", "--role", "hub_lead")[1]
    assert add("hamid", "--role", "coordinator", "--province", "AF32", "--province",
               "af33")[0] == 0
    assert add("wali", "--role", "hub_lead", "--hub", "west", "--language", "ps")[0] == 0
    assert "exists" in add("hamid", "--role", "analyst")[1]
    short = runner.invoke(app, ["user", "add", "y", "--role", "analyst", "--password-stdin"],
                          input="short\n")
    assert short.exit_code == 1 and "at least" in short.output
    listing = runner.invoke(app, ["user", "list"]).output
    assert "hamid" in listing and "AF32,AF33" in listing
    assert "wali" in listing and "west" in listing
    assert {e.action for e in audit_rows()} == {"user_add"}

