"""Filler words and review phrases compiled once into lookup tables.

A message costs the same to match against five fillers or five hundred: stripping looks up the
words at each end in one table per filler length, and finding a phrase looks up each word of
the message in a table of first words. (Before, every filler and every phrase was compared with
every message, and a file of 75,000 fillers made a long text take seconds.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

Words = tuple[str, ...]


class Fillers:
    """Filler phrases by length; strips them from both ends of a message's words."""

    __slots__ = ("_groups", "keys", "order")

    def __init__(self, fillers: Iterable[Words]) -> None:
        unique = dict.fromkeys(f for f in fillers if f)  # first occurrence, file order
        # Longest first; ties keep their order (the old loop's order, made deterministic).
        self.order: tuple[Words, ...] = tuple(sorted(unique, key=len, reverse=True))
        groups: dict[int, dict[Words, int]] = {}
        for filler in self.order:
            group = groups.setdefault(len(filler), {})
            group[filler] = len(group)
        self._groups = tuple(groups.items())  # (length, filler -> rank), longest first
        self.keys = frozenset(" ".join(f) for f in self.order)

    def __iter__(self) -> Iterator[Words]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)

    def strip(self, words: str) -> str:
        """Remove fillers from both ends, never the last word: 'please stop now' -> 'stop'.

        The result is that of trying every filler in turn (longest first, each at the front
        then at the back) until none applies; a table lookup finds the next one that does.
        """
        tokens = tuple(words.split())  # a tuple's slices are the tables' keys as they are
        lo, hi = 0, len(tokens)
        changed = True
        while changed and hi > lo:
            changed = False
            for size, rank in self._groups:
                after = 0  # fillers of this length ranked below `after` were tried this pass
                while size < hi - lo:
                    front = rank.get(tokens[lo : lo + size], -1)
                    back = rank.get(tokens[hi - size : hi], -1)
                    if front < after:
                        if back < after:
                            break
                        turn = back
                    else:
                        turn = front if back < after or front <= back else back
                    if front == turn:
                        lo += size
                        changed = True
                    if size < hi - lo and rank.get(tokens[hi - size : hi], -1) == turn:
                        hi -= size
                        changed = True
                    after = turn + 1
        return " ".join(tokens[lo:hi])


class Phrases:
    """Review phrases by first word; finds the earliest-listed phrase inside a message."""

    __slots__ = ("_first", "items")

    def __init__(self, phrases: Iterable[tuple[str, str]]) -> None:
        self.items = tuple((p, shown) for p, shown in phrases if p.split())
        # first word -> phrase length -> phrase words -> its place in the file
        self._first: dict[str, dict[int, dict[Words, int]]] = {}
        for index, (phrase, _) in enumerate(self.items):
            words = tuple(phrase.split())
            by_size = self._first.setdefault(words[0], {})
            by_size.setdefault(len(words), {}).setdefault(words, index)

    def __len__(self) -> int:
        return len(self.items)

    def find(self, words: str) -> tuple[str, str] | None:
        """The first phrase (in file order) found in `words` as whole words: (phrase, shown)."""
        tokens = tuple(words.split())
        best: int | None = None
        for i, token in enumerate(tokens):
            sizes = self._first.get(token)
            if sizes is None:
                continue
            for size, table in sizes.items():
                index = table.get(tokens[i : i + size])
                if index is not None and (best is None or index < best):
                    best = index
        return None if best is None else self.items[best]
