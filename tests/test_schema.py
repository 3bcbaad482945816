"""The schema comes from Alembic only, and the models agree with it (issue 2)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, update

from gateway.db import get_engine, unit_of_work
from gateway.geography.models import HubRow, ProvinceRow
from gateway.models import Base


def test_models_match_migrations(base_env: dict[str, str]) -> None:
    with get_engine().connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []


def test_reference_data_is_seeded_once_and_hub_edits_survive(base_env: dict[str, str]) -> None:
    from gateway.migrate import migrate

    with unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(ProvinceRow)).scalar_one() == 34
        assert session.execute(select(func.count()).select_from(HubRow)).scalar_one() == 7
        session.execute(update(ProvinceRow).where(ProvinceRow.pcode == "AF24")
                        .values(hub="north"))
    try:
        migrate()  # idempotent: running it again adds nothing and overwrites nothing
        with unit_of_work() as session:
            assert session.get(ProvinceRow, "AF24").hub == "north"  # type: ignore[union-attr]
            assert session.execute(
                select(func.count()).select_from(ProvinceRow)).scalar_one() == 34
    finally:
        with unit_of_work() as session:
            session.execute(update(ProvinceRow).where(ProvinceRow.pcode == "AF24")
                            .values(hub="central"))
