"""Every pair of submissions, scored by the fingerprints they share, and the matching regions of
one pair.

A submission's fingerprints are winnowed from the k-grams of each segment of its student-written
code (a function, or a run of top-level statements) separately, so that no k-gram spans two
functions and the order of functions changes nothing. Left out are the k-grams of the starter
code (as MOSS leaves out a base file) and those found in more than ``common`` submissions of the
class (an idiom many students write, like MOSS's ``-m``).

The score of a pair is the Dice coefficient of the two sets, ``2 |A & B| / (|A| + |B|)``: 1 for
the same code, about a half when one student took half of the other's functions and wrote the
rest, and low when a small shared part sits among much code of each one's own.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from autograder.similarity import winnow
from autograder.similarity.student import Code, Starter
from autograder.similarity.tokens import Token

THRESHOLD = 0.6  # pairs scoring this or more are flagged (see docs/similarity.md)
COMMON = 10  # a fingerprint of more submissions than this (or a tenth of them) is an idiom


@dataclass
class Submission:
    student: str
    file: str  # relative to the class folder
    code: Code
    hashes: list[list[int]] = field(default_factory=list)  # per segment, every k-gram's hash
    prints: set[int] = field(default_factory=set)  # the winnowed fingerprints


@dataclass(frozen=True)
class Pair:
    a: int  # index into the submissions
    b: int
    score: float
    shared: int  # fingerprints in common
    of_a: float  # the share of a's fingerprints that b has too
    of_b: float


@dataclass
class Result:
    """A class compared: its submissions, every pair that shares a fingerprint, the files
    skipped, and the parameters."""

    assignment: str
    threshold: float
    submissions: list[Submission]
    pairs: list[Pair]
    skipped: list[tuple[str, str]]  # (name relative to the class folder, why)
    ignore: set[int] = field(default_factory=set)
    k: int = winnow.K
    w: int = winnow.W
    common: int = COMMON
    frequent: int = 0  # fingerprints left out as idioms
    crowded: list[str] = field(default_factory=list)  # students who lost half their prints so
    seconds: float = 0.0
    out: Path | None = None

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.score >= self.threshold]

    def names(self, pair: Pair) -> tuple[str, str]:
        return self.submissions[pair.a].student, self.submissions[pair.b].student


@dataclass(frozen=True)
class Match:
    """A run of tokens alike in both submissions: ``(segment, first, last)`` token indices."""

    a: tuple[int, int, int]
    b: tuple[int, int, int]

    @property
    def length(self) -> int:
        return self.a[2] - self.a[1] + 1


def fingerprint(student: str, file: str, code: Code, *, k: int = winnow.K,
                w: int = winnow.W) -> Submission:
    """A submission with the hashes of its k-grams and its winnowed fingerprints."""
    out = Submission(student, file, code)
    for segment in code.segments:
        hashes = winnow.kgram_hashes([t.norm for t in segment.tokens], k)
        out.hashes.append(hashes)
        for i in winnow.winnow(hashes, w):
            out.prints.add(hashes[i])
    return out


def starter_hashes(given: Starter, *, k: int = winnow.K) -> frozenset[int]:
    """Every k-gram hash of the starter code."""
    return frozenset(h for seq in given.sequences for h in winnow.kgram_hashes(seq, k))


def default_common(submissions: int) -> int:
    """How many submissions may share a fingerprint before it counts as an idiom: 10 (MOSS's
    default), or a tenth of a class of more than 100."""
    return max(COMMON, submissions // 10)


def frequent(submissions: list[Submission], common: int) -> set[int]:
    """The fingerprints of more than ``common`` submissions: idioms (or one source that many
    students share)."""
    count = Counter(h for s in submissions for h in s.prints)
    return {h for h, n in count.items() if n > common}


def crowded(submissions: list[Submission], ignore: set[int]) -> list[str]:
    """The students who lose more than half their fingerprints to ``ignore``."""
    return [s.student for s in submissions if len(s.prints & ignore) * 2 > len(s.prints)]


def pairs(submissions: list[Submission], ignore: set[int]) -> list[Pair]:
    """Every pair that shares a fingerprint, the most similar first (then by name)."""
    prints = [s.prints - ignore for s in submissions]
    holders: dict[int, list[int]] = defaultdict(list)
    for i, found in enumerate(prints):
        for h in found:
            holders[h].append(i)
    shared: Counter[tuple[int, int]] = Counter()
    for who in holders.values():
        for pair in combinations(who, 2):
            shared[pair] += 1
    out = []
    for (a, b), n in shared.items():
        size_a, size_b = len(prints[a]), len(prints[b])
        out.append(Pair(a, b, round(2 * n / (size_a + size_b), 4), n,
                        round(n / size_a, 4), round(n / size_b, 4)))
    out.sort(key=lambda p: (-p.score, -p.shared, submissions[p.a].student,
                            submissions[p.b].student))
    return out


def matches(a: Submission, b: Submission, ignore: set[int], *, k: int = winnow.K) -> list[Match]:
    """The regions alike in ``a`` and ``b``: maximal runs of k-grams that follow each other in
    both (greedy string tiling seeded by the k-grams), the longest first, none overlapping
    another in either submission."""
    in_b: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for seg, hashes in enumerate(b.hashes):
        for i, h in enumerate(hashes):
            if h not in ignore and len(in_b[h]) < 50:  # a k-gram repeated 50 times is noise
                in_b[h].append((seg, i))
    seeds = {(sa, ia, sb, ib) for sa, hashes in enumerate(a.hashes) for ia, h in enumerate(hashes)
             for sb, ib in in_b.get(h, ())}
    runs = []
    for sa, ia, sb, ib in seeds:
        if (sa, ia - 1, sb, ib - 1) in seeds:
            continue  # not the start of a run
        n = 1
        while (sa, ia + n, sb, ib + n) in seeds:
            n += 1
        runs.append(Match((sa, ia, ia + n + k - 2), (sb, ib, ib + n + k - 2)))
    runs.sort(key=lambda m: (-m.length, m.a, m.b))
    taken_a: set[tuple[int, int]] = set()
    taken_b: set[tuple[int, int]] = set()
    out = []
    for m in runs:  # the longest first; a run that overlaps a longer one keeps what is left
        free = [(m.a[0], m.a[1] + d) not in taken_a and (m.b[0], m.b[1] + d) not in taken_b
                for d in range(m.length)]
        start = None
        for d, ok in enumerate([*free, False]):
            if ok and start is None:
                start = d
            elif not ok and start is not None:
                if d - start >= k:  # shorter than a k-gram is no match
                    out.append(Match((m.a[0], m.a[1] + start, m.a[1] + d - 1),
                                     (m.b[0], m.b[1] + start, m.b[1] + d - 1)))
                    taken_a.update((m.a[0], m.a[1] + i) for i in range(start, d))
                    taken_b.update((m.b[0], m.b[1] + i) for i in range(start, d))
                start = None
    return sorted(out, key=lambda m: m.a)


def tokens_of(code: Code, region: tuple[int, int, int]) -> list[Token]:
    segment, first, last = region
    return code.segments[segment].tokens[first:last + 1]
