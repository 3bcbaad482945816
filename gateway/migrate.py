"""Schema migration (Alembic only) and the idempotent reference seed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from gateway.db import unit_of_work
from gateway.settings import get_settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's options are ConfigParser values, where "%" starts an interpolation: a
    # password written %-escaped in the URL ("p%40ss") failed the migration, with a
    # traceback that printed the URL. "%%" reads back as "%".
    url = url or get_settings().resolved_database_url
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str | None = None) -> None:
    """Upgrade to head, then seed hubs and provinces that are missing."""
    command.upgrade(alembic_config(url), "head")
    from gateway.geography.seed import seed_reference

    with unit_of_work(url) as session:
        seed_reference(session)
