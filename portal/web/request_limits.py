"""How much a request may send, decided before anything reads its body.

Every route takes at most ``PORTAL_MAX_REQUEST_BYTES`` (Flask's ``MAX_CONTENT_LENGTH``): a body
announced as larger is refused with 413 before a byte of it is read, and one sent without a
length is cut off there. The few routes that need more say so on the view with
:func:`accepts_body`; the allowance is applied before any other hook runs, because the CSRF check
already holds the body to it: it opens a form's body, which is where Werkzeug enforces the limit,
and refuses any other body announced over it (:func:`refuse_announced_excess`). The no-JavaScript
forms parse their multipart bodies themselves, files encrypted as they arrive, under the
submission's attachment budget (``portal.forms_web.uploads``). Form fields stay within Flask's
``MAX_FORM_MEMORY_SIZE`` and ``MAX_FORM_PARTS`` defaults.

Numbers in query strings and form fields, read with ``.get(name, type=int)``, are whole numbers
that fit an ``INTEGER`` column (``portal.numbers``), or absent.

JSON bodies are read by :class:`portal.web.json_bodies.BoundedJSONProvider`, with the depth limit
of ``PORTAL_MAX_JSON_DEPTH``.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Request, current_app, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.http import parse_cookie
from werkzeug.utils import cached_property

from portal.numbers import whole_number
from portal.settings import Settings
from portal.web.json_bodies import BoundedJSONProvider

_ALLOWANCE_ATTRIBUTE = "parley_body_allowance"
_View = TypeVar("_View", bound=Callable[..., object])


def accepts_body(limit_bytes: int) -> Callable[[_View], _View]:
    """Let the decorated view take a body of up to ``limit_bytes`` instead of the app-wide limit;
    put it directly under the route decorator."""

    def mark(view: _View) -> _View:
        setattr(view, _ALLOWANCE_ATTRIBUTE, limit_bytes)
        return view

    return mark


class BoundedParameters(ImmutableMultiDict[str, str]):
    """Query and form parameters whose ``get(name, type=int)`` reads :func:`whole_number`.

    A name that is absent answers ``default`` at once: Werkzeug's ``get`` finds that out by
    raising and catching a ``KeyError`` that is an HTTP error, built anew each time, and the
    language parameter is looked for, and mostly absent, for every address a page builds
    (``portal.i18n``)."""

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:
        if key not in self:
            return default
        if type is not int:
            return super().get(key, default, type)
        number = whole_number(super().get(key))
        return default if number is None else number


class PortalRequest(Request):
    """Flask's request with :class:`BoundedParameters` for its query string and form, and its
    cookies read from where the server put them."""

    parameter_storage_class = BoundedParameters

    @cached_property
    def cookies(self) -> ImmutableMultiDict[str, str]:
        """Werkzeug's parse of the ``Cookie`` header, read from its one environ key: Werkzeug
        looks for every ``Cookie`` header by going through the whole environ, on every request
        that opens the session, and a WSGI server puts them all under ``HTTP_COOKIE``."""
        cookies = parse_cookie(self.environ.get("HTTP_COOKIE", ""), cls=self.dict_storage_class)
        return cookies  # type: ignore[return-value]


def init_app(app: Flask, settings: Settings) -> None:
    """Apply the limits of ``settings``; called before any other extension adds its hooks."""
    app.request_class = PortalRequest
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    provider = BoundedJSONProvider(app)
    provider.max_depth = settings.max_json_depth
    app.json = provider
    app.before_request(_apply_route_allowance)


def refuse_announced_excess(asked: Request) -> None:
    """413 when the request ``asked`` announces a body larger than it may send, without reading
    any of it (as Werkzeug refuses it when the body is first opened)."""
    announced, limit = asked.content_length, asked.max_content_length
    if announced is not None and limit is not None and announced > limit:
        raise RequestEntityTooLarge()


def _apply_route_allowance() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    allowance = getattr(view, _ALLOWANCE_ATTRIBUTE, None)
    if allowance is not None:
        request.max_content_length = allowance
