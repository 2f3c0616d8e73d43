"""The offline side of a briefing bundle: ``portal decrypt`` checks who made it and writes it.

Called by ``offline`` once the keys are open (the desk key supplied, or every desk key through
the recovery key's grants). The pack is opened only after its maker's signature verifies with a
staff key certificate of the desk key it is sealed to, under the context this release builds from
the manifest's own fields (dialogue, session, day of export, maker): a re-dated, moved or
re-attributed pack stops the decryption like any envelope that does not open. What it writes is
specified in docs/FORMATS.md, "Briefing bundle v1": ``briefing.html``, the printable document,
readable in any browser with nothing fetched from elsewhere, and ``briefing.json``, its data.
"""

from dataclasses import dataclass
from typing import Any

import crypto
from portal.services.bundles.manifest import (
    BRIEFING_BUNDLE_FORMAT,
    BundleError,
    bytes_field,
    key_id_field,
    text_field,
)
from portal.services.contexts import briefing_bundle_context
from portal.services.staff.staff_signatures import StaffSignature, staff_signature_holds
from portal.services.submissions.payload import decode_payload

WHERE = "the briefing"


@dataclass(frozen=True)
class OpenedBriefing:
    """A briefing pack opened and checked: the document, its data, and who made it."""

    document: str
    pack: dict[str, Any]
    author: str | None
    author_id: int


def open_briefing(manifest: dict[str, Any], held: dict[str, crypto.PrivateKey]) -> OpenedBriefing:
    """Check and open the manifest's briefing with the desk keys ``held`` (module docstring)."""
    entry = manifest.get("briefing")
    if not isinstance(entry, dict):
        raise BundleError("the manifest holds no briefing")
    slug = text_field(manifest, "dialogue", "the manifest")
    session_id = _integer(manifest, "session", "the manifest")
    exported_on = text_field(manifest, "exported_on", "the manifest")
    author_id = _integer(entry, "author_id", WHERE)
    desk_private_key = held.get(key_id_field(entry, "desk_key_id", WHERE))
    if desk_private_key is None:
        raise BundleError("the briefing is sealed to a desk key that was not given")
    envelope = bytes_field(entry, "envelope", WHERE)
    context = briefing_bundle_context(slug, session_id, exported_on, author_id)
    signature = StaffSignature(
        bytes_field(entry, "signature", WHERE),
        bytes_field(entry, "author_signing_key", WHERE),
        bytes_field(entry, "author_certificate", WHERE),
    )
    if not staff_signature_holds(
        signature,
        desk_private_key,
        slug=slug,
        account=author_id,
        context=context,
        envelope=envelope,
    ):
        raise BundleError("the briefing's signature does not verify: it was tampered with")
    try:
        payload = decode_payload(crypto.open_envelope(envelope, desk_private_key, context))
    except (crypto.CryptoError, UnicodeDecodeError, ValueError):
        raise BundleError("the briefing does not open: tampered with or cut short") from None
    document, pack = payload.get("document"), payload.get("pack")
    if (
        payload.get("format") != BRIEFING_BUNDLE_FORMAT
        or not isinstance(document, str)
        or not isinstance(pack, dict)
    ):
        raise BundleError("the briefing opens to something that is not a briefing pack")
    author = entry.get("author")
    return OpenedBriefing(document, pack, author if isinstance(author, str) else None, author_id)


def _integer(entry: dict[str, Any], name: str, where: str) -> int:
    value = entry.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BundleError(f"{where} has no {name}")
    return value
