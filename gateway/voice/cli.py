"""`amip models …` (speech-to-text models) and `amip simulate call` (a whole voice call)."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated

import typer

from gateway.settings import get_settings

models_app = typer.Typer(help="Speech-to-text (Vosk) models: list and install.",
                         no_args_is_help=True)
simulate_app = typer.Typer(help="Play provider traffic against a running gateway.",
                           no_args_is_help=True)

# Official Vosk models worth installing (alphacephei.com/vosk/models). There is none for
# Pashto yet; Dari callers are served by the Persian (Farsi) models.
CATALOGUE = {
    "fa-small": ("fa", "https://alphacephei.com/vosk/models/vosk-model-small-fa-0.5.zip"),
    "fa": ("fa", "https://alphacephei.com/vosk/models/vosk-model-fa-0.5.zip"),
    "en-small": ("en", "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip"),
    "en": ("en", "https://alphacephei.com/vosk/models/vosk-model-en-us-0.22.zip"),
    "uz-small": ("uz", "https://alphacephei.com/vosk/models/vosk-model-small-uz-0.22.zip"),
}


@models_app.command("list")
def list_models() -> None:
    """Configured models per language (AMIP_STT_MODELS), and whether each is on disk."""
    from gateway.voice.stt import configured_models

    specs = configured_models(get_settings())
    if not specs:
        typer.echo("no speech-to-text model configured: every voicemail gets no_model")
    for language, spec in sorted(specs.items()):
        present = "ok" if (spec.path / "am").is_dir() else "MISSING"
        typer.echo(f"{language:<8} {spec.model_id:<40} {present:<8} {spec.path}")
    typer.echo("\ninstallable: " + ", ".join(f"{k} ({v[0]})" for k, v in CATALOGUE.items()))


@models_app.command("install")
def install(
    name: Annotated[str, typer.Argument(help="A catalogue name (see `list`) or a .zip URL.")],
    sha256: Annotated[str, typer.Option(help="Expected SHA-256 of the zip (required).")],
    dest: Annotated[Path, typer.Option(help="Directory for models.")] = Path("var/models"),
) -> None:
    """Download an official Vosk model, verify its checksum, unpack it; print the setting."""
    import httpx

    language, url = CATALOGUE.get(name, ("?", name))
    if not url.startswith("https://"):
        raise typer.BadParameter("expected a catalogue name or an https URL")
    dest.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=dest, suffix=".zip", delete=False) as tmp, \
            httpx.stream("GET", url, follow_redirects=True, timeout=60) as response:
        response.raise_for_status()
        for block in response.iter_bytes(1 << 20):
            digest.update(block)
            tmp.write(block)
    archive = Path(tmp.name)
    if digest.hexdigest() != sha256.lower():
        archive.unlink()
        typer.echo(f"checksum mismatch: got {digest.hexdigest()}", err=True)
        raise typer.Exit(1)
    with zipfile.ZipFile(archive) as zf:
        top = {n.split("/")[0] for n in zf.namelist()}
        if len(top) != 1 or any(n.startswith("/") or ".." in n for n in zf.namelist()):
            raise typer.BadParameter("unexpected archive layout")
        zf.extractall(dest)  # noqa: S202 - names checked above
    archive.unlink()
    target = dest / top.pop()
    typer.echo(f"installed {target}\nadd to AMIP_STT_MODELS: {language}={target.resolve()}")


@models_app.command("remove")
def remove(path: Annotated[Path, typer.Argument(help="An installed model directory.")]) -> None:
    """Delete an installed model directory."""
    if not (path / "am").is_dir():
        raise typer.BadParameter("not a Vosk model directory")
    shutil.rmtree(path)


@simulate_app.command("call")
def simulate_call(
    gateway: Annotated[str, typer.Option(help="The gateway's public base URL.")],
    audio: Annotated[Path, typer.Option(help="WAV (or MP3) the caller 'says'.", exists=True,
                                        dir_okay=False)],
    keys: Annotated[str, typer.Option(help="Keypad answers in order: language, hub, "
                                      "province (0 skips); empty = silence, e.g. '1,,3'.")]
    = "1,1,1",
    caller: Annotated[str, typer.Option(help="Caller number (a made-up one).")]
    = "+93700000001",
    wait: Annotated[float, typer.Option(help="Seconds to keep serving the recording until "
                                        "the gateway has fetched and deleted it.")] = 60.0,
    media_port: Annotated[int, typer.Option(help="Port of the loopback media server "
                                            "(0: any free one).")] = 0,
) -> None:
    """Play one voice call as Twilio would: follow TwiML, press keys, leave a voicemail.

    Signs every webhook with AMIP_TWILIO_AUTH_TOKEN and serves the recording on loopback
    behind basic auth (AMIP_TWILIO_ACCOUNT_SID + token), like Twilio's media URLs. The
    gateway's media workers need AMIP_MEDIA_HOSTS=127.0.0.1 and, to delete the recording
    afterwards, AMIP_TWILIO_API_BASE=http://127.0.0.1:<media-port>.
    """
    from gateway.simulator.call import run_cli

    settings = get_settings()
    token = settings.twilio_auth_token
    if token is None or not settings.twilio_account_sid:
        raise typer.BadParameter("set AMIP_TWILIO_AUTH_TOKEN and AMIP_TWILIO_ACCOUNT_SID")
    raise typer.Exit(run_cli(gateway, audio, keys, caller, wait, token.get_secret_value(),
                             settings.twilio_account_sid, media_port))
