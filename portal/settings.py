"""Configuration, read once from environment variables at start-up.

Every setting has a safe default, so a bare ``portal init && portal serve`` works on a laptop.
A setting that is present but malformed stops start-up with one line naming the variable and
what it should look like (exit status 2); a guessed fallback could put data somewhere the operator
did not intend. Values are never echoed back in those messages because a database URL may carry
a password.

| Variable | Default | Meaning |
|---|---|---|
| `PORTAL_INSTANCE_DIR` | `./instance` | folder for secrets, encrypted storage, SQLite file |
| `PORTAL_DATABASE_URL` | `sqlite:///<instance dir>/parley.sqlite3` | the database |
| `PORTAL_COOKIE_SECURE` | `true` | HTTPS-only cookies and HSTS |
| `PORTAL_ONION_ADDRESS` | unset | the portal's v3 onion service, announced to Tor Browser |
| `PORTAL_MAX_UPLOAD_BYTES` | `524288000` (500 MiB) | the attachments of one submission, in all |
| `PORTAL_STORAGE_QUOTA_BYTES` | `10737418240` (10 GiB) | all encrypted files in storage |
| `PORTAL_UNCLAIMED_UPLOAD_BYTES` | `2147483648` (2 GiB) | of which not yet sent with a form |
| `PORTAL_FORM_LIFETIME_HOURS` | `24` | how long a form's submission id stays valid |
| `PORTAL_MAX_REQUEST_BYTES` | `1048576` (1 MiB) | one request's body, where a route needs no more |
| `PORTAL_MAX_JSON_DEPTH` | `32` | how deeply a JSON body may nest arrays and objects |
| `PORTAL_ARGON2_SLOTS` | `2` | Argon2id derivations one worker process runs at once |
| `PORTAL_ARGON2_WAIT_SECONDS` | `0.5` | how long a request waits for a free Argon2 slot |
| `PORTAL_WORKERS` | `2` | worker processes of `portal serve` |
| `PORTAL_THREADS` | `32` | request threads in each worker process |
| `PORTAL_BODY_TIMEOUT_SECONDS` | `20` | how long a request body may stall before it is refused |
| `PORTAL_SMTP_HOST` | unset: no e-mail | the mail server staff digests go through |
| `PORTAL_SMTP_SECURITY` | `starttls` | `starttls`, `tls` (TLS from the start), `none` (loopback) |
| `PORTAL_SMTP_PORT` | 587, 465 with `tls`, 25 with `none` | the mail server's port |
| `PORTAL_SMTP_USER` | unset | the account to sign in to the mail server with, if it asks |
| `PORTAL_SMTP_PASSWORD` | unset | its password; set with the user or not at all |
| `PORTAL_SMTP_FROM` | none; required with a host | the sender address of the digests |

- ``PORTAL_INSTANCE_DIR`` is relative to the working directory at start-up. ``portal init``
  creates it (mode 0700) with ``secrets.json`` (mode 0600: Flask secret key, codename lookup
  pepper, at-rest key for TOTP secrets) and ``storage/``. It must be writable.
- ``PORTAL_DATABASE_URL`` is ``sqlite:///path/to/file`` or
  ``postgresql+psycopg://user:password@host:5432/name`` (``postgresql://`` is read as psycopg).
- ``PORTAL_COOKIE_SECURE``: set ``false`` only for a plain-http run on 127.0.0.1 (``make run``
  does). Accepts true/false, yes/no, on/off, 1/0.
- ``PORTAL_ONION_ADDRESS``: the host name of the portal's own v3 onion service (56 base32
  characters, the last one ``d``, then ``.onion``), optionally written with ``http://`` and a
  trailing slash. When set, public and submitter pages carry an ``Onion-Location`` header (onion
  origin plus the page's path) so Tor Browser offers the onion service, and session pages show
  the address. Onion services are reached over plain http: Tor itself authenticates and
  encrypts the connection. Unset, no header is sent.
- ``PORTAL_MAX_UPLOAD_BYTES``: a positive whole number of bytes: how much the files attached to
  one submission may hold together (their size before encryption). A form whose files pass it
  comes back with everything typed kept and the files dropped.
- ``PORTAL_STORAGE_QUOTA_BYTES``: a positive whole number of bytes: how much encrypted data
  the storage folder may hold in all (sent attachments, uploads in progress, files being received).
  ``PORTAL_UNCLAIMED_UPLOAD_BYTES`` is the part of it that files not yet sent with a submission
  may take, so that a flood of uploads nobody sends cannot keep submissions out; it must be at
  least ``PORTAL_MAX_UPLOAD_BYTES`` and at most the quota. Past either, an upload is refused
  (507) and nothing of it is kept (``portal.services.storage_quota``).
- ``PORTAL_FORM_LIFETIME_HOURS``: a whole number from 1 to 168: a form's submission id, issued
  by the server with the page, is accepted for at least this many hours and at most one more
  (``portal.services.submissions.submission_ids``). A form sent later comes back with a fresh id
  and everything typed.
- ``PORTAL_MAX_REQUEST_BYTES``: a whole number of bytes, at least 64 KiB (65536): the largest
  body any route takes unless it needs more for its purpose (an upload chunk, a sealed
  submission, a no-JavaScript form with its attachments: ``portal.web.request_limits``). A body
  announced as larger is refused with 413 before it is read.
- ``PORTAL_MAX_JSON_DEPTH``: a whole number from 2 to 256: how deeply a JSON request body may
  nest arrays and objects; the portal's scripts send at most 3 levels. Deeper bodies get a 400.
- ``PORTAL_ARGON2_SLOTS``: a whole number, at least 1: how many Argon2id derivations (64 MiB
  each) one worker process runs at once for staff sign-in, enrolment and passphrase changes;
  a request finding none free within ``PORTAL_ARGON2_WAIT_SECONDS`` (seconds, 0 or more) is
  answered 503 "busy". Both are per worker process, so memory is bounded by slots times workers.
- ``PORTAL_WORKERS`` (1 to 64) and ``PORTAL_THREADS`` (1 to 256): ``portal serve`` runs that
  many processes, each answering that many requests at once on its own threads, so a visitor
  who sends slowly holds one thread, not a whole process. ``--workers`` and ``--threads`` override
  them for one run. Each thread may hold one database connection: PostgreSQL must accept
  workers times threads connections besides those of the commands run beside the portal.
- ``PORTAL_BODY_TIMEOUT_SECONDS`` (1 to 3600): a request body that sends nothing for this long,
  or that after this long arrives slower than 1 KiB a second on average, is refused with 408
  and nothing of it is kept (``portal.slow_bodies``). A reverse proxy in front (docs/DEPLOYMENT.md)
  receives whole bodies before the portal sees them, and then this rarely applies.
- ``PORTAL_SMTP_*``: where ``portal digest send`` hands the staff digests over
  (``portal.services.staff.digests``). Without ``PORTAL_SMTP_HOST`` nothing is ever e-mailed and
  the command refuses to run. The connection is encrypted, with the server's certificate checked
  against the system's trusted authorities: ``starttls`` upgrades a plain connection (port 587)
  and gives up if the server cannot, ``tls`` speaks TLS from the first byte (port 465). ``none``
  sends in the clear and is accepted only for a host on this machine (``localhost`` or a
  loopback address), a local mail relay that encrypts onwards itself: a digest carries the
  recipient's address and the counts, which have no business crossing a network unencrypted.
  ``PORTAL_SMTP_USER`` and ``PORTAL_SMTP_PASSWORD`` go together. ``PORTAL_SMTP_FROM`` is a bare
  address (``parley@example.org``).
"""

