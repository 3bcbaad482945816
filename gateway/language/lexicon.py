"""Function-word evidence for Dari and Pashto typed in Latin letters.

Statistical detectors have never seen romanised Dari or Pashto ("salam man az herat hastam"
comes back as Malay, "za da kandahar yam" as Rundi), yet it is a large share of real SMS.
A handful of very common words settles it when several of them co-occur.

Where the words come from: general knowledge of how Afghans commonly spell Dari and Pashto
in Latin-letter chat and SMS (several spellings per word, no standard orthography). They are
NOT drawn from a corpus and have not been measured on real traffic; treat the lists as a
starting point to be corrected from labelled messages once the gateway has some.

Words that are also common in English, Uzbek, Turkmen or in the other language ("man",
"ma", "da", "pa", "kho"...) carry half weight, so they can support but never decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STRONG = 1.0
WEAK = 0.5

_DARI: dict[str, float] = {
    # copula and pronouns
    **dict.fromkeys(["ast", "hast", "hastam", "hasti", "hastim", "hastin", "hastand"], STRONG),
    **dict.fromkeys(["nist", "shoma", "shuma"], STRONG),
    # verbs: want / do / have / please
    **dict.fromkeys(
        ["mekhaham", "mikhaham", "mekhaim", "mikhaim", "mekhahim", "mikhahim", "mekhahem"],
        STRONG,
    ),
    **dict.fromkeys(["mekonam", "mikonam", "mekonim", "mikonim", "darim", "nadarim"], STRONG),
    **dict.fromkeys(["kardan", "kunid", "konid", "bokonid", "lotfan", "lutfan"], STRONG),
    # thanks, war, peace, how, why, for, good, people, government, girl
    **dict.fromkeys(["tashakor", "tashakur", "tashakkur", "tashakkor", "jang", "solh"], STRONG),
    **dict.fromkeys(["chetor", "chitor", "chitur", "chera", "baraye", "baray"], STRONG),
    **dict.fromkeys(["khob", "khub", "mardom", "dolat", "dukhtar", "dokhtar"], STRONG),
    # girls (colloquial and written plurals); "may it become" ("baz shawad": be opened)
    **dict.fromkeys(["dokhtara", "dokhtaran", "dukhtara", "dukhtaran"], STRONG),
    **dict.fromkeys(["shawad", "shavad"], STRONG),
    **dict.fromkeys(["baz", "shawa"], WEAK),
    # I, we, and particles shared with Pashto, English or Turkic chat
    **dict.fromkeys(["man", "ma", "az", "ba", "dar", "ke", "ki", "chi", "kho", "ra"], WEAK),
    **dict.fromkeys(["ham", "wa", "nest"], WEAK),
}

_PASHTO: dict[str, float] = {
    # pronouns and copula
    **dict.fromkeys(["za", "zma", "zama", "sta", "zmung", "zamung", "mung", "mong"], STRONG),
    **dict.fromkeys(["tasu", "taso", "yam", "dey", "dai", "shta", "shata", "nishta"], STRONG),
    # want / do / thanks / peace / war / what / how / very / own / greeting
    **dict.fromkeys(["ghwaro", "ghwaru", "ghwaram", "ghwarum", "ghwari", "ghwaray"], STRONG),
    **dict.fromkeys(["kawal", "kawalay", "kawo", "kawi", "kawam", "manana"], STRONG),
    **dict.fromkeys(["sola", "sulha", "jagra", "jagre", "tsa", "tse", "sanga"], STRONG),
    **dict.fromkeys(["dera", "khpal", "staray"], STRONG),
    # our (more spellings), village, water ("oba" is also Turkmen for village: half weight)
    **dict.fromkeys(["zmong", "zamong", "zmonga", "zamonga", "zmunga", "zamunga"], STRONG),
    **dict.fromkeys(["kalay", "kaley", "kali", "obe", "obo"], STRONG),
    **dict.fromkeys(["oba"], WEAK),
    # particles shared with Dari, English or Turkic chat
    **dict.fromkeys(["da", "de", "di", "pa", "aw", "ao", "kho", "ki", "ta", "ka", "cha"], WEAK),
}

# Signals that the Latin text is really English, Uzbek or Turkmen: the lexicon must then
# stand down, however many short shared words it matched.
_ENGLISH = frozenset(
    # Function words only; "in" and "on" are left out because romanised Dari writes
    # "this" and "that" that way.
    ["the", "and", "is", "are", "was", "were", "we", "you", "our", "your", "they", "their"]
    + ["this", "that", "with", "for", "have", "has", "not", "please", "need", "can", "will"]
    + ["what", "where", "when", "from", "there", "here", "it", "its", "my", "his", "her", "of"]
)
_UZBEK = frozenset(
    ["va", "bilan", "uchun", "emas", "kerak", "bizning", "sizning", "juda", "yoq", "bor"]
    + ["men", "biz", "siz", "bu", "shu", "yordam"]
)
# Turkmen as typed without its special letters (those are caught by _TURKIC_MARKS).
_TURKMEN = frozenset(["bilen", "ucin", "gerek", "hem", "bar", "yok", "sen", "size", "bize"])
_FOREIGN = _ENGLISH | _UZBEK | _TURKMEN

# Turkmen/Uzbek orthography that romanised Dari/Pashto chat (plain ASCII) never uses.
_TURKIC_MARKS = re.compile(r"[ňýäşçžüöÿ]|[og][ʻ'‘’`](?=\w)", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class LexiconScore:
    """Weighted hits for romanised Dari (fa) and Pashto (ps), and the counter-evidence."""

    fa: float
    ps: float
    fa_strong: int  # distinct full-weight words matched
    ps_strong: int
    foreign: int


def score(text: str) -> LexiconScore:
    """Score Latin text against the romanised Dari and Pashto word lists."""
    lowered = text.casefold()
    # Distinct words: "da da da" or a repeated slogan is one piece of evidence, not three.
    words = set(_WORD.findall(lowered))
    fa = sum(_DARI.get(word, 0.0) for word in words)
    ps = sum(_PASHTO.get(word, 0.0) for word in words)
    fa_strong = sum(_DARI.get(word) == STRONG for word in words)
    ps_strong = sum(_PASHTO.get(word) == STRONG for word in words)
    # Each Turkic mark counts like a foreign word: "biziň", "yo'q" are never romanised Dari.
    foreign = len(words & _FOREIGN) + len(_TURKIC_MARKS.findall(lowered))
    return LexiconScore(fa, ps, fa_strong, ps_strong, foreign)


def decide(s: LexiconScore) -> tuple[str, float] | None:
    """Return ("fa"|"ps", confidence) when the evidence is clear, else None.

    Clear means: a weight of at least 2 (two full words, or one and two shared ones) of
    which at least one full-weight word, a lead of at least 1 over the other language,
    and foreign evidence well below the winner's weight.
    """
    if s.fa >= s.ps:
        lang, top, strong, other = "fa", s.fa, s.fa_strong, s.ps
    else:
        lang, top, strong, other = "ps", s.ps, s.ps_strong, s.fa
    if strong < 1 or top < 2.0 or top - other < 1.0 or s.foreign * 2 >= top:
        return None
    # More margin, more confidence; capped because word lists are blunt instruments.
    confidence = min(0.9, 0.5 + 0.1 * (top - other) - 0.05 * s.foreign)
    return lang, round(confidence, 3)
