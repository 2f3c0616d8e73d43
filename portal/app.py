"""The application factory.

One function builds the whole application from validated settings, so that the server, the tests
and any other WSGI host get exactly the same thing: secrets from the instance folder, a database
at the newest schema revision, CSRF protection, translations and the security headers.
"""

import mimetypes
from collections.abc import Callable
from inspect import iscoroutinefunction
from typing import Any
from weakref import WeakKeyDictionary

from flask import Flask

from portal import db, i18n, schema, security, timefmt
from portal.blueprints import (
    admin,
    agenda,
    briefing,
    consent_requests,
    debrief,
    desk,
    forms,
    forms_sealed,
    handover,
    public,
    public_summary,
    quick_exit,
    reports,
    roadmap,
    session_record,
    sessions,
    staff,
    staff_access,
    staff_account,
    staff_export,
    staff_messages,
    submitter,
    submitter_sealed,
    uploads,
)
from portal.errors import OperatorError
from portal.forms_web import fields as form_fields
from portal.instance import InstanceFolder, InstanceSecrets
from portal.labels import choice_label, consent_level_label, label
from portal.privacy import ForgetClientDetails
from portal.resources import shipped_folder
from portal.services.rounds import staff_markdown
from portal.services.submissions import kinds
from portal.settings import Settings, load_settings
from portal.text_limits import TEXT_LIMITS
from portal.web import converters, error_answers, request_limits, routes
from portal.web import instance as web_instance
from portal.web.csrf_check import PortalCSRFProtect
from portal.web.notice_headings import notice_heading, notice_heading_words

TEMPLATES_DIR = shipped_folder("templates")

# The browser crypto module is an ES module; browsers refuse to run one served as anything but
# JavaScript, and Python's table does not know ``.mjs`` on every platform.
mimetypes.add_type("text/javascript", ".mjs")


class Portal(Flask):
    """Flask, logging what escapes every handler (an error in an ``after_request`` hook, in an
    error handler) as ``error_answers`` logs the rest: with the route's rule, not the path; and
    knowing which of its hooks and views are coroutine functions without asking each time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._coroutine_functions: WeakKeyDictionary[Callable[..., Any], bool] = WeakKeyDictionary()

    def log_exception(self, exc_info: Any) -> None:
        error_answers.log_unexpected(exc_info[1])

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's ``ensure_sync``, with ``inspect``'s answer remembered for each function.

        Flask asks whether a function is a coroutine function each time it calls a view or a
        hook, several times a request, and the answer never changes. It is remembered for as
        long as the function exists; a callable that takes no weak reference is asked about
        each time, as Flask does."""
        try:
            is_coroutine = self._coroutine_functions.get(func)
        except TypeError:  # not weakly referable
            return super().ensure_sync(func)
        if is_coroutine is None:
            is_coroutine = iscoroutinefunction(func)
            self._coroutine_functions[func] = is_coroutine
        return self.async_to_sync(func) if is_coroutine else func


class SchemaOutOfDateError(OperatorError):
    """The database is not at the schema revision this release expects."""


def check_instance_ready(settings: Settings, database: db.Database) -> InstanceSecrets:
    """Load the instance secrets and check the schema; raise an ``OperatorError`` if not ready."""
    secrets = InstanceFolder(settings.instance_dir).load_secrets()
    found = schema.database_state(database).revision
    expected = schema.head_revision()
    if found is None:
        raise SchemaOutOfDateError("the database has no Parley schema; run `portal init` first")
    if found != expected:
        raise SchemaOutOfDateError(
            f"the database schema is at revision {found}, this release needs {expected}; "
            "run `portal migrate`"
        )
    return secrets


def create_app(settings: Settings | None = None) -> Flask:
    """Build the portal for ``settings`` (default: read from the environment)."""
    settings = load_settings() if settings is None else settings
    database = db.Database(settings.database_url, connections=settings.threads)
    secrets = check_instance_ready(settings, database)

    app = Portal(
        "portal",
        template_folder=str(TEMPLATES_DIR),
        instance_path=str(settings.instance_dir),
    )
    app.config.update(
        SECRET_KEY=secrets.flask_secret_key,
        WTF_CSRF_ENABLED=True,
        # Flask-WTF's "strict" mode demands a Referer header on HTTPS, which our no-referrer
        # policy never sends; the token and the SameSite=Strict cookie carry the protection.
        WTF_CSRF_SSL_STRICT=False,
    )
    app.wsgi_app = ForgetClientDetails(app.wsgi_app)
    web_instance.attach(app, settings, secrets)

    converters.init_app(app)
    # Before the CSRF check: it reads a form's body, which must by then be under its limit.
    request_limits.init_app(app, settings)
    routes.init_app(app)
    error_answers.init_app(app)
    db.init_app(app, database)
    PortalCSRFProtect(app)
    i18n.init_app(app)
    timefmt.init_app(app)
    security.init_app(app, settings)
    staff_access.init_app(app)
    app.add_template_filter(label)
    app.add_template_filter(choice_label)
    app.add_template_filter(consent_level_label)
    app.add_template_filter(staff_markdown.render, "staff_markdown")
    app.add_template_global(kinds.declaration, "kind_declaration")
    app.add_template_global(kinds.CONSENT_VOCABULARIES, "consent_ladder")
    app.add_template_global(kinds.CONSENT_QUESTIONS, "consent_questions")
    app.add_template_global(form_fields.kind_json)
    app.add_template_global(TEXT_LIMITS, "text_limits")
    app.add_template_global(notice_heading)
    app.add_template_global(notice_heading_words)

    for blueprint in (
        public.blueprint,
        quick_exit.blueprint,
        forms.blueprint,
        forms_sealed.blueprint,
        submitter.blueprint,
        submitter_sealed.blueprint,
        staff.blueprint,
        handover.blueprint,
        roadmap.blueprint,
        staff_account.blueprint,
        staff_messages.blueprint,
        staff_export.blueprint,
        briefing.blueprint,
        desk.blueprint,
        consent_requests.blueprint,
        sessions.blueprint,
        agenda.blueprint,
        session_record.blueprint,
        debrief.blueprint,
        reports.blueprint,
        public_summary.blueprint,
        admin.blueprint,
        uploads.blueprint,
    ):
        app.register_blueprint(blueprint)
    return app
