"""ASGI entry point for uvicorn (`gateway.asgi:app`).

Logging is configured here, not only in `amip serve`: with `--workers N` uvicorn imports
this module in each worker process, and each must emit the same redacted JSON.
"""

from gateway import logging as amip_logging
from gateway.app import create_app
from gateway.settings import get_settings

amip_logging.configure(get_settings().log_level, get_settings().log_json)
app = create_app()
