"""Typed access to the application's settings, instance secrets and encrypted storage.

The application factory attaches them once (:func:`attach`); a view asks for them by function
instead of reaching into ``current_app.extensions`` under a string key, so a typo is an
attribute error at import time and every caller gets the declared type.
"""

from dataclasses import dataclass

from flask import Flask, current_app

from portal.instance import InstanceFolder, InstanceSecrets
from portal.services.storage_quota import StorageLimits
from portal.services.submissions.submission_ids import SubmissionIds
from portal.settings import Settings
from portal.storage import EncryptedStorage

_EXTENSION_KEY = "parley.instance"


@dataclass(frozen=True)
class WebInstance:
    """The instance one application serves: its settings, its secrets and its storage folder."""

    settings: Settings
    secrets: InstanceSecrets
    storage: EncryptedStorage
    submission_ids: SubmissionIds


def attach(app: Flask, settings: Settings, secrets: InstanceSecrets) -> None:
    """Make the instance of ``settings`` and ``secrets`` the one ``app`` serves."""
    storage = EncryptedStorage(InstanceFolder(settings.instance_dir).storage_dir)
    ids = SubmissionIds.of_instance(secrets.at_rest_key, settings.form_lifetime_hours)
    app.extensions[_EXTENSION_KEY] = WebInstance(settings, secrets, storage, ids)


def web_instance(app: Flask | None = None) -> WebInstance:
    """The instance of ``app`` (default: the application handling the current request)."""
    return (app or current_app).extensions[_EXTENSION_KEY]


def app_settings() -> Settings:
    """The settings the current application was built from."""
    return web_instance().settings


def app_secrets() -> InstanceSecrets:
    """The current application's instance secrets (never stored in the database)."""
    return web_instance().secrets


def app_recovery_signing_key() -> bytes | None:
    """The recovery signing key new submissions name, as the instance folder records it."""
    return InstanceFolder(app_settings().instance_dir).load_recovery_signing_key()


def app_storage() -> EncryptedStorage:
    """The current application's encrypted storage folder."""
    return web_instance().storage


def app_submission_ids() -> SubmissionIds:
    """The issuer of the current application's form submission ids."""
    return web_instance().submission_ids


def app_storage_limits() -> StorageLimits:
    """The storage quota the current application keeps."""
    settings = app_settings()
    return StorageLimits(settings.storage_quota_bytes, settings.unclaimed_quota_bytes)
