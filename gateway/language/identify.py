"""Language identification for inbound messages (DESIGN "Languages").

Called inline by webhook handlers to choose the acknowledgement language, so it must be
cheap: CLD2 (C++, a few microseconds) does most of the work and the slow pure-Python
langdetect (milliseconds) is only asked for a second opinion on short texts CLD2 cannot
place. Evidence is weighed per script, because each script has its own blind spots:

* Arabic script: Pashto-only letters are decisive evidence for Pashto and Urdu-only letters
  for Urdu. langdetect has no Pashto profile and calls every Pashto text Persian.
* Latin script: Dari and Pashto typed in Latin letters are unknown to both detectors, so a
  small function-word lexicon (``lexicon.py``) decides when it clearly can.
* Cyrillic script: Uzbek and Tajik letters (ў, ҷ ӣ ӯ) are decisive; neither is Russian.

"und" is an answer, not a failure: no letters, a greeting every language here shares
("salam"), or a few words only one detector has a (usually exotic) guess for. Routing then
falls back to its default rather than to a wrong language.

The input is only ``clean()``-ed (NFKC, format marks removed). ``fold()`` would destroy
exactly the letter distinctions used here.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, replace

import pycld2
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from gateway.language import lexicon
from gateway.language.normalize import clean, fold

__all__ = ["UND", "Detection", "identify", "warm_up"]

UND = "und"

_LETTER_RUN = re.compile(r"[^\W\d_]+")  # words without their punctuation (، ؟ ۔)

_PASHTO_LETTERS = frozenset("ټډړږښګڼۍځڅې")
_URDU_LETTERS = frozenset("ٹڈڑںےھہۃ")  # ہ ۃ: Urdu's heh goal, where Persian writes ه ة
_PERSIAN_LETTERS = frozenset("کیپچژگ")
_ARABIC_LETTERS = frozenset("كيةى")
# Pashto grammar words (of, in, I, am, is, to, with, my, we, your); none is Dari.
_PASHTO_WORDS = frozenset(
    ["د", "په", "زه", "یم", "يم", "ته", "دی", "دي", "سره", "زما", "مونږ", "موږ", "ستاسو"]
)
# Grammar words telling Urdu from Persian when CLD2 has only a few words to go on.
_URDU_WORDS = frozenset(["کو", "کے", "کا", "اور", "سے", "نے", "میں", "ہے", "ہیں", "بھی"])
_PERSIAN_WORDS = frozenset(
    ["از", "به", "را", "است", "در", "که", "این", "با", "هر", "برای", "و", "می", "هستم"]
    + ["هستیم", "نیست"]
)
# Greetings every language of the region shares, matched on fold()ed text: alone, they say
# nothing about the sender's language.
_SHARED_GREETINGS = frozenset(
    ["salam", "salaam", "slm", "salam alaikum", "salam alaykum", "assalam alaikum"]
    + ["assalamu alaikum", "as salamu alaikum", "سلام", "السلام", "سلام علیکم", "السلام علیکم"]
)
_TAJIK_LETTERS = frozenset("ҷӣӯҶӢӮ")
_UZBEK_CYRILLIC_LETTERS = frozenset("ўЎ")
_BELARUSIAN_UKRAINIAN_LETTERS = frozenset("іІїЇєЄґҐ")  # ў with these is Belarusian, not Uzbek

_ARABIC_SCRIPT_LANGS = frozenset({"fa", "ps", "ar", "ur"})
# Cyrillic languages langdetect has no profile for: its opinion on them is worthless.
_CYRILLIC_CLD2_ONLY = frozenset({"uz", "tg", "kk", "ky", "mn", "tt", "ba"})
_LANGDETECT_MIN_LETTERS = 8
_LONE_GUESS_MIN_LETTERS = 20
_SLAVIC = frozenset({"ru", "uk", "be", "bg", "mk", "sr"})

# CLD2 still uses some withdrawn or non-ISO 639-1 codes.
_CLD2_RENAMES = {"iw": "he", "jw": "jv", "in": "id", "ji": "yi", "mo": "ro", "zh-Hant": "zh"}
_CLD2_NO_LANGUAGE = frozenset({"un", "xxx", "tlh", "zzb", "zze", "zzh", "zzp"})

# First word of the Unicode character name -> ISO 15924, for scripts without special rules.
_OTHER_SCRIPTS = {
    "GREEK": "Grek", "HEBREW": "Hebr", "ARMENIAN": "Armn", "GEORGIAN": "Geor",
    "DEVANAGARI": "Deva", "BENGALI": "Beng", "GURMUKHI": "Guru", "GUJARATI": "Gujr",
    "TAMIL": "Taml", "TELUGU": "Telu", "KANNADA": "Knda", "MALAYALAM": "Mlym",
    "THAI": "Thai", "LAO": "Laoo", "TIBETAN": "Tibt", "MYANMAR": "Mymr", "KHMER": "Khmr",
    "ETHIOPIC": "Ethi", "SYRIAC": "Syrc", "THAANA": "Thaa", "SINHALA": "Sinh",
    "CJK": "Hani", "HIRAGANA": "Hira", "KATAKANA": "Kana", "HANGUL": "Hang",
}  # fmt: skip


@dataclass(frozen=True)
class Detection:
    """What language a text is in, how sure we are, and which evidence decided."""

    language: str  # ISO 639-1 ("fa" covers Dari), or "und"
    confidence: float  # 0..1; comparable within one method, rough across methods
    # ISO 15924 of the dominant letters ("Zyyy": none), except that a Dari/Pashto sentence
    # carrying Latin names and loanwords is "Arab": the script to answer in.
    script: str
    method: str  # "empty", "script", "lexicon", "cld2", "langdetect", "prior" or "weak"


@dataclass(frozen=True)
class _Guess:
    language: str
    confidence: float
    reliable: bool


def identify(text: str) -> Detection:
    """Identify the language of an inbound message (raw text; it is cleaned here)."""
    cleaned = clean(text)
    counts = _script_counts(cleaned)
    if not counts:
        # Digits, punctuation, emoji: nothing to go on, and guessing would mislead routing.
        return Detection(UND, 0.0, "Zyyy", "empty")
    script = max(counts, key=counts.__getitem__)
    if _is_shared_greeting(cleaned):
        # "salam" alone is Dari, Pashto, Uzbek, Turkmen and Arabic at once.
        return Detection(UND, 0.0, script, "weak")
    found = _identify_script(cleaned, script, counts[script])
    if script == "Latn" and counts.get("Arab", 0) >= 4:
        found = _arabic_grammar_with_latin_words(cleaned, found)
    # Audit records and tests compare confidences: keep them tidy and in range.
    return replace(found, confidence=round(min(1.0, max(0.0, found.confidence)), 3))


def warm_up() -> None:
    """Load langdetect's profiles now (~0.2 s) rather than inside the first slow request."""
    _langdetect_factory()


