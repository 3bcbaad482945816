"""Per-language prompts from ``prompts/<lang>/prompts.toml`` (data, not code).

Language keys are BCP-47-like: ``fa``, ``ps``, ``uz``, ``tk``, ``en``, and ``fa-Latn`` /
``ps-Latn`` for people who write Dari or Pashto in Latin letters (often because their
phone has no Arabic keyboard — an Arabic-script reply may not even display).
"""

from __future__ import annotations

import functools
import os
import tomllib
from pathlib import Path
from typing import Any

_DEFAULT_DIR = Path(__file__).resolve().parent.parent / "prompts"


def prompts_dir() -> Path:
    return Path(os.environ.get("AMIP_PROMPTS_DIR", _DEFAULT_DIR))


@functools.lru_cache(maxsize=1)
def load_all() -> dict[str, dict[str, Any]]:
    """Every language's prompt table, keyed by language tag."""
    root = prompts_dir()
    tables: dict[str, dict[str, Any]] = {}
    for path in sorted(root.glob("*/prompts.toml")):
        with path.open("rb") as fh:
            tables[path.parent.name] = tomllib.load(fh)
    if not tables:
        raise RuntimeError(f"no prompts found under {root}")
    return tables


def language_tag(language: str, script: str | None) -> str:
    """The prompt language for a detected language and script."""
    if script == "Latn" and language in ("fa", "ps"):
        return f"{language}-Latn"
    return language


def text(section: str, key: str, language: str, fallback: str = "fa") -> str:
    """A prompt's text in ``language``, else in ``fallback``."""
    tables = load_all()
    table = tables.get(language) or tables[fallback]
    return str(table[section][key])
