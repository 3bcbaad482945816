"""One error type carrying an HTTP status, and its handler (STYLE convention 7).

A 5xx tells Twilio "retry"; expected failures are 4xx with a reason. Reasons never carry
a phone number or message text.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class AppError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _handle(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse({"error": exc.reason}, status_code=exc.status)
