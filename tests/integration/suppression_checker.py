"""A brute-force check that published figures let no count from 1 to 4 be worked back.

Independent of ``reporting.suppression`` on purpose: instead of its closed-form reasoning, this
enumerates every assignment of the hidden cells that a reader could not rule out -- "fewer than
5" is 1 to 4, "not shown" is 5 or more, a withheld cell anything -- under each table's linear
relations (every partition adds up to the total), and finds a small cell that only one
assignment value fits.
"""

import itertools
from collections.abc import Mapping

from portal.services.reporting.suppression import (
    CountTable,
    Figure,
    Mark,
    PublishedTable,
)


def small_counts_shown(published: PublishedTable) -> list[int]:
    """Shown figures from 1 to 4 (there must be none)."""
    figures = [
        published.total,
        *(f for cells in published.partitions.values() for f in cells.values()),
    ]
    return [f.value for f in figures if f.value is not None and 0 < f.value < 5]


def derivable_small_cells(table: CountTable, published: PublishedTable) -> list[str]:
    """The small cells of ``table`` a reader can pin to one value from what is published."""
    if published.total.value is None:
        # The total is hidden: every breakdown must be withheld, leaving no relation at all.
        return [
            f"{name}/{category}"
            for name, cells in published.partitions.items()
            for category, figure in cells.items()
            if figure.mark is not Mark.WITHHELD
        ]
    pinned = []
    for name, cells in published.partitions.items():
        for category, values in _possible_values(published.total.value, cells).items():
            if cells[category].mark is Mark.FEWER_THAN_5 and len(values) < 2:
                pinned.append(f"{name}/{category}={table.partitions[name][category]}")
            if cells[category].mark is Mark.WITHHELD:
                pinned.append(f"{name}/{category} withheld under a shown total")
    return pinned


def _possible_values(total: int, cells: Mapping[str, Figure]) -> dict[str, set[int]]:
    hidden = [category for category, figure in cells.items() if not figure.shown]
    remainder = total - sum(figure.value or 0 for figure in cells.values() if figure.shown)
    domains = [
        range(1, 5) if cells[category].mark is Mark.FEWER_THAN_5 else range(5, total + 1)
        for category in hidden
    ]
    possible: dict[str, set[int]] = {category: set() for category in hidden}
    for values in itertools.product(*domains):
        if sum(values) == remainder:
            for category, value in zip(hidden, values, strict=True):
                possible[category].add(value)
    return possible
