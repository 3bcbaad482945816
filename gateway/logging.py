"""Structured logs (JSON by default) with the request id, and a last-line redactor.

Call sites never pass a phone number or message text; ``_redact`` is a safety net that
masks anything shaped like a phone number should one slip into a message or a field.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

# 9–15 digits, optionally with a leading + and single spaces, standing alone (not part of a
# hex id, a date or a longer word).
_PHONE = re.compile(r"(?<![\w\-:.])\+?\d(?: ?\d){8,14}(?![\w\-:.])")


def redact_numbers(text: str) -> str:
    """``text`` with anything shaped like a phone number masked."""
    return _PHONE.sub("[redacted-number]", text)


def _redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key, value in list(event_dict.items()):
        if isinstance(value, str):
            event_dict[key] = redact_numbers(value)
    return event_dict


def configure(level: str = "INFO", json: bool = True) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Render tracebacks to text here, before the redactor: the JSON renderer would
        # otherwise print repr()s of the exc_info tuple, and no traceback at all.
        structlog.processors.format_exc_info,
        _redact,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(
        colors=False)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log prints the request line; our paths carry no numbers, but the
    # access log adds nothing our own request log does not, so keep one source of truth.
    logging.getLogger("uvicorn.access").handlers[:] = []
    logging.getLogger("uvicorn.access").propagate = False
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
