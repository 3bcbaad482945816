"""What every provider route shares: a bounded form read and the signature check.

The URL that is verified is the public URL as the provider saw it: the configured base URL
plus the raw path and query exactly as they arrived (never the Host header or scheme the
app sees behind a TLS-terminating proxy, unless forwarded headers are explicitly trusted).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import ClientDisconnect

from gateway.channels.base import Channel
from gateway.errors import AppError
from gateway.metrics import WEBHOOKS
from gateway.settings import Settings

_MAX_FIELDS = 300


# Async although they never wait: FastAPI runs a plain `def` dependency in its thread pool,
# and two such hand-offs per webhook cost more CPU than everything these functions do.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_channel_dep(request: Request) -> Channel:
    channel: Channel = request.app.state.channel
    return channel


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ChannelDep = Annotated[Channel, Depends(get_channel_dep)]


def public_url(request: Request, settings: Settings) -> str:
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    if settings.trust_forwarded_headers:
        proto = request.headers.get("x-forwarded-proto", request.url.scheme)
        host = request.headers.get("x-forwarded-host", request.headers.get("host", ""))
        base = f"{proto.split(',')[0].strip()}://{host.split(',')[0].strip()}"
    else:
        base = (settings.public_base_url or "").rstrip("/")
    url = base + raw_path.decode("latin-1")
    return f"{url}?{query.decode('latin-1')}" if query else url


async def read_form(request: Request, max_bytes: int) -> ImmutableMultiDict[str, str]:
    """The posted form, every repeated key kept; 413/415/400 with a reason otherwise."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise AppError(415, "expected application/x-www-form-urlencoded")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise AppError(413, f"body larger than {max_bytes} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise AppError(413, f"body larger than {max_bytes} bytes")
    except ClientDisconnect:
        # The caller gave up (Twilio's timeout): nothing to store, and not a crash of ours.
        raise AppError(400, "client disconnected before the body was complete") from None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          errors="strict", max_num_fields=_MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise AppError(400, f"unreadable form body ({type(exc).__name__})") from None
    return ImmutableMultiDict(pairs)


async def verified_form(request: Request, settings: SettingsDep,
                        channel: ChannelDep) -> ImmutableMultiDict[str, str]:
    """The form of a request the provider really signed, else 403 (fail closed)."""
    form = await read_form(request, settings.max_body_bytes)
    if not channel.verify(public_url(request, settings), form, request.headers):
        WEBHOOKS.labels(route=request.url.path.rsplit("/", 1)[-1], result="bad_signature").inc()
        raise AppError(403, "invalid provider signature")
    return form


VerifiedForm = Annotated[ImmutableMultiDict[str, str], Depends(verified_form)]
