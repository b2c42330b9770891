"""Fingerprints of a token sequence by winnowing (Schleimer, Wilkerson and Aiken, "Winnowing:
local algorithms for document fingerprinting", SIGMOD 2003), the method of MOSS.

Every run of ``k`` consecutive tokens (a *k-gram*) is hashed. Of each window of ``w`` consecutive
k-gram hashes, the smallest is kept (the rightmost of equal ones), once per position. Two
guarantees follow, with the guarantee threshold ``t = w + k - 1``:

- a match of ``t`` tokens or more between two sequences shares at least one fingerprint;
- a match shorter than ``k`` tokens (the noise threshold) shares none.

Hashes are the first 8 bytes of BLAKE2b: the same on every machine and every run (Python's own
``hash`` of a string changes from one process to the next).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

K = 9  # noise threshold: tokens in a k-gram
W = 4  # window: a match of K + W - 1 = 12 tokens (about one line) is always found


def kgram_hashes(norms: Sequence[str], k: int = K) -> list[int]:
    """The hash of each k-gram of ``norms``, in order (none if there are fewer than ``k``)."""
    return [int.from_bytes(hashlib.blake2b("\x1f".join(norms[i:i + k]).encode("utf-8"),
                                           digest_size=8).digest(), "big")
            for i in range(len(norms) - k + 1)]


def winnow(hashes: Sequence[int], w: int = W) -> list[int]:
    """The positions of the hashes that winnowing keeps, in order. A sequence shorter than one
    window keeps its smallest hash."""
    if not hashes:
        return []
    if len(hashes) <= w:
        return [min(range(len(hashes)), key=lambda i: (hashes[i], -i))]
    kept: list[int] = []
    for start in range(len(hashes) - w + 1):
        best = min(range(start, start + w), key=lambda i: (hashes[i], -i))
        if not kept or kept[-1] != best:
            kept.append(best)
    return kept
