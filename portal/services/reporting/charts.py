"""Bar charts drawn on the server as SVG, for the statistics pages and the session report.

No script draws anything in the browser: the chart is markup in the page, with a ``<title>`` and
a ``<desc>`` that screen readers announce, and every page shows the same figures as a table
beside it. Only shown figures other than 0 are drawn as bars; a hidden one
(``suppression.Mark``) is a word where its bar would be, at no length, so that a chart reveals
nothing its table does not. No ``style`` attribute or element is written (the
Content-Security-Policy allows styles from the stylesheet only): colours and sizes are
presentation attributes.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from portal.services.reporting.suppression import Figure, Mark

ROW_HEIGHT = 42  # a label on its own line, its bar under it: long theme names fit
LABEL_LINE = 10
BAR_HEIGHT = 14
BAR_WIDTH = 520
VALUE_GAP = 8
TOP = 4
WIDTH = BAR_WIDTH + 100
BAR_COLOUR = "#1f4e79"
TEXT_COLOUR = "#1a1a1a"


@dataclass(frozen=True)
class Bar:
    """One labelled figure of a chart."""

    label: str
    figure: Figure


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    mark_words: Mapping[Mark, str],
) -> Markup:
    """A horizontal bar chart of ``bars`` as inline SVG. ``chart_id`` makes the ids of its
    title and description unique in the page; ``mark_words`` says how a hidden figure reads."""
    longest = max((bar.figure.value or 0 for bar in bars), default=0)
    height = TOP * 2 + ROW_HEIGHT * len(bars)
    rows = [_row(index, bar, longest, mark_words) for index, bar in enumerate(bars)]
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    return Markup(  # noqa: S704 (every piece of text in it is escaped below)
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}">'
        f'<title id="{escape(title_id)}">{escape(title)}</title>'
        f'<desc id="{escape(desc_id)}">{escape(description)}</desc>'
        f"{''.join(rows)}</svg>"
    )


def _row(index: int, bar: Bar, longest: int, mark_words: Mapping[Mark, str]) -> str:
    top = TOP + ROW_HEIGHT * index
    label = _text(0, top + LABEL_LINE, bar.label)
    middle = top + 2 * LABEL_LINE + BAR_HEIGHT // 2 + 2
    value = bar.figure.value
    if value is None:
        return label + _text(0, middle, mark_words[bar.figure.mark], italic=True)
    if value == 0:
        return label + _text(0, middle, "0")
    length = max(1, round(BAR_WIDTH * value / longest))
    rect = (
        f'<rect x="0" y="{middle - BAR_HEIGHT // 2}" width="{length}" height="{BAR_HEIGHT}" '
        f'fill="{BAR_COLOUR}"/>'
    )
    return label + rect + _text(length + VALUE_GAP, middle, str(value))


def _text(x: int, y: int, words: str, *, italic: bool = False) -> str:
    slant = ' font-style="italic"' if italic else ""
    return (
        f'<text x="{x}" y="{y}" dominant-baseline="middle" font-size="12"{slant} '
        f'fill="{TEXT_COLOUR}">{escape(words)}</text>'
    )
