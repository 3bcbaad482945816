"""Render placeholder IVR recordings from the prompt texts (a development tool).

    python -m gateway.voice.prompt_audio [LANG …]

needs ``espeak-ng`` and ``sox`` (Debian packages; only here, never at run time) and writes
``prompts/<lang>/<key>.wav``: 8 kHz mono 16-bit PCM, what a phone line carries. espeak-ng
has no Pashto voice: Pashto is read by the voices in ``FALLBACK_VOICES`` (Persian, with the
Pashto-only letters mapped to their nearest Persian ones: a rough placeholder). Languages
with no file at all (the Latin-script variants) are served, at run time, the first language
of ``AMIP_PROMPT_AUDIO_FALLBACK`` that has one. Replace any file with a human recording of
the same text, in the same format (README).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from gateway.prompts import load_all, prompts_dir

# Language tag → espeak-ng voice. Languages absent here have no synthetic voice.
VOICES = {"en": "en-us", "fa": "fa", "uz": "uz", "tk": "tk"}
# Languages without a voice of their own: the voices to try, in order.
FALLBACK_VOICES = {"ps": ["fa"]}
# Pashto-only letters → the Persian letter a Persian voice reads closest to it.
_PASHTO_TO_PERSIAN = str.maketrans("ټډړږښګڼۍېځڅيك", "تدرژشگنییزسیک")


def voice_for(language: str) -> str | None:
    if language in VOICES:
        return VOICES[language]
    return next((VOICES[v] for v in FALLBACK_VOICES.get(language, []) if v in VOICES), None)


def speakable(language: str, text: str) -> str:
    return text.translate(_PASHTO_TO_PERSIAN) if language == "ps" else text


def render(language: str, *, force: bool = False) -> int:
    """Render every [ivr] prompt of one language; returns how many files were written."""
    voice = voice_for(language)
    if voice is None:
        return 0
    written = 0
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        for key, text in load_all()[language]["ivr"].items():
            out = prompts_dir() / language / f"{key}.wav"
            if out.exists() and not force:
                continue  # never overwrite a human recording by accident
            speak = ["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw),
                     speakable(language, str(text))]
            # -G guards against clipping; dither off keeps the files reproducible.
            convert = ["sox", "-G", str(raw), "-r", "8000", "-c", "1", "-b", "16", "-D", str(out)]
            for command in (speak, convert):
                subprocess.run(command, check=True)  # noqa: S603 - fixed tools, no shell
            written += 1
    return written


def main(argv: list[str]) -> int:
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        print("needs espeak-ng and sox: apt-get install -y espeak-ng sox", file=sys.stderr)
        return 2
    force = "--force" in argv
    languages = [a for a in argv if not a.startswith("--")] or sorted({*VOICES, *FALLBACK_VOICES})
    for language in languages:
        print(language, render(language, force=force))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
