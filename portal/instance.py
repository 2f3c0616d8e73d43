"""The instance folder: the secrets that must never live in the database, and encrypted storage.

Layout (created by ``portal init``)::

    <PORTAL_INSTANCE_DIR>/          mode 0700
        secrets.json                mode 0600, see below
        recovery-signing-key.json   mode 0600, the recovery signing key's public half
        storage/                    mode 0700, encrypted attachments
        parley.sqlite3              the database, unless PORTAL_DATABASE_URL points elsewhere,
        parley.sqlite3-wal, -shm    with its write-ahead log and the log's index (portal/db.py)

``secrets.json`` (docs/FORMATS.md, "Instance secrets") holds three values: the Flask secret key,
which signs the session cookie; the codename pepper, the key of the HMAC over submitters' login
secrets (and of staff sign-in bucket names); and the at-rest key, which seals TOTP secrets stored
in the database and the short-lived boxes the server hands out. Keeping them outside the
database means a stolen database dump alone cannot confirm a guessed codename nor produce a staff
member's second-factor codes. The portal refuses to start if the file is readable by anyone but
its owner.

``recovery-signing-key.json`` (docs/FORMATS.md, "Recovery signing key record") names the public
half of the recovery key's signing key, which new submissions name inside themselves as a
certifier of desk keys they may trust. It is kept here rather than in the database so that
someone who can only write the database cannot make new submissions trust a key of their own.
``portal init`` writes it; an older instance gets it from ``portal recovery record-signing-key``.
"""

import base64
import binascii
import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import crypto
from portal.errors import ConfigurationError, OperatorError

SECRETS_FILE_NAME = "secrets.json"
STORAGE_DIR_NAME = "storage"
SECRETS_FORMAT = "parley-instance-secrets-v1"
RECOVERY_SIGNING_KEY_FILE_NAME = "recovery-signing-key.json"
RECOVERY_SIGNING_KEY_FORMAT = "parley-recovery-signing-key-v1"
_SECRET_KEY_SIZE = 32


class InstanceNotInitialisedError(OperatorError):
    """The instance folder has no secrets file yet."""


@dataclass(frozen=True)
class InstanceSecrets:
    """The instance's secrets, as read from ``secrets.json``."""

    flask_secret_key: str
    codename_pepper: bytes
    at_rest_key: bytes

    @classmethod
    def generate(cls) -> "InstanceSecrets":
        """Fresh random secrets for a new instance."""
        return cls(
            flask_secret_key=crypto.random_token(_SECRET_KEY_SIZE),
            codename_pepper=crypto.new_symmetric_key(),
            at_rest_key=crypto.new_symmetric_key(),
        )


@dataclass(frozen=True)
class InstanceFolder:
    """Paths inside one instance folder and the operations on them."""

    path: Path

    @property
    def secrets_file(self) -> Path:
        return self.path / SECRETS_FILE_NAME

    @property
    def storage_dir(self) -> Path:
        return self.path / STORAGE_DIR_NAME

    @property
    def recovery_signing_key_file(self) -> Path:
        return self.path / RECOVERY_SIGNING_KEY_FILE_NAME

    def is_initialised(self) -> bool:
        """Whether ``portal init`` has written the secrets file here."""
        return self.secrets_file.exists()

    def create(self, secrets: InstanceSecrets) -> None:
        """Make the folder, the storage folder and the secrets file, each private to the owner.

        The secrets file is created exclusively: it is never silently replaced.
        """
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        self.storage_dir.mkdir(mode=0o700, exist_ok=True)
        document = {
            "format": SECRETS_FORMAT,
            "flask_secret_key": secrets.flask_secret_key,
            "codename_pepper": _encode(secrets.codename_pepper),
            "at_rest_key": _encode(secrets.at_rest_key),
        }
        descriptor = os.open(self.secrets_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")

    def record_recovery_signing_key(self, signing_public_key: bytes) -> None:
        """Write the recovery signing key's public half (replacing the file atomically)."""
        if len(signing_public_key) != crypto.SIGNING_PUBLIC_KEY_SIZE:
            raise ValueError("a recovery signing key is 32 bytes")
        document = {
            "format": RECOVERY_SIGNING_KEY_FORMAT,
            "public_key": bytes(signing_public_key).hex(),
        }
        draft = self.recovery_signing_key_file.with_suffix(".json.new")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
        os.replace(draft, self.recovery_signing_key_file)

    def load_recovery_signing_key(self) -> bytes | None:
        """The recorded recovery signing key, ``None`` on an instance that has not recorded it.

        Read afresh each time, so that a key the operator records reaches running workers."""
        try:
            text = self.recovery_signing_key_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError:
            raise ConfigurationError(f"{self.recovery_signing_key_file} is unreadable") from None
        try:
            document = json.loads(text)
            if document["format"] != RECOVERY_SIGNING_KEY_FORMAT:
                raise ValueError(document["format"])
            key = bytes.fromhex(document["public_key"])
            if len(key) != crypto.SIGNING_PUBLIC_KEY_SIZE:
                raise ValueError("wrong key size")
        except (ValueError, KeyError, TypeError):
            raise ConfigurationError(
                f"{self.recovery_signing_key_file} is malformed; run "
                "`portal recovery record-signing-key` again"
            ) from None
        return key

    def wipe(self) -> None:
        """Remove what ``create`` made, so that ``portal init --force`` can start afresh."""
        self.secrets_file.unlink(missing_ok=True)
        self.recovery_signing_key_file.unlink(missing_ok=True)
        if self.storage_dir.exists():
            shutil.rmtree(self.storage_dir)

    def load_secrets(self) -> InstanceSecrets:
        """Read and check the secrets file; refuse one that others can read."""
        if not self.is_initialised():
            raise InstanceNotInitialisedError(
                f"no Parley instance in {self.path}; run `portal init` first"
            )
        mode = stat.S_IMODE(self.secrets_file.stat().st_mode)
        if mode & 0o077:
            raise ConfigurationError(
                f"{self.secrets_file} is readable by other users (mode {mode:04o}); "
                "run `chmod 600` on it"
            )
        try:
            document = json.loads(self.secrets_file.read_text(encoding="utf-8"))
            if document["format"] != SECRETS_FORMAT:
                raise ValueError(document["format"])
            secrets = InstanceSecrets(
                flask_secret_key=_require_text(document["flask_secret_key"]),
                codename_pepper=_decode_key(document["codename_pepper"]),
                at_rest_key=_decode_key(document["at_rest_key"]),
            )
        except (OSError, ValueError, KeyError, TypeError, binascii.Error):
            raise ConfigurationError(
                f"{self.secrets_file} is unreadable or malformed; restore it from the backup"
            ) from None
        return secrets


def _encode(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _decode_key(text: str) -> bytes:
    value = base64.b64decode(text, validate=True)
    if len(value) != _SECRET_KEY_SIZE:
        raise ValueError("wrong key size")
    return value


def _require_text(value: object) -> str:
    if not isinstance(value, str) or len(value) < _SECRET_KEY_SIZE:
        raise ValueError("secret key too short")
    return value
