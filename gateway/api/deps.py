"""Bearer-token authentication for the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.auth import service as auth
from gateway.auth.permissions import Principal
from gateway.db import unit_of_work
from gateway.errors import AppError

_bearer = HTTPBearer(auto_error=False, description="`amip token create NAME` prints one")


def api_principal(request: Request, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The principal behind ``Authorization: Bearer …``; 401 without a live token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AppError(401, "bearer token required")
    with unit_of_work() as session:
        principal = auth.token_principal(session, credentials.credentials, datetime.now(UTC))
    if principal is None:
        raise AppError(401, "invalid or revoked token")
    return principal


ApiPrincipal = Annotated[Principal, Depends(api_principal)]
