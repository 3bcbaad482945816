"""Every ORM model, imported in one place for Alembic and the schema test."""

from gateway.audit.models import AuditEntry  # noqa: F401 - console (issue 4)
from gateway.auth.models import ApiToken, User, UserProvince, WebSession  # noqa: F401
from gateway.console.models import ItemNote, ItemTag, ItemVersion  # noqa: F401
from gateway.contacts.models import Contact
from gateway.db import Base
from gateway.geography.models import HubRow, ProvinceRow
from gateway.intake.models import Item
from gateway.outbound.models import Bulletin, Delivery, ParkedStatus
from gateway.reports.models import REPORT_INDEX  # noqa: F401 - reports (issue 6)
from gateway.voice.models import Call, Recording, Transcript  # noqa: F401

__all__ = ["Base", "Bulletin", "Contact", "Delivery", "HubRow", "Item", "ParkedStatus",
           "ProvinceRow"]
