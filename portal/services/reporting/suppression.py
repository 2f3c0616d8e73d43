"""Small-cell suppression: the one rule every published count goes through.

A count from 1 to 4 can point at a person, so none is ever shown (**primary suppression**): it
reads "fewer than 5". Zero is shown as 0 (it points at nobody). That alone is not enough: a
published total minus the published cells beside it gives back a hidden one, so hidden cells are
protected by hiding more (**secondary suppression**). Everything here is a pure function of
counts, so that every page, CSV, chart and report derives the same figures from the same counts.

**What is published.** A :class:`CountTable` is one population's total and one or more
*partitions* of it (the same submissions by kind, by state, ...): in every partition the cells
add up to the total. The partitions share nothing but the total, and tables share nothing at all
(the pages never publish a sum over tables, such as a dialogue's total across its rounds, for
that reason). What a reader may know of a figure it cannot see:

- "fewer than 5" (:attr:`Mark.FEWER_THAN_5`): the value is 1, 2, 3 or 4;
- "not shown" (:attr:`Mark.NOT_SHOWN`): a cell of 5 or more hidden to protect a small one;
- "withheld" (:attr:`Mark.WITHHELD`): a whole breakdown is withheld, nothing of it is shown.

**The rule** (:func:`suppress_table`), knowing that a reader also knows the rule:

1. A total from 1 to 4 is "fewer than 5" and its breakdowns are withheld (any breakdown of a
   total below 5 is a breakdown of fewer than five people). A total of 0 shows zeros.
2. Otherwise the total is shown and each partition is protected on its own, exactly: with ``k``
   cells "fewer than 5", ``m`` cells "not shown" and the hidden remainder ``r`` (the total minus
   the shown cells), a reader learns that each small cell lies between ``lo`` and ``hi``
   (:func:`_small_cell_range`); the partition is safe when that range holds at least two values.
   While it does not, the next cell of 5 or more *in the partition's own order* becomes "not
   shown" -- taken in a fixed order rather than by size, so that which cell was taken tells a
   reader nothing more than "5 or more".
3. When a partition runs out of cells to hide and is still not safe, the whole table is withheld:
   the total reads "not shown" and every breakdown is withheld, so no relation is left to
   subtract from.

Cells that belong to no partition -- counts of topic tags, where one submission may carry several
-- are independent (:func:`suppress_cells`): primary suppression alone protects them, as no
published figure is their sum.

A round-to-round change (:func:`change`) is published only between two shown figures, so it says
nothing a reader could not compute from them; charts draw shown figures only.
"""

import enum
from collections.abc import Mapping
from dataclasses import dataclass

THRESHOLD = 5
"""The smallest count shown: every count from 1 to ``THRESHOLD - 1`` is hidden."""


class Mark(enum.StrEnum):
    """How a figure is published."""

    SHOWN = "shown"
    FEWER_THAN_5 = "fewer_than_5"
    NOT_SHOWN = "not_shown"
    WITHHELD = "withheld"


@dataclass(frozen=True)
class Figure:
    """A published figure: its value only when ``mark`` is ``SHOWN``."""

    mark: Mark
    value: int | None = None

    @property
    def shown(self) -> bool:
        return self.mark is Mark.SHOWN


WITHHELD = Figure(Mark.WITHHELD)
NOT_SHOWN = Figure(Mark.NOT_SHOWN)
FEWER_THAN_5 = Figure(Mark.FEWER_THAN_5)


@dataclass(frozen=True)
class CountTable:
    """The true counts of one population: its total and its partitions (name -> category ->
    count), each partition's counts adding up to the total. Categories keep their order."""

    total: int
    partitions: Mapping[str, Mapping[str, int]]

    def __post_init__(self) -> None:
        for name, cells in self.partitions.items():
            if any(count < 0 for count in cells.values()) or sum(cells.values()) != self.total:
                raise ValueError(f"partition {name!r} does not add up to the total")


