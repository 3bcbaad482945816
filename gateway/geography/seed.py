"""Idempotent seed of hubs and provinces from the reference CSVs shipped in the package.

Inserts what is missing and never overwrites a row: a hub regrouping made by the
secretariat survives every re-seed.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.db import insert_ignore
from gateway.geography.models import HubRow, ProvinceRow
from gateway.geography.reference import load_hubs, load_provinces


def seed_reference(session: Session) -> None:
    """Insert the 7 hubs and 34 provinces that are not there yet."""
    for hub in load_hubs():
        session.execute(insert_ignore(session, HubRow).values(
            code=hub.code, name_en=hub.name_en, name_fa=hub.name_fa, name_ps=hub.name_ps,
            seat_en=hub.seat_en))
    for p in load_provinces():
        session.execute(insert_ignore(session, ProvinceRow).values(
            pcode=p.pcode, name_en=p.name_en, name_fa=p.name_fa, name_ps=p.name_ps,
            capital_en=p.capital_en, capital_fa=p.capital_fa, area_code=p.area_code,
            hub=p.hub, aliases="|".join(p.aliases)))
    session.flush()
