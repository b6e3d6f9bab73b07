"""Near-duplicates among the story window's articles: agency copy republished under a new
headline. MinHash over word 3-shingles of the text, looked up in a MinHash LSH index at Jaccard
`NEAR_DUPLICATE` (datasketch, imported when first needed: it brings SciPy, 0.3 s)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from monitor.query import fold

if TYPE_CHECKING:
    from datasketch import LeanMinHash, MinHash, MinHashLSH

NEAR_DUPLICATE = 0.5
NUM_PERM = 64
# Only the first words are shingled: a copy shows in them, and a huge page costs no more.
SHINGLE_WORDS = 3000

_WORD_CHARS = str.maketrans({c: " " for c in ".,;:!?\"'()[]«»„“”‚‘’–—/"})


def shingle_signature(text: str) -> MinHash:
    """Return the MinHash of the text's word 3-shingles (folded words)."""
    words = [fold(word) for word in text.translate(_WORD_CHARS).split()[:SHINGLE_WORDS]]
    shingles = {" ".join(words[i : i + 3]).encode() for i in range(max(1, len(words) - 2))}
    from datasketch import MinHash

    signature = MinHash(num_perm=NUM_PERM)
    signature.update_batch(list(shingles))
    return signature


@dataclass(slots=True)
class Copies:
    """The signatures of the window's articles, to find an article's nearest copy."""

    _signatures: dict[str, LeanMinHash] = field(default_factory=dict)
    _lsh: MinHashLSH | None = None  # built with the first signature

    def add(self, key: str, signature: MinHash) -> None:
        """Make an article findable as a copy (only its permutation-free signature is kept)."""
        from datasketch import LeanMinHash

        lean = LeanMinHash(signature)
        self._signatures[key] = lean
        self._index().insert(key, lean)

    def remove(self, key: str) -> None:
        """Forget an article."""
        if self._signatures.pop(key, None) is not None:
            self._index().remove(key)

    def nearest(self, signature: MinHash | None) -> str | None:
        """The key of the article most like `signature`, if any is a near-duplicate."""
        if signature is None or not self._signatures:
            return None
        best_id, best = None, NEAR_DUPLICATE
        for key in self._index().query(signature):
            if (score := signature.jaccard(self._signatures[key])) >= best:
                best_id, best = key, score
        return best_id

    def _index(self) -> MinHashLSH:
        if self._lsh is None:
            from datasketch import MinHashLSH

            self._lsh = MinHashLSH(threshold=NEAR_DUPLICATE, num_perm=NUM_PERM)
        return self._lsh
