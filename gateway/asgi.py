"""ASGI entry point for uvicorn (`gateway.asgi:app`)."""

from gateway.app import create_app

app = create_app()
