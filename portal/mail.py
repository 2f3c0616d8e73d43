"""Handing one e-mail to the configured mail server (``PORTAL_SMTP_*``, ``portal.settings``).

Only staff digests are e-mailed (``portal.services.staff.digests``); submitters never are.
:class:`SmtpMailer` opens one connection per message: a digest run sends a handful, and a
connection that a refused or broken message left in an unknown state cannot then spoil the
next person's. Certificates are checked against the system's trusted authorities
(``ssl.create_default_context``); with ``starttls`` a server that does not offer it is an error,
never a quiet fall-back to plain text.

A failure is raised as :class:`MailNotSentError`, whose message names only the kind of failure
(the exception's class and, for a server's refusal, its SMTP code): the server's own words often
quote the recipient's address, which must not reach a log or a cron mail.
"""

import smtplib
import ssl
from email.message import EmailMessage

from portal.settings import SmtpSecurity, SmtpSettings

# How long one step of the conversation with the mail server may take before the send fails.
SMTP_TIMEOUT_SECONDS = 30


class MailNotSentError(Exception):
    """The mail server did not take the message; the message says how, without any address."""


class SmtpMailer:
    """Sends messages through the mail server ``settings`` names."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    @property
    def from_address(self) -> str:
        return self._settings.from_address

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over, or raise ``MailNotSentError``."""
        try:
            with self._connect() as connection:
                if self._settings.user is not None and self._settings.password is not None:
                    connection.login(self._settings.user, self._settings.password)
                connection.send_message(message)
        except smtplib.SMTPResponseException as error:
            raise MailNotSentError(f"{type(error).__name__} (SMTP {error.smtp_code})") from None
        except (smtplib.SMTPException, OSError) as error:
            raise MailNotSentError(type(error).__name__) from None

    def _connect(self) -> smtplib.SMTP:
        settings = self._settings
        if settings.security is SmtpSecurity.TLS:
            return smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=SMTP_TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )
        connection = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS)
        if settings.security is SmtpSecurity.STARTTLS:
            try:
                connection.starttls(context=ssl.create_default_context())
            except BaseException:
                connection.close()
                raise
        return connection
