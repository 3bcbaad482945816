"""Language identification: what the acknowledgement and routing of a message depend on."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from gateway.language.identify import Detection, identify

EVAL = Path(__file__).parent / "data" / "langid" / "udhr_sms_chunks.jsonl"
CORE = ("ps", "fa", "uz", "tk", "en")
NEIGHBOURS = ("ur", "ar", "tg")


def _eval_rows() -> list[dict[str, str]]:
    with EVAL.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _labels_by_language() -> dict[str, list[str]]:
    predicted: dict[str, list[str]] = {}
    for row in _eval_rows():
        predicted.setdefault(row["lang"], []).append(identify(row["text"]).language)
    return predicted


def test_eval_set_core_languages_at_least_95_percent() -> None:
    predicted = _labels_by_language()
    print(f"\n{'lang':<5}{'n':>5}{'correct':>9}{'accuracy':>10}  confusions")
    for lang, labels in sorted(predicted.items()):
        correct = sum(label == lang for label in labels)
        wrong = Counter(label for label in labels if label != lang)
        print(f"{lang:<5}{len(labels):>5}{correct:>9}{correct / len(labels):>10.1%}  {dict(wrong)}")
    for lang in CORE:
        labels = predicted[lang]
        accuracy = sum(label == lang for label in labels) / len(labels)
        assert accuracy >= 0.95, f"{lang}: {accuracy:.1%}"


@pytest.mark.parametrize("lang", NEIGHBOURS)
def test_neighbours_are_not_taken_for_dari_or_pashto(lang: str) -> None:
    labels = _labels_by_language()[lang]
    stolen = sum(label in {"fa", "ps"} for label in labels) / len(labels)
    assert stolen <= 0.05, f"{lang} labelled fa/ps in {stolen:.1%}"


@pytest.mark.parametrize("text", ["", "   ", "123", "۱۲۳", "٣٤٥", "🙏🙏", "!!!", "\u200f", "ـــ"])
def test_nothing_to_go_on_is_undetermined(text: str) -> None:
    assert identify(text) == Detection("und", 0.0, "Zyyy", "empty")


@pytest.mark.parametrize("text", ["salam", "Salam!", "salam alaikum 🙏", "سلام", "السلام علیكم"])
def test_a_greeting_every_language_shares_is_undetermined(text: str) -> None:
    assert identify(text).language == "und"


@pytest.mark.parametrize("text", ["ok", "Hi", "I am Ahmad"])
def test_a_few_words_no_detector_agrees_on_are_undetermined(text: str) -> None:
    # CLD2 alone would say Dutch, Tsonga, Malay: worse for routing than no answer.
    assert identify(text).language == "und"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("زه د Jalalabad یم، school ته اړتیا لرو please help", "ps"),
        ("ما در Kunduz province هستیم و ceasefire می خواهیم", "fa"),
    ],
)
def test_dari_or_pashto_with_latin_words_keeps_its_language(text: str, lang: str) -> None:
    result = identify(text)
    assert (result.language, result.script) == (lang, "Arab")


def test_english_quoting_a_name_in_arabic_script_stays_english() -> None:
    assert identify("My name is احمد and I live in Kabul with my family").language == "en"


def test_bidi_marks_do_not_hide_dari() -> None:
    rlm = "\u200f"
    text = f"من{rlm} از هرات{rlm} هستم و ما صلح می\u200cخواهیم{rlm}"
    result = identify(text)
    assert (result.language, result.script) == ("fa", "Arab")


def test_pashto_written_with_arabic_yeh_is_pashto() -> None:
    # The Pashto UDHR translation and many keyboards write ي (U+064A) for ی/ې.
    text = "زه د کندهار يم او زما کور په ښار کي دي، مونږ سوله غواړو"
    assert "\u064a" in text
    assert identify(text).language == "ps"


@pytest.mark.parametrize("text", ["مکتب ګډوډ", "ټول خلک ښه دي، ګډ کار کوو"])
def test_pashto_letters_are_decisive(text: str) -> None:
    # "مکتب ګډوډ" (the school is a mess): CLD2 alone says Uzbek; ګ ډ say Pashto.
    assert identify(text).language == "ps"


DARI_LATIN = [
    "salam man az herat hastam, jang bas ast",
    "salam, ma az kabul hastim wa solh mekhahim",
    "tashakor az shoma, khob hastam",
    "chetor hasti? ma dar mazar hastim, amniyat nist",
    "lotfan ba ma komak konid, maktab dar qarya nist",
    "man mekhaham ke dukhtaram ba maktab bura",
    "dolat ba mardom gosh nemete, ma solh mekhahim",
    "bacha haye ma maktab nadarim, lotfan komak konid",
    "Salam alaikum, man az Badakhshan hastam. Ab nist",
    "baraye zanan kar nist, chera?",
    "man az bamyan hastam, rah ha basta ast",
    "maktab dokhtara baz shawa",  # "let the girls' school open": used to come back Uzbek
]

PASHTO_LATIN = [
    "za da kandahar yam, mung sola ghwaro",
    "salam, zma num ahmad dey, za pa helmand ki yam",
    "mung sola ghwaru, jagra bas da",
    "manana, sta dera manana",
    "Staray ma shay, tasu sanga yast?",
    "zamung kali ta school pakar dey, manana",
    "mung da nangarhar na yu, oba nishta",
    "za ghwaram che zma lur school ta lar shi",
    "da jagre na mung stari shawi yu",
    "zma kor pa khost ki dey aw sarak band dey",
    "mung khpal haqoona ghwaro, sola ghwaro",
    "zmong pa kali ke obe nishta",  # "no water in our village": used to come back Tongan
]


@pytest.mark.parametrize("text", DARI_LATIN)
def test_romanised_dari_is_dari(text: str) -> None:
    result = identify(text)
    assert (result.language, result.script, result.method) == ("fa", "Latn", "lexicon")


@pytest.mark.parametrize("text", PASHTO_LATIN)
def test_romanised_pashto_is_pashto(text: str) -> None:
    result = identify(text)
    assert (result.language, result.script, result.method) == ("ps", "Latn", "lexicon")


ENGLISH = [
    "please stop the war",
    "we need a school in our village",
    "the road to the district is closed since monday",
    "my daughter cannot go to school anymore",
    "man, the situation here is bad, we have no water",
    "ma and pa are ok but my brother is missing",
    "hello, I am a teacher from kabul",
    "salam, we need help in kunduz",
    "Dari and Pashto speakers in our area want peace",
]


@pytest.mark.parametrize("text", ENGLISH)
def test_ordinary_english_stays_english(text: str) -> None:
    assert identify(text).language == "en"


UZBEK = [
    "Assalomu alaykum, bizning qishloqda maktab yo'q",
    "Yordam kerak, suv yo‘q",
    "Rahmat, men Mozori Sharifdan yozyapman",
    "Qizlarimiz maktabga bora olmaydi",
    "Men Jovzjondan, ishsizlik juda katta muammo",
    "Ассалому алайкум, бизга ёрдам керак",
    "Қишлоғимизда мактаб йўқ",
]

TURKMEN = [
    "Salam, biziň obamyzda mekdep ýok",
    "Biz parahatçylyk isleýäris",
    "Kömek gerek, suw ýok",
    "Sag boluň, men Andhoýdan ýazýaryn",
    "Gyzlarymyz mekdebe gidip bilmeýär",
]


@pytest.mark.parametrize("text", UZBEK)
def test_uzbek_is_uzbek_in_either_script(text: str) -> None:
    assert identify(text).language == "uz"


@pytest.mark.parametrize("text", TURKMEN)
def test_turkmen_is_turkmen(text: str) -> None:
    result = identify(text)
    assert (result.language, result.script) == ("tk", "Latn")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Салом, ба мо мактаб лозим аст", "tg"),
        ("Ман аз Душанбе ҳастам ва ҷанг намехоҳем", "tg"),
        ("Здравствуйте, нам нужна школа", "ru"),
        ("Спасибо большое", "ru"),
    ],
)
def test_cyrillic_uzbek_and_tajik_are_not_russian(text: str, lang: str) -> None:
    result = identify(text)
    assert (result.language, result.script) == (lang, "Cyrl")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("ما صلح می خواهیم", "fa"),
        ("هر کس حق دارد", "fa"),  # CLD2 alone says Urdu
        ("زه د کندهار یم", "ps"),
        ("ہم امن چاہتے ہیں", "ur"),
        ("لكل شخص الحق", "ar"),  # CLD2 alone says Urdu
    ],
)
def test_short_arabic_script_messages(text: str, lang: str) -> None:
    assert identify(text).language == lang


NOT_ROMANISED_DARI_OR_PASHTO = [
    "Ma ta pa ke dar az ba man",  # only words shared with other languages
    "I am man, ma man",
    "da da da",
    "saya mau ke pasar dan beli ikan di kota",
    "Men bu yerda man, ham siz ham biz",
]


@pytest.mark.parametrize("text", NOT_ROMANISED_DARI_OR_PASHTO)
def test_lexicon_needs_distinctive_words(text: str) -> None:
    assert identify(text).method != "lexicon"


def test_eval_set_other_languages_are_not_stolen_by_the_lexicon() -> None:
    stolen = [
        row["text"]
        for row in _eval_rows()
        if row["lang"] in {"en", "uz", "tk"} and identify(row["text"]).method == "lexicon"
    ]
    assert stolen == []


@pytest.mark.parametrize(
    "text", ["ok", "hello \ud800 there", "abc\x00def hello there", "a" * 5000, "سلام 🙏"]
)
def test_odd_input_gives_a_well_formed_answer(text: str) -> None:
    result = identify(text)
    assert 0.0 <= result.confidence <= 1.0
    assert result.method in {"empty", "script", "lexicon", "cld2", "langdetect", "prior", "weak"}
    assert len(result.script) == 4


def test_langdetect_path_is_deterministic() -> None:
    # Short Cyrillic goes to langdetect for a second opinion; its sampling is seeded.
    texts = ["Здравствуйте", "Нам нужна помощь в деревне", "sag bol dostum"]
    first = [identify(t) for t in texts]
    assert [identify(t) for t in texts] == first
