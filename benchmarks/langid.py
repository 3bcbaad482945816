"""Language identification: accuracy per language on the eval set, and cost per call.

Run from the repository root, either way:

    python benchmarks/langid.py
    python -m benchmarks.langid

Two views of the same data (tests/data/langid, UDHR articles 1-20 cut into SMS-sized chunks):
the chunks as they are (up to 160 characters), and each chunk's first ~30 characters cut at a
word boundary, which is closer to a real short SMS and is where the detectors start to fail.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "data" / "langid" / "udhr_sms_chunks.jsonl"
PREFIX_CHARS = 30
TIMING_PASSES = 20

# Short informal messages of the kinds the eval set lacks (romanised Dari/Pashto, greetings,
# one-word replies, short Russian). Several of them need langdetect's second opinion, which
# is what a webhook pays for in the worst case. Written for this benchmark, not real traffic.
SHORT_SMS = [
    "salam man az herat hastam, jang bas ast",
    "za da kandahar yam, mung sola ghwaro",
    "tashakor",
    "manana",
    "salam",
    "ok",
    "please stop the war",
    "Assalomu alaykum, bizning qishloqda maktab yo'q",
    "Salam, biziň obamyzda mekdep ýok",
    "Здравствуйте, нам нужна школа",
    "Привет",
    "Мо сулҳ мехоҳем",
    "ما صلح می خواهیم",
    "مونږ سوله غواړو",
    "سلام",
    "123",
    "🙏🙏",
]


def _load() -> list[tuple[str, str]]:
    with EVAL.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [(row["text"], row["lang"]) for row in rows]


def _prefix(text: str, chars: int) -> str:
    if len(text) <= chars:
        return text
    cut = text[:chars]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut


def _accuracy_table(title: str, samples: list[tuple[str, str]], identify: Any) -> None:
    totals: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    confusions: dict[str, Counter[str]] = {}
    methods: Counter[str] = Counter()
    for text, lang in samples:
        found = identify(text)
        totals[lang] += 1
        methods[found.method] += 1
        if found.language == lang:
            correct[lang] += 1
        else:
            confusions.setdefault(lang, Counter())[found.language] += 1
    print(f"\n{title}\n")
    print("| lang | n | correct | accuracy | mistaken for |")
    print("|---|---:|---:|---:|---|")
    for lang in sorted(totals, key=lambda lang: (-totals[lang], lang)):
        wrong = ", ".join(f"{k} {v}" for k, v in confusions.get(lang, Counter()).most_common())
        accuracy = correct[lang] / totals[lang]
        print(f"| {lang} | {totals[lang]} | {correct[lang]} | {accuracy:.1%} | {wrong} |")
    share = ", ".join(f"{m} {n}" for m, n in methods.most_common())
    print(f"\ndeciding evidence: {share}")


def _baseline_table(
    samples: list[tuple[str, str]], prefixes: list[tuple[str, str]], identify: Any
) -> None:
    """Accuracy of each detector alone next to the combination, to show what each adds."""
    import pycld2
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0  # only this benchmark process uses the global factory

    def cld2_alone(text: str) -> str:
        code = pycld2.detect(text, isPlainText=True, bestEffort=True)[2][0][1]
        return {"iw": "he", "zh-Hant": "zh"}.get(code, code)

    def langdetect_alone(text: str) -> str:
        try:
            return str(detect(text)).split("-")[0]
        except LangDetectException:
            return "und"

    detectors = {
        "identify": lambda text: identify(text).language,
        "CLD2 alone": cld2_alone,
        "langdetect alone": langdetect_alone,
    }
    print("\nAccuracy of each detector alone (chunks / first ~30 characters)\n")
    print("| lang | n | " + " | ".join(detectors) + " |")
    print("|---|---:|" + "---:|" * len(detectors))
    for lang in sorted({lang for _, lang in samples}):
        cells = []
        for detect_one in detectors.values():
            full = [detect_one(text) == lang for text, want in samples if want == lang]
            short = [detect_one(text) == lang for text, want in prefixes if want == lang]
            cells.append(f"{sum(full) / len(full):.0%} / {sum(short) / len(short):.0%}")
        n = sum(want == lang for _, want in samples)
        print(f"| {lang} | {n} | " + " | ".join(cells) + " |")


def _timing_row(label: str, texts: list[str], identify: Any) -> None:
    per_call: list[float] = []
    for _ in range(TIMING_PASSES):
        for text in texts:
            start = time.perf_counter_ns()
            identify(text)
            per_call.append((time.perf_counter_ns() - start) / 1000)
    per_call.sort()
    mean = statistics.fmean(per_call)
    p50 = per_call[len(per_call) // 2]
    p95 = per_call[int(len(per_call) * 0.95)]
    worst = per_call[-1]
    print(f"| {label} | {len(per_call)} | {mean:.0f} | {p50:.0f} | {p95:.0f} | {worst:.0f} |")


def main() -> None:
    if str(ROOT) not in sys.path:  # `python benchmarks/langid.py` from anywhere
        sys.path.insert(0, str(ROOT))
    from gateway.language.identify import identify, warm_up

    start = time.perf_counter()
    warm_up()
    print(f"langdetect profiles loaded once in {time.perf_counter() - start:.2f} s")

    samples = _load()
    prefixes = [(_prefix(text, PREFIX_CHARS), lang) for text, lang in samples]
    _accuracy_table(f"Eval set, chunks as given ({len(samples)} texts)", samples, identify)
    _accuracy_table(f"Eval set, first ~{PREFIX_CHARS} characters", prefixes, identify)
    _baseline_table(samples, prefixes, identify)

    print(f"\nTime per identify() call, µs ({TIMING_PASSES} passes, warm)\n")
    print("| texts | calls | mean | p50 | p95 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    _timing_row("eval chunks", [text for text, _ in samples], identify)
    _timing_row(f"first ~{PREFIX_CHARS} chars", [text for text, _ in prefixes], identify)
    _timing_row("short informal SMS", SHORT_SMS, identify)
    slow = _needing_langdetect(SHORT_SMS)
    _timing_row("of which langdetect consulted", slow, identify)
    print(f"\nlangdetect consulted for {len(slow)} of {len(SHORT_SMS)} short informal SMS")
    chunks = len(_needing_langdetect([text for text, _ in samples + prefixes]))
    print(f"langdetect consulted for {chunks} of {2 * len(samples)} eval chunks and prefixes")


def _needing_langdetect(texts: list[str]) -> list[str]:
    """The texts for which identify() runs langdetect (counted by wrapping its factory)."""
    from gateway.language import identify as module

    runs = 0
    original = module._langdetect_factory

    def counting() -> Any:
        nonlocal runs
        runs += 1
        return original()

    module._langdetect_factory = counting  # type: ignore[assignment]
    try:
        result = []
        for text in texts:
            before = runs
            module.identify(text)
            if runs > before:
                result.append(text)
    finally:
        module._langdetect_factory = original  # type: ignore[assignment]
    return result


if __name__ == "__main__":
    main()
