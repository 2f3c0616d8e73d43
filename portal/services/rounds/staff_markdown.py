"""Simple formatting in what staff write for a briefing: Markdown, rendered and then cleaned.

This is the one place in the product that turns staff-written text into HTML. The text is
rendered by markdown-it (CommonMark) with raw HTML switched off, links and images switched off
(a briefing is read offline and printed: no address is followed, nothing is fetched from
elsewhere), and the result is cleaned by bleach down to :data:`ALLOWED_TAGS` with no attribute
at all, so that neither a renderer bug nor a clever input can smuggle a script, a style, an event
handler or a ``javascript:`` address into a page, a print or an offline bundle. Link syntax is
shown as the text typed; headings of every level become the two levels allowed (``#``, ``##``
and ``###`` a fourth-level heading, deeper ones a fifth).
"""

import bleach
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "code", "pre", "h4", "h5"}
)
"""What survives cleaning: paragraphs, emphasis, lists, quotes, code and two heading levels (a
briefing point sits under the page's own headings, down to the fourth level)."""

_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_RENDERER.disable(["link", "image", "autolink", "html_inline", "html_block"])


def render(text: str) -> Markup:
    """``text`` as cleaned HTML, safe to put into a page as is."""
    tokens = _RENDERER.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = "h4" if token.tag in ("h1", "h2", "h3") else "h5"
    return clean(_RENDERER.renderer.render(tokens, _RENDERER.options, {}))


def clean(html: str) -> Markup:
    """``html`` cleaned down to :data:`ALLOWED_TAGS` with no attribute: what :func:`render`
    makes, and what a reader applies again to rendered HTML that reached it from elsewhere (a
    notice opened from its envelope), so that a page never trusts stored HTML as it is."""
    cleaned = bleach.clean(
        html, tags=ALLOWED_TAGS, attributes={}, protocols=[], strip=True, strip_comments=True
    )
    return Markup(cleaned)  # noqa: S704 (cleaned to the allow-list above, no attributes)
