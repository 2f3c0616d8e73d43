"""Errors an operator can act on, as opposed to bugs.

The command line prints the message of an ``OperatorError`` as one line and exits with its
``exit_code``, without a traceback: the operator needs to know what to change, not where in the
code the problem was noticed. Anything else that escapes is a bug and keeps its traceback.
"""


class OperatorError(Exception):
    """A problem the operator can fix; the message says how."""

    exit_code = 1


class ConfigurationError(OperatorError):
    """A setting or instance file is missing or malformed; the portal refuses to start."""

    exit_code = 2


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, for a one-line report to the operator."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