@dataclass(frozen=True)
class PublishedTable:
    """What may be published of a :class:`CountTable`."""

    total: Figure
    partitions: Mapping[str, Mapping[str, Figure]]

    @property
    def withheld(self) -> bool:
        """Whether the breakdowns are withheld (a total below 5, or one that could not be
        protected)."""
        return any(
            figure.mark is Mark.WITHHELD
            for cells in self.partitions.values()
            for figure in cells.values()
        )


def is_small(count: int) -> bool:
    """Whether ``count`` is one that must never be shown (1 to 4)."""
    return 0 < count < THRESHOLD


def primary(count: int) -> Figure:
    """``count`` as shown under primary suppression alone."""
    return FEWER_THAN_5 if is_small(count) else Figure(Mark.SHOWN, count)


def suppress_cells(counts: Mapping[str, int]) -> dict[str, Figure]:
    """Independent counts (no published figure is their sum): primary suppression alone."""
    return {category: primary(count) for category, count in counts.items()}


def suppress_table(table: CountTable) -> PublishedTable:
    """What of ``table`` may be published (the rule of the module docstring)."""
    if table.total == 0:
        return PublishedTable(
            Figure(Mark.SHOWN, 0),
            {
                name: {c: Figure(Mark.SHOWN, 0) for c in cells}
                for name, cells in table.partitions.items()
            },
        )
    if is_small(table.total):
        return _withheld(table, FEWER_THAN_5)
    published: dict[str, dict[str, Figure]] = {}
    for name, cells in table.partitions.items():
        protected = _protect_partition(table.total, cells)
        if protected is None:
            return _withheld(table, NOT_SHOWN)
        published[name] = protected
    return PublishedTable(Figure(Mark.SHOWN, table.total), published)


def change(earlier: Figure, later: Figure) -> int | None:
    """The change from ``earlier`` to ``later``, only when both are shown."""
    if earlier.value is None or later.value is None:
        return None
    return later.value - earlier.value


def _withheld(table: CountTable, total: Figure) -> PublishedTable:
    return PublishedTable(
        total,
        {name: dict.fromkeys(cells, WITHHELD) for name, cells in table.partitions.items()},
    )


def _protect_partition(total: int, cells: Mapping[str, int]) -> dict[str, Figure] | None:
    """The partition with small cells hidden and, in the partition's order, as many cells of 5
    or more hidden as make it safe; ``None`` when hiding every one of them is not enough."""
    figures = {category: primary(count) for category, count in cells.items()}
    candidates = [category for category, count in cells.items() if count >= THRESHOLD]
    while not _is_safe(total, cells, figures):
        if not candidates:
            return None
        figures[candidates.pop(0)] = NOT_SHOWN
    return figures


def _is_safe(total: int, cells: Mapping[str, int], figures: Mapping[str, Figure]) -> bool:
    small = sum(1 for figure in figures.values() if figure.mark is Mark.FEWER_THAN_5)
    if small == 0:
        return True
    hidden_large = sum(1 for figure in figures.values() if figure.mark is Mark.NOT_SHOWN)
    remainder = total - sum(count for category, count in cells.items() if figures[category].shown)
    lo, hi = _small_cell_range(remainder, small, hidden_large)
    return hi > lo


def _small_cell_range(remainder: int, small: int, hidden_large: int) -> tuple[int, int]:
    """What a reader can tell of any one of ``small`` hidden cells (each 1 to 4) that add up,
    with ``hidden_large`` hidden cells of 5 or more, to ``remainder``: its least and greatest
    possible value. The others at their least leave it at most ``remainder - (small - 1) -
    5 * hidden_large``; with no large cell to take the rest, at least ``remainder - 4 * (small
    - 1)``."""
    largest = THRESHOLD - 1
    hi = min(largest, remainder - (small - 1) - THRESHOLD * hidden_large)
    lo = 1 if hidden_large else max(1, remainder - largest * (small - 1))
    return lo, hi