import enum
import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from portal.errors import ConfigurationError

INSTANCE_DIR_VARIABLE = "PORTAL_INSTANCE_DIR"
DATABASE_URL_VARIABLE = "PORTAL_DATABASE_URL"
COOKIE_SECURE_VARIABLE = "PORTAL_COOKIE_SECURE"
ONION_ADDRESS_VARIABLE = "PORTAL_ONION_ADDRESS"
MAX_UPLOAD_BYTES_VARIABLE = "PORTAL_MAX_UPLOAD_BYTES"
STORAGE_QUOTA_VARIABLE = "PORTAL_STORAGE_QUOTA_BYTES"
UNCLAIMED_QUOTA_VARIABLE = "PORTAL_UNCLAIMED_UPLOAD_BYTES"
FORM_LIFETIME_VARIABLE = "PORTAL_FORM_LIFETIME_HOURS"
MAX_REQUEST_BYTES_VARIABLE = "PORTAL_MAX_REQUEST_BYTES"
MAX_JSON_DEPTH_VARIABLE = "PORTAL_MAX_JSON_DEPTH"
ARGON2_SLOTS_VARIABLE = "PORTAL_ARGON2_SLOTS"
ARGON2_WAIT_VARIABLE = "PORTAL_ARGON2_WAIT_SECONDS"
WORKERS_VARIABLE = "PORTAL_WORKERS"
THREADS_VARIABLE = "PORTAL_THREADS"
BODY_TIMEOUT_VARIABLE = "PORTAL_BODY_TIMEOUT_SECONDS"
SMTP_HOST_VARIABLE = "PORTAL_SMTP_HOST"
SMTP_SECURITY_VARIABLE = "PORTAL_SMTP_SECURITY"
SMTP_PORT_VARIABLE = "PORTAL_SMTP_PORT"
SMTP_USER_VARIABLE = "PORTAL_SMTP_USER"
SMTP_PASSWORD_VARIABLE = "PORTAL_SMTP_PASSWORD"  # noqa: S105 (a variable's name)
SMTP_FROM_VARIABLE = "PORTAL_SMTP_FROM"
_SMTP_DETAIL_VARIABLES = (
    SMTP_SECURITY_VARIABLE,
    SMTP_PORT_VARIABLE,
    SMTP_USER_VARIABLE,
    SMTP_PASSWORD_VARIABLE,
    SMTP_FROM_VARIABLE,
)