# --- script ----------------------------------------------------------------------------


def _script_of(ch: str) -> str | None:
    """ISO 15924 code of a letter; None for anything that is not a letter of a script."""
    if not ch.isalpha() or ch == "\u0640":  # tatweel is a stretcher, not a letter
        return None
    cp = ord(ch)
    if cp <= 0x24F or 0x1E00 <= cp <= 0x1EFF:
        return "Latn"
    if 0x0600 <= cp <= 0x08FF or 0xFB50 <= cp <= 0xFDFF or 0xFE70 <= cp <= 0xFEFF:
        return "Arab"
    if 0x0400 <= cp <= 0x052F:
        return "Cyrl"
    if 0x02B0 <= cp <= 0x02FF:  # modifier letters such as Uzbek ʻ belong to no script
        return None
    return _OTHER_SCRIPTS.get(unicodedata.name(ch, "").split(" ")[0], "Zzzz")


def _script_counts(text: str) -> dict[str, int]:
    """Letters per script; an empty dict when the text has no letters at all."""
    counts: dict[str, int] = {}
    for ch in text:
        script = _script_of(ch)
        if script is not None:
            counts[script] = counts.get(script, 0) + 1
    return counts


def _is_shared_greeting(text: str) -> bool:
    # Greetings are one to three words: spare every other text the cost of fold().
    if len(text) > 40 or not 0 < len(_LETTER_RUN.findall(text)) <= 3:
        return False
    return " ".join(_LETTER_RUN.findall(fold(text))) in _SHARED_GREETINGS


