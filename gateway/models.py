"""Every ORM model, imported in one place for Alembic and the schema test."""

from gateway.contacts.models import Contact
from gateway.db import Base
from gateway.geography.models import HubRow, ProvinceRow
from gateway.intake.models import Item
from gateway.outbound.models import Bulletin, Delivery, ParkedStatus

__all__ = ["Base", "Bulletin", "Contact", "Delivery", "HubRow", "Item", "ParkedStatus",
           "ProvinceRow"]
