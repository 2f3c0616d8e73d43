"""The exceptions the crypto package raises.

Callers need to tell three situations apart, and only three:

* ``DecryptionError`` -- something handed to us (an envelope, a file, a wrapped key, a box) did not
  open. The right reaction is the same whatever the cause -- refuse the input and store nothing
  derived from it -- so callers catch this one type. Its message names the check that failed, for
  the operator's diagnosis; it never holds key material or plaintext. Answers to a client use one
  fixed wording instead, so that a forger learns nothing about which check stopped them.
* ``CodenameError`` -- a submitter typed a codename we cannot use. It is a ``ValueError`` whose
  message can be shown to that submitter; it never repeats the words typed, so it is safe to log.
* ``CryptoError`` -- the base of the first and of every other failure of this package, such as a
  key of the wrong length passed in by our own code.
"""


class CryptoError(Exception):
    """Base class of every error raised by the crypto package."""


class DecryptionError(CryptoError):
    """Input failed to authenticate or to parse; no part of it may be used."""


class RecoveryKeyError(CryptoError, ValueError):
    """The recovery key text typed by the operator is malformed or mistyped."""


class CodenameError(ValueError):
    """A codename typed by a submitter is not eight words from one shipped list."""