# --- per-script decisions --------------------------------------------------------------


def _identify_script(text: str, script: str, letters: int) -> Detection:
    if script == "Arab":
        return _identify_arabic(text, letters)
    if script == "Latn":
        return _identify_latin(text, letters)
    if script == "Cyrl":
        return _identify_cyrillic(text, letters)
    return _identify_other(text, script, letters)


def _arabic_grammar_with_latin_words(text: str, latin: Detection) -> Detection:
    """Re-read a mostly-Latin text whose Arabic-script part carries the grammar.

    "زه د Kandahar یم، ceasefire ته اړتیا لرو please" is Pashto: Latin place names and
    loanwords can outnumber a Dari/Pashto sentence's own letters, but its grammar words
    (د، ته، یم / از، به، است) stay in Arabic script. An English sentence quoting a name
    in Arabic script has none of them.
    """
    arabic_words = [w for w in _LETTER_RUN.findall(text) if _script_of(w[0]) == "Arab"]
    grammar = _PASHTO_WORDS | _PERSIAN_WORDS | _URDU_WORDS
    pashto_letters = sum(ch in _PASHTO_LETTERS for ch in text)
    if len(grammar.intersection(arabic_words)) + min(pashto_letters, 2) < 2:
        return latin
    if latin.method == "lexicon" or (latin.language == "en" and latin.confidence >= 0.6):
        return latin  # a real Latin-script sentence with some Arabic-script words in it
    arabic = _identify_arabic(" ".join(arabic_words), sum(len(w) for w in arabic_words))
    return arabic if arabic.language != UND else latin


def _identify_arabic(text: str, letters: int) -> Detection:
    pashto = sum(ch in _PASHTO_LETTERS for ch in text)
    urdu = sum(ch in _URDU_LETTERS for ch in text)
    cld = _cld2(text, letters)
    if cld.reliable and cld.language not in _ARABIC_SCRIPT_LANGS | {UND} and letters >= 20:
        # Uyghur, Sindhi, Kurdish...: CLD2 knows their letters, ours would mislead. On a
        # few words its exotic guesses (Kashmiri for "هر کس") are noise, so not then.
        return Detection(cld.language, cld.confidence, "Arab", "cld2")
    if cld.language == "ps":
        return Detection("ps", cld.confidence, "Arab", "cld2")
    if pashto >= 2 and pashto > urdu:
        # Two Pashto-only letters outweigh CLD2: Pakistani Pashto spelling borrows Urdu's
        # ے, and Persian-heavy training pulls short Pashto towards Persian.
        return Detection("ps", min(0.99, 0.8 + 0.05 * pashto), "Arab", "script")
    words = _LETTER_RUN.findall(text)
    pashto_words = len(_PASHTO_WORDS.intersection(words))
    if pashto_words >= 2 and pashto_words * 6 >= len(words) and urdu == 0:
        # "د", "په", "زه"... are Pashto grammar words no Dari sentence uses; a couple in a
        # long Dari text are a quotation, hence the density condition.
        return Detection("ps", min(0.9, 0.6 + 0.1 * pashto_words), "Arab", "lexicon")
    if urdu >= 2 and pashto == 0 and cld.language != "ur":
        return Detection("ur", min(0.95, 0.7 + 0.05 * urdu), "Arab", "script")
    if cld.language == "ur" and urdu == 0:
        corrected = _short_text_not_urdu(text, words)
        if corrected is not None:
            return corrected
    if cld.reliable and cld.language in _ARABIC_SCRIPT_LANGS:
        return Detection(cld.language, cld.confidence, "Arab", "cld2")
    return _arabic_fallback(text, letters, pashto, urdu)


