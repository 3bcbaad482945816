"""Users, logins, browser sessions and API tokens.

Secrets are stored only as hashes: passwords with Argon2id, session cookies and API tokens
(256 random bits each, so a fast hash is enough) with SHA-256. Services flush; callers
commit (``gateway.db.unit_of_work``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gateway.auth import passwords
from gateway.auth.models import ApiToken, User, UserProvince, WebSession
from gateway.auth.permissions import Principal, Role, hub_provinces, scope_for
from gateway.geography.reference import provinces_by_pcode

UI_LANGUAGES = ("fa", "ps", "en")


class UserError(ValueError):
    """A user-management request that cannot be done; the message says why."""


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    reason: str  # "ok" | "bad_credentials" | "locked"


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything here is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def get_user(session: Session, name: str) -> User | None:
    return session.execute(select(User).where(User.name == name)).scalar_one_or_none()


def add_user(session: Session, *, name: str, role: str, password: str,
             provinces: Sequence[str] = (), hub: str | None = None,
             ui_language: str = "en") -> User:
    """Create a user; coordinators need provinces, hub leads a hub."""
    try:
        role_ = Role(role)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise UserError(f"unknown role {role!r}; one of {roles}") from None
    unknown = [p for p in provinces if p not in provinces_by_pcode()]
    if unknown:
        raise UserError(f"unknown province(s): {', '.join(unknown)}")
    if role_ is Role.COORDINATOR and not provinces:
        raise UserError("a coordinator needs at least one --province")
    if role_ is Role.HUB_LEAD and not hub:
        raise UserError("a hub lead needs --hub")
    if hub and not hub_provinces(session, hub):
        raise UserError(f"unknown hub {hub!r}")
    if ui_language not in UI_LANGUAGES:
        raise UserError(f"UI language must be one of {', '.join(UI_LANGUAGES)}")
    if get_user(session, name) is not None:
        raise UserError(f"user {name!r} exists")
    try:
        password_hash = passwords.hash_password(password)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    user = User(name=name, role=role_.value, hub=hub, password_hash=password_hash,
                ui_language=ui_language, disabled=False, failed_logins=0)
    session.add(user)
    session.flush()
    for pcode in dict.fromkeys(provinces):
        session.add(UserProvince(user_id=user.id, pcode=pcode))
    session.flush()
    return user


def set_password(session: Session, name: str, password: str) -> None:
    """New password; unlocks the account and ends its browser sessions."""
    user = _existing(session, name)
    try:
        user.password_hash = passwords.hash_password(password)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    user.failed_logins = 0
    user.locked_until = None
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()


def disable_user(session: Session, name: str) -> None:
    """Disable a user: sessions end and API tokens stop working at once."""
    user = _existing(session, name)
    user.disabled = True
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()


def list_users(session: Session) -> list[dict[str, object]]:
    users = session.execute(select(User).order_by(User.name)).scalars().all()
    provinces: dict[int, list[str]] = {}
    for uid, pcode in session.execute(select(UserProvince.user_id, UserProvince.pcode)
                                      .order_by(UserProvince.pcode)):
        provinces.setdefault(uid, []).append(pcode)
    return [{"name": u.name, "role": u.role, "hub": u.hub, "provinces": provinces.get(u.id, []),
             "ui_language": u.ui_language, "disabled": u.disabled} for u in users]


def _existing(session: Session, name: str) -> User:
    user = get_user(session, name)
    if user is None:
        raise UserError(f"no user {name!r}")
    return user


def authenticate(session: Session, *, name: str, password: str, now: datetime,
                 max_failures: int, lockout: timedelta) -> LoginResult:
    """Check a password; counts failures and locks the account after ``max_failures``."""
    user = get_user(session, name)
    if user is None or user.disabled:
        passwords.verify_password(passwords.dummy_hash(), password)
        return LoginResult(None, "bad_credentials")
    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        return LoginResult(None, "locked")
    if not passwords.verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + lockout
            user.failed_logins = 0
        session.flush()
        return LoginResult(None, "bad_credentials")
    user.failed_logins = 0
    user.locked_until = None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    session.flush()
    return LoginResult(user, "ok")


def start_session(session: Session, user: User, *, now: datetime,
                  ttl: timedelta) -> tuple[str, str]:
    """A new browser session; returns (cookie token, CSRF token)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=_sha256(token), user_id=user.id, csrf_token=csrf,
                           created_at=now, expires_at=now + ttl))
    session.flush()
    return token, csrf


def end_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _sha256(token)))


def principal_for(session: Session, user: User, via: str) -> Principal:
    role = Role(user.role)
    assigned = session.execute(select(UserProvince.pcode)
                               .where(UserProvince.user_id == user.id)).scalars().all()
    return Principal(user_id=user.id, name=user.name, role=role, via=via,
                     provinces=scope_for(session, role=role, hub=user.hub, provinces=assigned),
                     ui_language=user.ui_language)


def session_principal(session: Session, token: str,
                      now: datetime) -> tuple[Principal, str] | None:
    """(principal, CSRF token) for a live session cookie of an enabled user, else None."""
    row = session.execute(select(WebSession, User).join(User, User.id == WebSession.user_id)
                          .where(WebSession.token_hash == _sha256(token))).first()
    if row is None:
        return None
    web, user = row
    expires = _aware(web.expires_at)
    if user.disabled or expires is None or expires <= now:
        return None
    return principal_for(session, user, "console"), web.csrf_token


def create_token(session: Session, name: str, *, label: str, now: datetime) -> str:
    """A new API token for user ``name``; the clear token is returned once, never stored."""
    user = _existing(session, name)
    if user.disabled:
        raise UserError(f"user {name!r} is disabled")
    token = "amip_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, label=label[:64], token_hash=_sha256(token),
                         revoked=False, created_at=now))
    session.flush()
    return token


def token_principal(session: Session, token: str, now: datetime) -> Principal | None:
    row = session.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                          .where(ApiToken.token_hash == _sha256(token))).first()
    if row is None:
        return None
    api_token, user = row
    if api_token.revoked or user.disabled:
        return None
    api_token.last_used_at = now
    return principal_for(session, user, "api")


def set_ui_language(session: Session, user_id: int, language: str) -> None:
    if language not in UI_LANGUAGES:
        raise UserError("unknown UI language")
    user = session.get(User, user_id)
    if user is not None:
        user.ui_language = language
        session.flush()
