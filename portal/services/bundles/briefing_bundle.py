"""A session's briefing pack as an encrypted bundle, for the co-chairs' offline machine.

Unlike a bundle of submissions, which copies ciphertext and decrypts nothing, the briefing pack
is built for one reader on the server (``rounds.briefing``: what their grants open, what the
round's consent allows, the desk's points) and is then sealed *at once*, in the same request, to
the dialogue's current desk key and to the instance recovery key, and signed by the member who
made it (``staff_signatures``: their personal signing key, certified by that desk key). The
server keeps nothing of it: the ZIP goes to the browser from an anonymous temporary file.
``portal decrypt`` opens it on an offline machine with either key, checks the signature and
writes the document (``offline``). Format: docs/FORMATS.md, "Briefing bundle v1".
"""

import datetime as dt
import zipfile
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

import crypto
from portal.models import DialogueSession
from portal.services.audit.trail import AuditAction, record_event
from portal.services.bundles.export import desk_key_entry, instance_recovery_key
from portal.services.bundles.manifest import (
    BRIEFING_BUNDLE_FORMAT,
    BundleError,
    encode_bytes,
    write_whole_manifest,
)
from portal.services.contexts import briefing_bundle_context
from portal.services.desks import need_to_know
from portal.services.staff.staff_signatures import sign_as_staff
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.payload import encode_payload
from portal.translatable import translatable


def write_briefing_bundle(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    out: BinaryIO,
    *,
    document: str,
    pack: dict[str, Any],
    today: dt.date,
) -> None:
    """Seal ``document`` (the printable pack, one HTML file) and ``pack`` (its data) into a
    briefing bundle written to ``out``, and audit it (``briefing.bundle_exported``, ids only).

    ``BundleError`` when the maker holds no grant of the current desk key (they could not sign)
    or the instance has no recovery key; nothing is written to the database then.
    """
    dialogue = dialogue_session.dialogue
    try:
        desk_key, desk_private_key = need_to_know.open_current_desk_key(
            session, signed_in, dialogue
        )
    except (need_to_know.NotOnDeskError, need_to_know.DeskKeyUnavailableError):
        raise BundleError(
            translatable(
                "you hold no grant of this dialogue's current desk key, so the bundle cannot be "
                "sealed"
            )
        ) from None

    recovery_key = instance_recovery_key(session)
    author = signed_in.user
    context = briefing_bundle_context(
        dialogue.slug, dialogue_session.id, today.isoformat(), author.id
    )
    envelope = crypto.seal_envelope(
        encode_payload({"format": BRIEFING_BUNDLE_FORMAT, "document": document, "pack": pack}),
        [desk_key.public_key, recovery_key.public_key],
        context,
    )
    signed = sign_as_staff(
        signed_in.personal_key(),
        desk_private_key,
        slug=dialogue.slug,
        account=author.id,
        context=context,
        envelope=envelope,
    )
    manifest = {
        "format": BRIEFING_BUNDLE_FORMAT,
        "dialogue": dialogue.slug,
        "session": dialogue_session.id,
        "exported_on": today.isoformat(),
        "recovery_key_id": recovery_key.key_id.hex(),
        "desk_keys": [desk_key_entry(session, desk_key, recovery_key)],
        "briefing": {
            "desk_key_id": desk_key.key_id.hex(),
            "author_id": author.id,
            "author": author.display_name,
            "envelope": encode_bytes(envelope),
            "signature": encode_bytes(signed.signature),
            "author_signing_key": encode_bytes(signed.signing_key),
            "author_certificate": encode_bytes(signed.certificate),
        },
    }
    with zipfile.ZipFile(out, "w") as archive:
        write_whole_manifest(archive, today, manifest)
    record_event(
        session,
        action=AuditAction.BRIEFING_BUNDLE_EXPORTED,
        object_type="dialogue_session",
        object_id=dialogue_session.id,
        actor=author,
        dialogue=dialogue,
        details={"desk_key": desk_key.id},
    )