DEFAULT_INSTANCE_DIR_NAME = "instance"
DEFAULT_SQLITE_FILE_NAME = "parley.sqlite3"
DEFAULT_MAX_UPLOAD_BYTES = 500 * 1024 * 1024
DEFAULT_STORAGE_QUOTA_BYTES = 10 * 1024 * 1024 * 1024
DEFAULT_UNCLAIMED_QUOTA_BYTES = 2 * 1024 * 1024 * 1024
DEFAULT_FORM_LIFETIME_HOURS = 24
MAX_FORM_LIFETIME_HOURS = 7 * 24
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
SMALLEST_MAX_REQUEST_BYTES = 64 * 1024
DEFAULT_MAX_JSON_DEPTH = 32
JSON_DEPTH_RANGE = (2, 256)
DEFAULT_ARGON2_SLOTS = 2
DEFAULT_ARGON2_WAIT_SECONDS = 0.5
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 32
DEFAULT_BODY_TIMEOUT_SECONDS = 20
MAX_WORKERS = 64
MAX_THREADS = 256
MAX_BODY_TIMEOUT_SECONDS = 3600

_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0"})
_URL_SHAPES = "sqlite:///path/to/file or postgresql+psycopg://user@host:5432/name"
# A v3 onion name encodes 35 bytes (key, checksum, version 3) as 56 base32 characters; the
# version byte makes the last character "d".
_ONION_V3_HOST = re.compile(r"(?:http://)?([a-z2-7]{55}d\.onion)/?")


class SettingsError(ConfigurationError):
    """An environment variable is present but unusable."""


class SmtpSecurity(enum.StrEnum):
    """How the connection to the mail server is protected."""

    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


