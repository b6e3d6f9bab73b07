"""Matching speed: 1,000 topics / 30,000 terms on 5,000-word German articles, and the shipped
topics on real pages: the matcher, the one it replaced (tests/match_before.py, same results) and
a naive one-regex-per-topic baseline, in the same run.

Usage (from the repository root, inside .venv):
    python bench/match/run.py [--topics 1000] [--terms-per-topic 30] [--articles 40]

Vocabulary and articles come from the real German pages in ../shared/data/pages (their
extracted text); without them, from a generated German-like vocabulary. Times are per article
on one core (this process, single-threaded); memory is the resident-set growth while compiling.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import re
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from monitor.config import load_topics
from monitor.document import Document
from monitor.extract import extract_text
from monitor.match import Matcher, Topic
from monitor.models import Article, Entry
from monitor.query import fold, parse, terms
from tests import match_before

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT.parent / "shared" / "data" / "pages"
WORD = re.compile(r"\w+")


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def page_texts() -> list[str]:
    texts = []
    for path in sorted(PAGES.glob("*.html")):
        text = extract_text(path.read_bytes(), "https://example.org/")
        if text:
            texts.append(text)
    return texts


def vocabulary(texts: list[str], rng: random.Random) -> list[str]:
    words = {w for text in texts for w in WORD.findall(text) if len(w) >= 4 and w.isalpha()}
    if len(words) < 5000:  # no real pages: German-like syllable words
        syllables = [
            "ber",
            "lin",
            "sch",
            "aft",
            "ung",
            "keit",
            "stra",
            "ße",
            "kö",
            "nig",
            "tru",
            "ppe",
            "land",
            "haus",
            "wirt",
            "rat",
            "mi",
            "nis",
            "ter",
            "ge",
            "setz",
            "ä",
        ]
        while len(words) < 20000:
            words.add("".join(rng.choices(syllables, k=rng.randint(2, 5))).capitalize())
    return sorted(words)


def generated_topics(vocab: list[str], count: int, per_topic: int, rng: random.Random) -> list[str]:
    """Each topic: three OR-groups of equal size, joined by AND; some prefixes and phrases.

    Like real watch topics, most terms are specific words that most articles lack: 90 % are
    made-up names, 10 % are words taken from the article corpus.
    """
    queries = []
    group = per_topic // 3
    syllables = [
        "kor",
        "ra",
        "ke",
        "ten",
        "waf",
        "fen",
        "sank",
        "tion",
        "trup",
        "pe",
        "mos",
        "kau",
        "pjöng",
        "jang",
        "gip",
        "fel",
        "ver",
        "trag",
        "sa",
        "tel",
        "lit",
    ]
    for _ in range(count):
        parts = []
        for _ in range(3):
            alternatives = []
            for _ in range(group):
                if rng.random() < 0.9:
                    word = "".join(rng.choices(syllables, k=rng.randint(3, 5))).capitalize()
                else:
                    word = rng.choice(vocab)
                roll = rng.random()
                if roll < 0.25:
                    alternatives.append(word.lower()[: max(4, len(word) - 2)] + "*")
                elif roll < 0.35:
                    alternatives.append(f'"{word} {rng.choice(vocab)}"')
                else:
                    alternatives.append(word)
            parts.append("(" + " OR ".join(alternatives) + ")")
        queries.append(" ".join(parts))
    return queries


def articles(
    vocab: list[str], texts: list[str], count: int, words: int, rng: random.Random
) -> list[str]:
    """Articles of `words` words: real page text repeated and shuffled by sentence when available."""
    out = []
    sentences = [s for text in texts for s in re.split(r"(?<=[.!?])\s+", text) if s]
    for _ in range(count):
        chosen: list[str] = []
        while sum(len(WORD.findall(s)) for s in chosen) < words:
            chosen.append(
                rng.choice(sentences) if sentences else " ".join(rng.choices(vocab, k=12)) + "."
            )
        out.append(" ".join(chosen))
    return out


class RegexBaseline:
    """The naive way: one compiled regex per OR-group of every topic, tried one after another."""

    def __init__(self, queries: list[str]) -> None:
        self.topics = []
        for query in queries:
            groups = re.findall(r"\(([^)]*)\)", query)
            compiled = []
            for group in groups:
                alternatives = []
                for alt in group.split(" OR "):
                    alt = alt.strip().strip('"')
                    words = [re.escape(fold(w)) for w in alt.rstrip("*").split()]
                    tail = r"\w*" if alt.endswith("*") else r"\b"
                    alternatives.append(r"\s+".join(words) + tail)
                compiled.append(re.compile(r"\b(?:" + "|".join(alternatives) + ")"))
            self.topics.append(compiled)

    def match(self, text: str) -> int:
        folded = " ".join(fold(w) for w in WORD.findall(text))
        return sum(1 for groups in self.topics if all(g.search(folded) for g in groups))


def timed(fn, items, repeat: int = 3) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for item in items:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            fn(item)
            best = min(best, time.perf_counter() - start)
        times.append(best * 1000)
    return times


def describe(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(times):.2f} ms, p95 {p95:.2f} ms, max {max(times):.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--terms-per-topic", type=int, default=30)
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--words", type=int, default=5000)
    args = parser.parse_args()
    rng = random.Random(20241216)

    print(
        f"bench/match run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()})"
    )
    print(
        "command: python bench/match/run.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items())
    )
    texts = page_texts()
    print(
        f"source text: {len(texts)} real pages from {PAGES}" if texts else "source text: generated"
    )
    vocab = vocabulary(texts, rng)
    queries = generated_topics(vocab, args.topics, args.terms_per_topic, rng)
    docs = articles(vocab, texts, args.articles, args.words, rng)
    word_counts = [len(WORD.findall(d)) for d in docs]

    gc.collect()
    before = rss_mib()
    start = time.perf_counter()
    topics = [Topic(f"t{i}", parse(q), ()) for i, q in enumerate(queries)]
    parsed = time.perf_counter() - start
    matcher = Matcher(topics)
    compiled = time.perf_counter() - start
    grown = rss_mib() - before
    total_terms = sum(len(terms(t.query)) for t in topics)
    print(
        f"\n{args.topics} topics, {total_terms} terms; articles of {min(word_counts)}-{max(word_counts)} words"
    )
    print(f"compile: {compiled:.2f} s (parse {parsed:.2f} s), resident memory +{grown:.0f} MiB")

    as_articles = [Article(Entry("bench", None, None, "", "", None), d, True) for d in docs]
    start = time.perf_counter()
    before = match_before.Matcher(topics)
    before_compile = time.perf_counter() - start
    for article in as_articles:  # same results, or the comparison means nothing
        assert matcher.match(article) == before.match(article)
    matcher.match(as_articles[0])  # loads NumPy, which the matcher imports when first used
    ours = timed(matcher.match, as_articles)
    prepare = timed(Document, as_articles)
    scan = timed(lambda a: matcher._scan(Document(a)), as_articles)
    theirs_before = timed(before.match, as_articles)
    hits = statistics.mean(len(matcher.match(a)) for a in as_articles)
    print(
        f"automaton, whole match: {describe(ours)} per article "
        f"({hits:.1f} topics matched on average, the same as before on every article)"
    )
    print(f"  of which tokenise + fold: {describe(prepare)}")
    print(f"  of which tokenise + fold + automaton scan: {describe(scan)}")
    print(
        f"the matcher before (tests/match_before.py): compile {before_compile:.2f} s, "
        f"{describe(theirs_before)} per article"
    )
    print(
        "ratio (before / now, medians): "
        f"{statistics.median(theirs_before) / statistics.median(ours):.1f}x"
    )

    start = time.perf_counter()
    baseline = RegexBaseline(queries)
    baseline_compile = time.perf_counter() - start
    theirs = timed(baseline.match, docs[: max(5, args.articles // 4)], repeat=1)
    print(f"regex per topic: compile {baseline_compile:.2f} s, {describe(theirs)} per article")
    print(
        f"ratio (regex / automaton, medians): {statistics.median(theirs) / statistics.median(ours):.0f}x"
    )

    shipped_topics = load_topics(ROOT / "config" / "topics.yaml", ["default"])
    shipped, shipped_before = Matcher(shipped_topics), match_before.Matcher(shipped_topics)
    if texts:
        real = [Article(Entry("bench", None, None, "", "", None), t, True) for t in texts]
        sizes = [len(WORD.findall(t)) for t in texts]
        times = timed(shipped.match, real)
        times_before = timed(shipped_before.match, real)
        print(
            f"\nshipped topics on {len(real)} real pages ({min(sizes)}-{max(sizes)} words, "
            f"median {statistics.median(sizes):.0f}): {describe(times)} per page; "
            f"before: {describe(times_before)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