def _short_text_not_urdu(text: str, words: list[str]) -> Detection | None:
    """Overrule CLD2's Urdu for a few Persian or Arabic words ("هر کس حق", "لكل فرد حق").

    Without Urdu letters or Urdu grammar words there is no Urdu evidence at all; then an
    Arabic-keyboard spelling (ك ي ة ى) means Arabic, and a Persian grammar word Persian.
    """
    if _URDU_WORDS.intersection(words):
        return None
    persian_letters = sum(ch in _PERSIAN_LETTERS for ch in text)
    arabic_letters = sum(ch in _ARABIC_LETTERS for ch in text)
    if arabic_letters > persian_letters:
        return Detection("ar", 0.5, "Arab", "script")
    if _PERSIAN_WORDS.intersection(words):
        return Detection("fa", 0.5, "Arab", "lexicon")
    return None


def _arabic_fallback(text: str, letters: int, pashto: int, urdu: int) -> Detection:
    # CLD2 could not place the text: a lone Pashto letter is still the best evidence, then
    # langdetect (which knows fa/ar/ur but not ps), then the prior of an Afghan gateway.
    if pashto > urdu:
        return Detection("ps", 0.6, "Arab", "script")
    ld = _langdetect(text, letters)
    if ld.language in _ARABIC_SCRIPT_LANGS and ld.reliable:
        return Detection(ld.language, ld.confidence, "Arab", "langdetect")
    return Detection("fa", 0.3, "Arab", "prior")


def _identify_latin(text: str, letters: int) -> Detection:
    decided = lexicon.decide(lexicon.score(text))
    if decided is not None:
        return Detection(decided[0], decided[1], "Latn", "lexicon")
    cld = _cld2(text, letters)
    # CLD2 is strong on English, Uzbek and Turkmen even for a few words, and on any
    # language once the text is long enough; langdetect would only cost time there.
    if cld.reliable and (cld.language in {"en", "uz", "tk"} or letters >= 40):
        return Detection(cld.language, cld.confidence, "Latn", "cld2")
    return _second_opinion(cld, _langdetect(text, letters), "Latn", letters)


def _identify_cyrillic(text: str, letters: int) -> Detection:
    tajik = sum(ch in _TAJIK_LETTERS for ch in text)
    uzbek = sum(ch in _UZBEK_CYRILLIC_LETTERS for ch in text)
    cld = _cld2(text, letters)
    if cld.reliable and cld.language in {"tg", "uz"}:
        return Detection(cld.language, cld.confidence, "Cyrl", "cld2")
    if tajik > uzbek:
        return Detection("tg", min(0.95, 0.7 + 0.05 * tajik), "Cyrl", "script")
    if uzbek > tajik and not any(ch in _BELARUSIAN_UKRAINIAN_LETTERS for ch in text):
        return Detection("uz", min(0.95, 0.7 + 0.05 * uzbek), "Cyrl", "script")
    if cld.reliable and (cld.language in _CYRILLIC_CLD2_ONLY | {"ru"} or letters >= 40):
        # Its Russian is dependable even on a word or two; its Serbian or Macedonian for a
        # short text is not (next step).
        return Detection(cld.language, cld.confidence, "Cyrl", "cld2")
    ld = _langdetect(text, letters)
    if cld.language == ld.language != UND:
        return Detection(cld.language, max(cld.confidence, ld.confidence), "Cyrl", "cld2")
    if ld.language != UND and {cld.language, ld.language} & _SLAVIC:
        # On short texts both detectors wobble between ru, bg, mk and sr; in this region
        # Cyrillic Slavic text is Russian, so Russian wins a split vote.
        if cld.language == "ru":
            return Detection("ru", 0.5, "Cyrl", "cld2")
        if ld.language == "ru":
            return Detection("ru", 0.5, "Cyrl", "langdetect")
        return Detection("ru", 0.3, "Cyrl", "prior")
    return _second_opinion(cld, ld, "Cyrl", letters)


