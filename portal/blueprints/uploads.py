"""The HTTP face of resumable uploads of browser-encrypted attachments (JSON, for scripts).

Rules and their reasons are in ``portal.services.submissions.uploads``; this module reads requests
and maps refusals to status codes. Every answer is JSON; every call after creation carries the
upload token in the ``X-Upload-Token`` header, and every call that changes something carries the
CSRF token in ``X-CSRFToken`` (checked by ``CSRFProtect`` before the view runs: the chunk body is
``application/octet-stream``, which Werkzeug does not parse, so the check leaves it unread).

    POST   /uploads                {"submission": public id, "size": ciphertext bytes}
           201 {"upload", "token", "size", "received": 0, "expires", "max_chunk_bytes"}
    GET    /uploads/<id>           (HEAD too) 200 {"size", "received", "complete"}
    PUT    /uploads/<id>?offset=n  body: ciphertext bytes   200 {"received"}
    POST   /uploads/<id>/complete  200 {"size", "received", "complete": true}
    DELETE /uploads/<id>           204

Refusals: 400 malformed, not a STREAM file or a form already sent, 404 unknown id, wrong token or
expired, 409 a replayed chunk with other bytes or a gap (with "received"), 410 a submission id
the server did not issue or that expired (fetch the form again), 411 no Content-Length, 413 over
a limit, 507 no room left in the storage quota; each as {"error": message}.
"""

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext
from sqlalchemy.orm import Session

from portal.i18n import refusal_text
from portal.models import Upload, utc_now
from portal.numbers import LARGEST_BIG_NUMBER, whole_number
from portal.services.submissions.uploads import (
    MAX_CHUNK_BYTES,
    UploadConflictError,
    UploadError,
    UploadFormExpiredError,
    UploadNotFoundError,
    UploadRefusedError,
    UploadStorageFullError,
    UploadTooLargeError,
    abandon_upload,
    append_chunk,
    complete_upload,
    create_upload,
    find_upload,
)
from portal.translatable import translatable
from portal.web.instance import (
    app_settings,
    app_storage,
    app_storage_limits,
    app_submission_ids,
)
from portal.web.request_limits import accepts_body
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint("uploads", __name__, url_prefix="/uploads")

TOKEN_HEADER = "X-Upload-Token"  # noqa: S105 - the name of a header, not a secret
_STATUS_OF_ERROR: dict[type[UploadError], int] = {
    UploadNotFoundError: 404,
    UploadRefusedError: 400,
    UploadTooLargeError: 413,
    UploadConflictError: 409,
    UploadFormExpiredError: 410,
    UploadStorageFullError: 507,
}


@blueprint.errorhandler(UploadError)
def _refused(error: UploadError) -> tuple[Response, int]:
    answer: dict[str, Any] = {"error": refusal_text(error)}
    if isinstance(error, UploadConflictError):
        answer["received"] = error.received_size
    return jsonify(answer), _STATUS_OF_ERROR[type(error)]


@blueprint.post("")
def create() -> tuple[Response, int]:
    request_body = request.get_json(silent=True)
    if not isinstance(request_body, dict):
        raise UploadRefusedError('send JSON: {"submission": public id, "size": bytes}')
    submission_public_id = request_body.get("submission")
    ciphertext_size = request_body.get("size")
    if not isinstance(submission_public_id, str) or type(ciphertext_size) is not int:
        raise UploadRefusedError('send JSON: {"submission": public id, "size": bytes}')
    with unit_of_work() as database:
        new = create_upload(
            database,
            app_storage(),
            ids=app_submission_ids(),
            limits=app_storage_limits(),
            submission_public_id=submission_public_id,
            ciphertext_size=ciphertext_size,
            budget_bytes=app_settings().max_upload_bytes,
            now=utc_now(),
        )
    answer = {
        "upload": new.upload.public_id,
        "token": new.token,
        "size": new.upload.ciphertext_size,
        "received": new.upload.received_size,
        "expires": new.upload.expires_at.isoformat(),
        "max_chunk_bytes": MAX_CHUNK_BYTES,
    }
    return jsonify(answer), 201


@blueprint.get("/<upload_id>")
def status(upload_id: str) -> Response:
    return jsonify(_state(_requested_upload(reading(), upload_id)))


@blueprint.put("/<upload_id>")
@accepts_body(MAX_CHUNK_BYTES)
def chunk(upload_id: str) -> Response:
    with unit_of_work() as database:
        upload = _requested_upload(database, upload_id)
        offset = whole_number(request.args.get("offset", ""), largest=LARGEST_BIG_NUMBER)
        if offset is None:
            raise UploadRefusedError(
                translatable("say where this chunk goes: ?offset=<bytes received so far>")
            )
        length = request.content_length
        if length is None:
            return _length_required()
        received = append_chunk(
            database, app_storage(), upload, offset=offset, body=request.stream, length=length
        )
    return jsonify({"received": received})


@blueprint.post("/<upload_id>/complete")
def complete(upload_id: str) -> Response:
    with unit_of_work() as database:
        upload = _requested_upload(database, upload_id)
        complete_upload(database, app_storage(), upload)
    return jsonify(_state(upload))


@blueprint.delete("/<upload_id>")
def abandon(upload_id: str) -> tuple[str, int]:
    with unit_of_work() as database:
        abandon_upload(database, app_storage(), _requested_upload(database, upload_id))
    return "", 204


def _requested_upload(database: Session, upload_id: str) -> Upload:
    token = request.headers.get(TOKEN_HEADER, "")
    return find_upload(database, upload_id, token, utc_now())


def _state(upload: Upload) -> dict[str, Any]:
    return {
        "size": upload.ciphertext_size,
        "received": upload.received_size,
        "complete": upload.complete,
    }


def _length_required() -> Response:
    response = jsonify({"error": gettext("a chunk must be sent with a Content-Length")})
    response.status_code = 411
    return response