SMTP_DEFAULT_PORTS = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465, SmtpSecurity.NONE: 25}
# A bare address: something, one @, a domain with a dot; no display name, no spaces, no
# angle brackets (the header is written by the standard library from this).
_BARE_ADDRESS = re.compile(r"[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how digests are handed to a mail server; the password never shows in a repr."""

    host: str
    port: int
    security: SmtpSecurity
    from_address: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one portal process."""

    instance_dir: Path
    database_url: str
    cookie_secure: bool
    onion_origin: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    storage_quota_bytes: int = DEFAULT_STORAGE_QUOTA_BYTES
    unclaimed_quota_bytes: int = DEFAULT_UNCLAIMED_QUOTA_BYTES
    form_lifetime_hours: int = DEFAULT_FORM_LIFETIME_HOURS
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    argon2_slots: int = DEFAULT_ARGON2_SLOTS
    argon2_wait_seconds: float = DEFAULT_ARGON2_WAIT_SECONDS
    workers: int = DEFAULT_WORKERS
    threads: int = DEFAULT_THREADS
    body_timeout_seconds: int = DEFAULT_BODY_TIMEOUT_SECONDS
    smtp: SmtpSettings | None = None


def load_settings(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Read and check the settings; ``SettingsError`` names the first bad variable."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    instance_dir = _instance_dir(environ, cwd)
    max_upload_bytes = _positive_bytes(environ, MAX_UPLOAD_BYTES_VARIABLE, DEFAULT_MAX_UPLOAD_BYTES)
    storage_quota_bytes, unclaimed_quota_bytes = _storage_quotas(environ, max_upload_bytes)
    return Settings(
        instance_dir=instance_dir,
        database_url=_database_url(environ, instance_dir),
        cookie_secure=_cookie_secure(environ),
        onion_origin=_onion_origin(environ),
        max_upload_bytes=max_upload_bytes,
        storage_quota_bytes=storage_quota_bytes,
        unclaimed_quota_bytes=unclaimed_quota_bytes,
        form_lifetime_hours=_from_one_to(
            environ, FORM_LIFETIME_VARIABLE, DEFAULT_FORM_LIFETIME_HOURS, MAX_FORM_LIFETIME_HOURS
        ),
        max_request_bytes=_max_request_bytes(environ),
        max_json_depth=_max_json_depth(environ),
        argon2_slots=_argon2_slots(environ),
        argon2_wait_seconds=_argon2_wait_seconds(environ),
        workers=_from_one_to(environ, WORKERS_VARIABLE, DEFAULT_WORKERS, MAX_WORKERS),
        threads=_from_one_to(environ, THREADS_VARIABLE, DEFAULT_THREADS, MAX_THREADS),
        body_timeout_seconds=_from_one_to(
            environ, BODY_TIMEOUT_VARIABLE, DEFAULT_BODY_TIMEOUT_SECONDS, MAX_BODY_TIMEOUT_SECONDS
        ),
        smtp=_smtp(environ),
    )


def _present(environ: Mapping[str, str], name: str) -> str | None:
    """The variable's value, ``None`` when unset; set-but-blank is an error, not a default."""
    value = environ.get(name)
    if value is None:
        return None
    if not value.strip():
        raise SettingsError(f"{name} is set but empty; unset it to use the default")
    return value.strip()


def _instance_dir(environ: Mapping[str, str], cwd: Path) -> Path:
    value = _present(environ, INSTANCE_DIR_VARIABLE)
    path = cwd / DEFAULT_INSTANCE_DIR_NAME if value is None else cwd / Path(value).expanduser()
    path = Path(os.path.abspath(path))
    _require_writable_folder(path)
    return path


def _require_writable_folder(path: Path) -> None:
    """The instance folder must exist and be writable, or be creatable where it is named."""
    if path.exists():
        if not path.is_dir():
            raise SettingsError(f"{INSTANCE_DIR_VARIABLE}: {path} exists and is not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise SettingsError(f"{INSTANCE_DIR_VARIABLE}: the folder {path} is not writable")
        return
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise SettingsError(
            f"{INSTANCE_DIR_VARIABLE}: {path} cannot be created because {ancestor} is not a folder"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise SettingsError(
            f"{INSTANCE_DIR_VARIABLE}: {path} cannot be created because {ancestor} is not writable"
        )


def _database_url(environ: Mapping[str, str], instance_dir: Path) -> str:
    value = _present(environ, DATABASE_URL_VARIABLE)
    if value is None:
        default_file = instance_dir / DEFAULT_SQLITE_FILE_NAME
        return URL.create("sqlite", database=str(default_file)).render_as_string()
    try:
        url = make_url(value)
    except ArgumentError:
        raise SettingsError(
            f"{DATABASE_URL_VARIABLE} is not a database URL; expected {_URL_SHAPES}"
        ) from None
    if url.drivername in {"sqlite", "sqlite+pysqlite"}:
        if not url.database or url.database == ":memory:":
            raise SettingsError(
                f"{DATABASE_URL_VARIABLE} must name a SQLite file, not an in-memory database"
            )
    elif url.drivername in {"postgresql", "postgresql+psycopg"}:
        if not url.database:
            raise SettingsError(f"{DATABASE_URL_VARIABLE} must name the PostgreSQL database")
        url = url.set(drivername="postgresql+psycopg")
    else:
        raise SettingsError(
            f"{DATABASE_URL_VARIABLE} uses the unsupported driver {url.drivername!r}; "
            f"expected {_URL_SHAPES}"
        )
    return url.render_as_string(hide_password=False)


def _cookie_secure(environ: Mapping[str, str]) -> bool:
    value = _present(environ, COOKIE_SECURE_VARIABLE)
    if value is None:
        return True
    word = value.lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise SettingsError(f"{COOKIE_SECURE_VARIABLE} must be true or false")


def _onion_origin(environ: Mapping[str, str]) -> str | None:
    """``http://<name>.onion`` for a well-formed v3 onion address, ``None`` when unset."""
    value = _present(environ, ONION_ADDRESS_VARIABLE)
    if value is None:
        return None
    match = _ONION_V3_HOST.fullmatch(value.lower())
    if match is None:
        raise SettingsError(
            f"{ONION_ADDRESS_VARIABLE} must be a v3 onion address: 56 base32 characters "
            "then .onion, optionally after http://"
        )
    return f"http://{match.group(1)}"


def _positive_bytes(environ: Mapping[str, str], name: str, default: int) -> int:
    return _whole_number_within(
        environ, name, default, (1, None), "a positive whole number of bytes"
    )


def _storage_quotas(environ: Mapping[str, str], max_upload_bytes: int) -> tuple[int, int]:
    """The storage quota and its part for unclaimed uploads, which one form's files must fit."""
    quota = _positive_bytes(environ, STORAGE_QUOTA_VARIABLE, DEFAULT_STORAGE_QUOTA_BYTES)
    default_unclaimed = min(DEFAULT_UNCLAIMED_QUOTA_BYTES, quota)
    unclaimed = _positive_bytes(environ, UNCLAIMED_QUOTA_VARIABLE, default_unclaimed)
    if unclaimed > quota:
        raise SettingsError(f"{UNCLAIMED_QUOTA_VARIABLE} must not exceed {STORAGE_QUOTA_VARIABLE}")
    if max_upload_bytes > unclaimed:
        raise SettingsError(
            f"{MAX_UPLOAD_BYTES_VARIABLE} must not exceed {UNCLAIMED_QUOTA_VARIABLE} "
            f"(default: {DEFAULT_UNCLAIMED_QUOTA_BYTES} or the storage quota if smaller)"
        )
    return quota, unclaimed


def _max_request_bytes(environ: Mapping[str, str]) -> int:
    return _whole_number_within(
        environ,
        MAX_REQUEST_BYTES_VARIABLE,
        DEFAULT_MAX_REQUEST_BYTES,
        (SMALLEST_MAX_REQUEST_BYTES, None),
        f"a whole number of bytes, at least {SMALLEST_MAX_REQUEST_BYTES}",
    )


def _max_json_depth(environ: Mapping[str, str]) -> int:
    lowest, highest = JSON_DEPTH_RANGE
    return _whole_number_within(
        environ,
        MAX_JSON_DEPTH_VARIABLE,
        DEFAULT_MAX_JSON_DEPTH,
        JSON_DEPTH_RANGE,
        f"a whole number from {lowest} to {highest}",
    )


def _from_one_to(environ: Mapping[str, str], name: str, default: int, highest: int) -> int:
    return _whole_number_within(
        environ, name, default, (1, highest), f"a whole number from 1 to {highest}"
    )


def _whole_number_within(
    environ: Mapping[str, str],
    name: str,
    default: int,
    bounds: tuple[int, int | None],
    expected: str,
) -> int:
    """The variable as a whole number within ``bounds`` (no upper one for ``None``)."""
    value = _present(environ, name)
    if value is None:
        return default
    lowest, highest = bounds
    number = int(value) if value.isascii() and value.isdigit() else -1
    if number < lowest or (highest is not None and number > highest):
        raise SettingsError(f"{name} must be {expected}")
    return number


def _argon2_slots(environ: Mapping[str, str]) -> int:
    return _whole_number_within(
        environ,
        ARGON2_SLOTS_VARIABLE,
        DEFAULT_ARGON2_SLOTS,
        (1, None),
        "a whole number of at least 1",
    )


def _argon2_wait_seconds(environ: Mapping[str, str]) -> float:
    value = _present(environ, ARGON2_WAIT_VARIABLE)
    if value is None:
        return DEFAULT_ARGON2_WAIT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not math.isfinite(seconds) or seconds < 0:
        raise SettingsError(f"{ARGON2_WAIT_VARIABLE} must be a number of seconds, 0 or more")
    return seconds


def _smtp(environ: Mapping[str, str]) -> SmtpSettings | None:
    """The mail server's settings, ``None`` (no e-mail at all) when no host is set."""
    host = _present(environ, SMTP_HOST_VARIABLE)
    if host is None:
        # Half a configuration is a mistake to point out, not a reason to send nothing quietly.
        stray = [name for name in _SMTP_DETAIL_VARIABLES if environ.get(name) is not None]
        if stray:
            raise SettingsError(f"{stray[0]} is set but {SMTP_HOST_VARIABLE} is not")
        return None
    security = _smtp_security(environ)
    if security is SmtpSecurity.NONE and not _is_loopback(host):
        raise SettingsError(
            f"{SMTP_SECURITY_VARIABLE}=none is accepted only for a mail server on this machine "
            f"(localhost or a loopback address); use starttls or tls for {SMTP_HOST_VARIABLE}"
        )
    user = _present(environ, SMTP_USER_VARIABLE)
    # Taken as it is, spaces and all (``_present`` would strip them), but never empty.
    password = environ.get(SMTP_PASSWORD_VARIABLE)
    if password == "":
        raise SettingsError(
            f"{SMTP_PASSWORD_VARIABLE} is set but empty; unset it and {SMTP_USER_VARIABLE}"
        )
    if (user is None) != (password is None):
        raise SettingsError(
            f"{SMTP_USER_VARIABLE} and {SMTP_PASSWORD_VARIABLE} are set together or not at all"
        )
    from_address = _present(environ, SMTP_FROM_VARIABLE)
    if from_address is None or not _BARE_ADDRESS.fullmatch(from_address):
        raise SettingsError(
            f"{SMTP_FROM_VARIABLE} must be the digests' sender, a bare address like "
            "parley@example.org"
        )
    return SmtpSettings(
        host=host,
        port=_smtp_port(environ, security),
        security=security,
        from_address=from_address,
        user=user,
        password=password,
    )


def _smtp_security(environ: Mapping[str, str]) -> SmtpSecurity:
    value = _present(environ, SMTP_SECURITY_VARIABLE)
    if value is None:
        return SmtpSecurity.STARTTLS
    try:
        return SmtpSecurity(value.lower())
    except ValueError:
        raise SettingsError(f"{SMTP_SECURITY_VARIABLE} must be starttls, tls or none") from None


def _smtp_port(environ: Mapping[str, str], security: SmtpSecurity) -> int:
    value = _present(environ, SMTP_PORT_VARIABLE)
    if value is None:
        return SMTP_DEFAULT_PORTS[security]
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= 65535:
        raise SettingsError(f"{SMTP_PORT_VARIABLE} must be a TCP port, 1 to 65535")
    return int(value)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
