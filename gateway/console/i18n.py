"""UI text in Dari, Pashto and English from data files (``strings/<lang>.toml``)."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any

LANGUAGES = ("fa", "ps", "en")
RTL = frozenset({"fa", "ps"})


@functools.cache
def table(lang: str) -> dict[str, dict[str, str]]:
    raw = resources.files(__package__).joinpath("strings", f"{lang}.toml").read_text("utf-8")
    data: dict[str, Any] = tomllib.loads(raw)
    return data


def direction(lang: str) -> str:
    return "rtl" if lang in RTL else "ltr"


class Translator:
    """``t("claim")`` for UI text, ``t("queued", "status")`` for other sections; English as
    the fallback, and the key itself (e.g. a newly configured topic tag) as the last resort."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "en"
        self.dir = direction(self.lang)

    def __call__(self, key: str | None, section: str = "ui") -> str:
        if key is None:
            return ""
        for lang in (self.lang, "en"):
            value = table(lang).get(section, {}).get(key)
            if value is not None:
                return value
        return key


def pick_language(accept_language: str | None, requested: str | None) -> str:
    """Language of a page before login: ?lang=, else the browser's first supported choice."""
    if requested in LANGUAGES:
        return requested
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
        if code == "pr":  # "prs", Dari's ISO 639-3 code
            return "fa"
    return "en"
