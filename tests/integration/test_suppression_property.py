"""Small-cell suppression, property-based: on generated counts with many small cells, nothing
published shows a count from 1 to 4 or lets one be worked back (``tests/integration/
suppression_checker.py`` verifies each table's relations by brute force).
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.services.reporting.suppression import CountTable, suppress_table
from tests.integration.suppression_checker import derivable_small_cells, small_counts_shown

# Counts mostly small, sometimes not: the hard cases are small cells beside cells just over 5.
counts = st.one_of(st.integers(0, 4), st.integers(0, 9), st.integers(5, 14))


@st.composite
def count_tables(draw: st.DrawFn) -> CountTable:
    """A total with two to three partitions of it, each of two to five cells."""
    first = draw(st.lists(counts, min_size=2, max_size=5))
    total = sum(first)
    partitions = {"first": first}
    for index in range(draw(st.integers(1, 2))):
        size = draw(st.integers(2, 5))
        cuts = sorted(draw(st.lists(st.integers(0, total), min_size=size - 1, max_size=size - 1)))
        bounds = [0, *cuts, total]
        partitions[f"other{index}"] = [b - a for a, b in zip(bounds, bounds[1:], strict=False)]
    return CountTable(
        total,
        {name: {f"c{i}": v for i, v in enumerate(cells)} for name, cells in partitions.items()},
    )


@settings(max_examples=400, deadline=None)
@given(count_tables())
def test_no_small_count_is_shown_or_derivable(table: CountTable) -> None:
    published = suppress_table(table)
    assert small_counts_shown(published) == []
    assert derivable_small_cells(table, published) == []