def _identify_other(text: str, script: str, letters: int) -> Detection:
    cld = _cld2(text, letters)
    if cld.reliable and cld.language != UND:
        return Detection(cld.language, cld.confidence, script, "cld2")
    return _second_opinion(cld, _langdetect(text, letters), script, letters)


def _second_opinion(cld: _Guess, ld: _Guess, script: str, letters: int) -> Detection:
    """Combine two detectors that were each unsure (short text, unusual words)."""
    if cld.language == ld.language != UND:
        return Detection(cld.language, max(cld.confidence, ld.confidence), script, "cld2")
    if ld.language == "en" and ld.reliable:
        # CLD2's guesses for a few Latin words range over 160 languages; langdetect's
        # English is the one second opinion worth taking over it.
        return Detection("en", ld.confidence * 0.8, script, "langdetect")
    if letters < _LONE_GUESS_MIN_LETTERS:
        # One detector alone on two or three words ("I am Ahmad" -> Malay) is noise:
        # "und" lets routing fall back to its default instead of a wrong language.
        return Detection(UND, 0.0, script, "weak")
    if cld.reliable:
        return Detection(cld.language, cld.confidence * 0.5, script, "cld2")
    if ld.reliable:
        return Detection(ld.language, ld.confidence * 0.5, script, "langdetect")
    return Detection(UND, 0.0, script, "weak")


# --- detectors -------------------------------------------------------------------------


def _length_factor(letters: int) -> float:
    # A word or two is weak evidence whatever a detector claims about it.
    return min(1.0, 0.4 + letters / 50)


def _cld2_code(code: str) -> str:
    if code in _CLD2_NO_LANGUAGE or code.startswith("xx-"):
        return UND
    return _CLD2_RENAMES.get(code, code).split("-")[0]


def _cld2(text: str, letters: int) -> _Guess:
    """CLD2's best guess. Its percent is a share of the text, not a probability."""
    try:
        reliable, _, details = pycld2.detect(text, isPlainText=True, bestEffort=True)
    except (pycld2.error, UnicodeEncodeError):
        # Control characters and lone surrogates make CLD2 refuse the whole text.
        printable = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
        try:
            reliable, _, details = pycld2.detect(printable, isPlainText=True, bestEffort=True)
        except (pycld2.error, UnicodeEncodeError):
            return _Guess(UND, 0.0, False)
    language = _cld2_code(details[0][1])
    if language == UND:
        return _Guess(UND, 0.0, False)
    confidence = details[0][2] / 100 * _length_factor(letters) * (1.0 if reliable else 0.5)
    return _Guess(language, round(confidence, 3), bool(reliable))


@functools.cache
def _langdetect_factory() -> DetectorFactory:
    # Profiles take ~0.2 s and ~60 MB to load: once per process. A private factory with
    # its own seed keeps results deterministic without touching langdetect's global one.
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)
    return factory


def _langdetect(text: str, letters: int) -> _Guess:
    """langdetect's best guess; its probabilities are overconfident on short text."""
    if letters < _LANGDETECT_MIN_LETTERS:
        # Below a word's worth of letters it says 0.99999 for anything ("ok" is Slovak), and
        # such texts are its slowest (no convergence, ~10 ms): not worth asking.
        return _Guess(UND, 0.0, False)
    detector = _langdetect_factory().create()
    detector.set_max_text_length(500)  # the start of a long message is evidence enough
    detector.append(text)
    try:
        best = detector.get_probabilities()[0]
    except (LangDetectException, IndexError):
        return _Guess(UND, 0.0, False)
    confidence = best.prob * _length_factor(letters)
    return _Guess(best.lang.split("-")[0], round(confidence, 3), best.prob >= 0.9)
