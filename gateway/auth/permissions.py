"""The one permission module every console page and API route goes through.

A principal has a role (what it may do) and a scope (which provinces it may see; ``None``
means the whole country, including the national unrouted queue). An item outside the scope
is answered 404, as if it did not exist, so a coordinator cannot probe other provinces; a
role that may not do something at all gets 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from gateway.errors import AppError
from gateway.geography.models import ProvinceRow


class Role(StrEnum):
    ADMIN = "admin"
    SECRETARIAT = "secretariat"
    HUB_LEAD = "hub_lead"
    COORDINATOR = "coordinator"
    ANALYST = "analyst"
    COMMS = "comms"  # communications staff: SMS bulletins (issue 5)


class Perm(StrEnum):
    COUNTS = "counts"  # numbers per status / province
    QUEUE = "queue"  # the list of items with their metadata
    READ_TEXT = "read_text"  # message text, transcripts, versions, notes
    AUDIO = "audio"
    WORK = "work"  # claim, release, triage, escalate, discard, reroute, edit, tag, note
    OVERRIDE_CLAIM = "override_claim"  # act on an item someone else has claimed
    AUDIT = "audit"
    USERS = "users"
    BULLETINS = "bulletins"  # write, preview, approve (not one's own), send, cancel, follow


_READER = frozenset({Perm.COUNTS, Perm.QUEUE, Perm.READ_TEXT, Perm.AUDIO, Perm.WORK})
ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.SECRETARIAT: _READER | {Perm.OVERRIDE_CLAIM},
    Role.HUB_LEAD: _READER | {Perm.OVERRIDE_CLAIM},
    Role.COORDINATOR: _READER,
    Role.ANALYST: frozenset({Perm.COUNTS}),  # counts only: never text, audio or item rows
    Role.COMMS: frozenset({Perm.BULLETINS, Perm.COUNTS}),  # counts: the landing page's numbers
}

NOT_FOUND = "no such item"


@dataclass(frozen=True)
class Principal:
    user_id: int
    name: str
    role: Role
    provinces: frozenset[str] | None  # None: national
    ui_language: str = "en"
    via: str = "console"

    def can(self, perm: Perm) -> bool:
        return perm in ROLE_PERMS[self.role]

    def sees(self, province: str | None) -> bool:
        if self.provinces is None:
            return True
        return province is not None and province in self.provinces

    @property
    def national(self) -> bool:
        return self.provinces is None


def require(principal: Principal, perm: Perm) -> None:
    """403 unless the role may do this at all."""
    if not principal.can(perm):
        raise AppError(403, "not allowed for this role")


def require_item(principal: Principal, perm: Perm, province: str | None) -> None:
    """403 for the role, then 404 for an item outside the principal's provinces."""
    require(principal, perm)
    if not principal.sees(province):
        raise AppError(404, NOT_FOUND)


def require_province(principal: Principal, province: str) -> None:
    """A reroute target or a queue filter must be a real province (any scope may send to it)."""
    from gateway.geography.reference import provinces_by_pcode

    if province not in provinces_by_pcode():
        raise AppError(400, "unknown province")


def scope_clause(principal: Principal, column: ColumnElement[str | None]) -> ColumnElement[bool]:
    """A WHERE clause restricting ``column`` (a province p-code) to the principal's scope."""
    if principal.provinces is None:
        return true()
    return column.in_(sorted(principal.provinces))


def narrow(principal: Principal, session: Session, *, province: str | None,
           hub: str | None) -> frozenset[str] | None:
    """The provinces a queue view shows: the scope, narrowed by a province or hub filter."""
    wanted: frozenset[str] | None = None
    if hub:
        wanted = hub_provinces(session, hub)
        if not wanted:
            raise AppError(400, "unknown hub")
    if province:
        require_province(principal, province)
        wanted = frozenset({province}) & wanted if wanted is not None else frozenset({province})
    if wanted is None:
        return principal.provinces
    if principal.provinces is not None and not wanted <= principal.provinces:
        raise AppError(403, "outside your provinces")
    return wanted


def hub_provinces(session: Session, hub: str) -> frozenset[str]:
    # From the table, not the CSV: the secretariat may have regrouped provinces.
    return frozenset(session.execute(
        select(ProvinceRow.pcode).where(ProvinceRow.hub == hub)).scalars())


def scope_for(session: Session, *, role: Role, hub: str | None,
              provinces: Iterable[str]) -> frozenset[str] | None:
    """The provinces a user may see, from the role and the user's assignments."""
    assigned = frozenset(provinces)
    if role in (Role.ADMIN, Role.SECRETARIAT):
        return None
    if role is Role.HUB_LEAD:
        return hub_provinces(session, hub or "")
    if role is Role.COORDINATOR:
        return assigned
    # Analysts: national counts unless narrowed to a hub or provinces.
    if hub:
        return hub_provinces(session, hub) | assigned
    return assigned or None
