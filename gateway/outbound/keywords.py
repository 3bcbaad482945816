"""SMS keywords: join, stop, help, change language, set province.

A message is a keyword only if, after ``fold`` (case, diacritics, Arabic/Persian letter
variants, Persian and Arabic-Indic digits) and with punctuation, symbols and emoji removed,
it *is* the keyword — or the keyword followed by its argument (``JOIN HERAT``,
``زبان پښتو``). A sentence that merely contains a keyword (``please stop the war``) is a
normal message and goes to triage. Stop is checked first and wins over everything else.

Sources for the word lists are in README "Keywords". English opt-out and opt-in words are
Twilio's standard ones. Dari and Pashto words are common everyday words for stop / cancel /
join / help; they have not yet been reviewed by the provincial networks.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from gateway.geography.matching import find_province_mentions
from gateway.language.normalize import fold

Action = Literal["stop", "join", "help", "language", "province"]

# phrase (folded form) -> language tag of the phrase ("" when it is shared by several)
_STOP: dict[str, str] = {
    # Twilio's default English opt-out keywords (see README "Keywords").
    **dict.fromkeys(["stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit",
                     "revoke", "optout", "opt out"], "en"),
    # Dari: "stop", "cancel", "cancel subscription/membership", "halt"
    **dict.fromkeys(["توقف", "لغو", "لغو اشتراک", "لغو عضویت", "ایست"], "fa"),
    # Pashto: "closed/shut", "stop (it)", "stop (imperative)", "cancel"
    **dict.fromkeys(["بند", "بندول", "ودرول", "ودروه", "لغوه", "ګډون لغوه"], "ps"),
    "بس": "",  # "enough" in Dari and Pashto alike
    # Dari/Pashto in Latin letters
    **dict.fromkeys(["bas", "tawaqof", "tawaqqof", "laghw"], "fa-Latn"),
    **dict.fromkeys(["band", "wadrawa", "wadrawal"], "ps-Latn"),
}
_JOIN: dict[str, str] = {
    **dict.fromkeys(["join", "start", "unstop", "subscribe"], "en"),
    **dict.fromkeys(["عضویت", "اشتراک", "شروع", "عضو"], "fa"),
    **dict.fromkeys(["ګډون", "غړیتوب", "پیل", "شامل"], "ps"),
    **dict.fromkeys(["shamil", "shuru", "ozwiyat"], "fa-Latn"),
    **dict.fromkeys(["gadun", "gaddon"], "ps-Latn"),
}
_HELP: dict[str, str] = {
    **dict.fromkeys(["help", "info"], "en"),
    **dict.fromkeys(["کمک", "راهنما", "معلومات"], "fa"),
    **dict.fromkeys(["مرسته", "لارښود", "مالومات"], "ps"),
    "مدد": "",
    **dict.fromkeys(["komak", "rahnama"], "fa-Latn"),
    **dict.fromkeys(["mrasta", "mrasta"], "ps-Latn"),
}
_LANGUAGE: dict[str, str] = {
    **dict.fromkeys(["language", "lang", "change language", "set language"], "en"),
    **dict.fromkeys(["زبان", "تغییر زبان", "تبدیل زبان"], "fa"),
    **dict.fromkeys(["ژبه", "ژبه بدله", "ژبه بدلول"], "ps"),
    "zaban": "fa-Latn",
    **dict.fromkeys(["zhaba", "jaba"], "ps-Latn"),
}
_PROVINCE: dict[str, str] = {
    **dict.fromkeys(["province", "set province", "my province"], "en"),
    **dict.fromkeys(["ولایت من", "تغییر ولایت"], "fa"),
    "ولایت": "",  # the same word in Dari and Pashto
    "زما ولایت": "ps",
    **dict.fromkeys(["wilayat", "welayat", "velayat"], ""),
}

# Names of the languages a person can choose, folded, to a prompt language tag.
_LANGUAGE_NAMES: dict[str, str] = {
    **dict.fromkeys(["english", "انگلیسی", "انګلیسي", "انگلیسي"], "en"),
    **dict.fromkeys(["dari", "farsi", "persian", "دری", "فارسی", "دري"], "fa"),
    **dict.fromkeys(["pashto", "pashtu", "pukhto", "pakhto", "پښتو", "پشتو"], "ps"),
    **dict.fromkeys(["uzbek", "ozbek", "o'zbek", "ozbekcha", "ازبکی", "اوزبیکی", "ازبکي"], "uz"),
    **dict.fromkeys(["turkmen", "turkmence", "ترکمنی", "ترکمني"], "tk"),
}

_ACTIONS: tuple[tuple[Action, dict[str, str], bool], ...] = (
    # (action, phrases, takes an argument)
    ("join", _JOIN, True),
    ("help", _HELP, False),
    ("language", _LANGUAGE, True),
    ("province", _PROVINCE, True),
)


@dataclass(frozen=True)
class Keyword:
    action: Action
    phrase_language: str  # language of the keyword as typed ("" if shared)
    target_language: str | None = None  # change language / join with a language
    province: str | None = None  # set province / join with a province


def matching_form(text: str) -> str:
    """fold() + punctuation, symbols and emoji removed + whitespace collapsed."""
    kept = []
    for ch in fold(text):
        category = unicodedata.category(ch)
        # P*: punctuation (also Arabic ؟ ، ۔); S*: symbols and emoji (also skin tones);
        # C*: controls and what clean() left; apostrophes are kept inside words (o'zbek).
        if ch in "'’" or not (category[0] in "PSC" or ch in "\ufe0f\u200d"):
            kept.append(ch)
        else:
            kept.append(" ")
    return " ".join("".join(kept).replace("’", "'").strip("' ").split())


def _fold_keys(table: dict[str, str]) -> dict[str, str]:
    return {matching_form(k): v for k, v in table.items()}


_STOP_F = _fold_keys(_STOP)
_ACTIONS_F = tuple((a, _fold_keys(t), arg) for a, t, arg in _ACTIONS)
_LANGUAGE_NAMES_F = _fold_keys(_LANGUAGE_NAMES)


def parse(text: str) -> Keyword | None:
    """The keyword this message is, or None for a normal message (→ triage)."""
    form = matching_form(text)
    if not form:
        return None
    if form in _STOP_F or _all_stop_words(form):
        return Keyword("stop", _STOP_F.get(form, ""))
    words = form.split()
    for action, table, takes_argument in _ACTIONS_F:
        for n in (3, 2, 1):  # longest phrase first: "change language" before "language"
            head = " ".join(words[:n])
            if len(words) < n or head not in table:
                continue
            rest = " ".join(words[n:])
            if not rest:
                return Keyword(action, table[head]) if action != "province" else None
            if not takes_argument:
                return None
            return _with_argument(action, table[head], rest)
    return None


def _all_stop_words(form: str) -> bool:
    # "STOP STOP", "stop, stop!" — a repeated opt-out is still an opt-out.
    words = form.split()
    return len(words) > 1 and all(w in _STOP_F for w in words)


def _with_argument(action: Action, lang: str, rest: str) -> Keyword | None:
    target = _LANGUAGE_NAMES_F.get(rest)
    if action in ("language", "join") and target:
        if lang.endswith("-Latn") and target in ("fa", "ps"):
            target += "-Latn"  # "zaban dari": they write Dari in Latin letters
        return Keyword(action, lang, target_language=target)
    if action in ("province", "join"):
        pcode = _whole_province(rest)
        if pcode:
            return Keyword(action, lang, province=pcode)
    return None


def _whole_province(rest: str) -> str | None:
    """A province only if the argument is nothing but its name ("join the protest in
    herat" is a sentence, not a keyword)."""
    mentions = find_province_mentions(rest)
    if not mentions:
        return None
    pcodes = {m.pcode for m in mentions}
    covered = sum(m.end - m.start for m in mentions)
    folded = fold(rest)
    if len(pcodes) == 1 and covered >= len(folded.replace(" ", "")) - 1:
        return mentions[0].pcode
    return None
