"""The keypad menus: which digit means what, and the TwiML that asks for it.

Pure functions over a call's state; ``service`` persists the state. Prompts are recorded
audio played with ``<Play>`` (Twilio has no Dari or Pashto voice), found per language with a
configurable fallback order when a language has no recording of a prompt yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twilio.twiml import TwiML
from twilio.twiml.voice_response import VoiceResponse

from gateway.geography.reference import load_hubs
from gateway.prompts import prompts_dir
from gateway.settings import Settings

MAX_TRIES = 3  # the first ask and two repeats; then the safe default
SKIP_DIGIT = "0"  # "skip" in the hub and province menus (said in the prompts)
GATHER_TIMEOUT_SECONDS = 6
LANGUAGE, HUB, PROVINCE, RECORD, DONE = "language", "hub", "province", "record", "done"
STEPS = (LANGUAGE, HUB, PROVINCE, RECORD, DONE)
_KEY = re.compile(r"^[A-Za-z0-9_]+$")
_LANG = re.compile(r"^[a-z]{2}(-[A-Z][a-z]{3})?$")


@dataclass(frozen=True)
class Choice:
    """How the caller answered a menu: an option index (0-based), skip, or nothing usable."""

    index: int | None = None
    skip: bool = False
    invalid: bool = False  # a key was pressed that means nothing here (vs. silence)


def parse_choice(digits: str | None, options: int, *, skippable: bool) -> Choice:
    """One keypress for a one-digit menu; ``#``, ``*`` and two digits are not a choice."""
    pressed = (digits or "").strip()
    if not pressed:
        return Choice()
    # ASCII only: "²".isdigit() is true, yet int("²") raises (a 500 mid-call).
    if len(pressed) == 1 and pressed.isascii() and pressed.isdigit():
        if skippable and pressed == SKIP_DIGIT:
            return Choice(skip=True)
        number = int(pressed)
        if 1 <= number <= options:
            return Choice(index=number - 1)
    return Choice(invalid=True)


def languages(settings: Settings) -> list[str]:
    return [x.strip() for x in settings.ivr_languages.split(",") if x.strip()]


def hub_codes() -> list[str]:
    return [hub.code for hub in load_hubs()]


def provinces_of(hub: str) -> list[str]:
    return next((list(h.provinces) for h in load_hubs() if h.code == hub), [])


def audio_path(language: str, key: str, settings: Settings) -> Path | None:
    """The recording of a prompt: the language's own, else the first fallback that has one."""
    if not _KEY.match(key):
        return None
    order = [language, *(x.strip() for x in settings.prompt_audio_fallback.split(","))]
    for lang in order:
        if not _LANG.match(lang):
            continue
        path = prompts_dir() / lang / f"{key}.wav"
        if path.is_file():
            return path
    return None


def own_audio(language: str, key: str) -> bool:
    return _LANG.match(language) is not None and (prompts_dir() / language / f"{key}.wav").is_file()


class Twiml:
    """Builds one TwiML response with absolute URLs under the public base URL."""

    def __init__(self, settings: Settings, language: str) -> None:
        self.settings = settings
        self.language = language
        self.base = (settings.public_base_url or "").rstrip("/")
        self.response = VoiceResponse()

    def url(self, path: str) -> str:
        return self.base + path

    def play(self, key: str, language: str | None = None, target: TwiML | None = None) -> None:
        path = audio_path(language or self.language, key, self.settings)
        if path is None:
            return  # a missing recording must not break the call: the menu still works
        lang = path.parent.name
        parent: Any = target if target is not None else self.response
        parent.play(self.url(f"/voice/prompts/{lang}/{key}.wav"))

    def gather(self, step: str, keys: list[tuple[str, str | None]]) -> None:
        gather = self.response.gather(
            input="dtmf", num_digits=1, timeout=GATHER_TIMEOUT_SECONDS, finish_on_key="",
            action=self.url(f"/twilio/voice/menu/{step}"), method="POST")
        for key, lang in keys:
            self.play(key, lang, gather)
        # Silence: Twilio falls through to the next verb; come back without Digits.
        self.response.redirect(self.url(f"/twilio/voice/menu/{step}"), method="POST")

    def __str__(self) -> str:
        return str(self.response)


def menu(settings: Settings, *, step: str, language: str, hub: str | None,
         welcome: bool = False, invalid: bool = False) -> Twiml:
    """The TwiML for one step of the call."""
    doc = Twiml(settings, language)
    if welcome:
        doc.play("welcome")
    if invalid:
        doc.play("invalid")
    if step == LANGUAGE:
        keys: list[tuple[str, str | None]] = []
        for n, lang in enumerate(languages(settings), start=1):
            # Each language offers itself, in itself: "For Dari, press" + "one" (in Dari).
            if own_audio(lang, "choose_this_language"):
                keys.append(("choose_this_language", lang))
            keys.append((f"digit_{n}", lang))
        doc.gather(LANGUAGE, keys)
    elif step == HUB:
        keys = [("choose_hub", None)]
        for n, code in enumerate(hub_codes(), start=1):
            keys += [(f"hub_{code}", None), (f"digit_{n}", None)]
        doc.gather(HUB, keys)
    elif step == PROVINCE:
        keys = [("choose_province", None)]
        for n, pcode in enumerate(provinces_of(hub or ""), start=1):
            keys += [(f"province_{pcode}", None), (f"digit_{n}", None)]
        doc.gather(PROVINCE, keys)
    elif step == RECORD:
        doc.play("record")
        doc.response.record(
            action=doc.url("/twilio/voice/recorded"), method="POST",
            max_length=settings.ivr_record_max_seconds, finish_on_key="#", play_beep=True,
            timeout=10, trim="trim-silence",
            recording_status_callback=doc.url("/twilio/voice/recording-status"),
            recording_status_callback_method="POST",
            recording_status_callback_event="completed")
        # Record fell through (no audio at all): say goodbye rather than hang in silence.
        doc.response.redirect(doc.url("/twilio/voice/recorded"), method="POST")
    return doc


def goodbye(settings: Settings, language: str, *, recorded: bool) -> Twiml:
    doc = Twiml(settings, language)
    doc.play("thanks" if recorded else "no_recording")
    doc.response.hangup()
    return doc
