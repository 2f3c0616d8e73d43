"""Whole numbers read from a request's text (query strings, form fields), checked once.

Python's ``int`` takes any run of digits, Unicode digits among them ("²" passes ``isdigit`` and
then fails ``int``), and any size. A number wider than its column then fails inside the database
as a server error: SQLite holds at most a signed 64-bit integer, and PostgreSQL refuses to compare
an ``INTEGER`` column (every id, every count the portal pages by) with a value beyond 32 bits. A
number the portal reads from text is ASCII digits and fits the column it will meet; anything else
is no number at all, which every caller already treats as "absent".
"""

LARGEST_ID = 2**31 - 1
"""The largest value of an ``INTEGER`` column on PostgreSQL: ids, counts and page cursors."""
LARGEST_BIG_NUMBER = 2**63 - 1
"""The largest value of a ``BIGINT`` column on either database: byte sizes and offsets."""


def whole_number(text: str, largest: int = LARGEST_ID) -> int | None:
    """``text`` as a whole number from 0 to ``largest``, or ``None`` if it is not one."""
    if not text.isascii() or not text.isdigit() or len(text) > len(str(largest)):
        return None
    value = int(text)
    return value if value <= largest else None
