"""The four forms without JavaScript: shown only when accepted, validated, stored sealed.

Runs on SQLite and PostgreSQL against a demo instance this module may write to. "Nothing
stored" is checked by counting the rows of every table (the sign-in throttle aside) and listing
the storage folder before and after.
"""

import re

from flask import Flask
from flask.testing import FlaskClient

import crypto
from portal.instance import InstanceFolder
from tests.conftest import DemoInstance
from tests.integration.forms_client import (
    codename_in,
    desk_private_key,
    identity_private_key,
    open_form,
    open_in_full,
    open_payload,
    open_session_url,
    post_form,
    row_counts,
    storage_listing,
    stored_submission,
)

REPRISAL_URL = "/dialogues/valdoria/reprisal-report"

INBOX_WAY_IN = '<a class="inbox-link" href="/inbox/sign-in">Sign in to your inbox</a>'
CASE_FIELDS = {
    "situation": "Arrested at a peaceful rally and held without charge.",
    "place": "Port Alder",
    "dates": "since 3 March",
    "relation_to_person": "colleague",
    "earlier_referrals": "UN Working Group on Arbitrary Detention, no reply yet",
    "persons.1.name": "Mira Okonkwo",
    "persons.1.consent.level": "raise_by_name",
    "persons.1.consent.given_by": "family",
    "persons.1.consent.risks_explained": "yes",
    "topics": ["human_rights_defenders", "detention_and_fair_trial"],
    "women_hrd": "yes",
    "contact_through_portal": "yes",
}
REPRISAL_FIELDS = {
    "what_happened": "Passport confiscated after speaking at the UN.",
    "when": "last week",
    "by_whom": "border police",
    "link_to_engagement": "Spoke at the Human Rights Council side event.",
    "urgency": "urgent",
    "gender_specific_risk": "yes",
}


def _errors(html: str) -> dict[str, str]:
    return dict(
        re.findall(r'<p class="field-error-message" id="field-([\w-]+)-error">(.*?)</p>', html)
    )


def test_session_forms_render_with_id_fingerprint_and_readers(
    app: Flask, client: FlaskClient
) -> None:
    for path in ("agenda-input", "individual-case", "seminar-recommendations"):
        form = open_form(client, open_session_url(app, path))
        assert crypto.fingerprint(b"\0" * 32) not in form.html
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", form.hidden["public_id"])
        assert form.hidden["csrf_token"]
        assert '<code class="fingerprint" dir="ltr">' in form.html
        assert "Only this dialogue's desk will read what you send" in form.html
        assert 'enctype="multipart/form-data"' in form.html
        assert 'type="file" id="field-attachments" name="attachments" multiple' in form.html
    assert open_form(client, REPRISAL_URL).hidden["public_id"]


def test_each_form_view_issues_a_fresh_public_id(app: Flask, client: FlaskClient) -> None:
    url = open_session_url(app, "individual-case")
    assert open_form(client, url).hidden["public_id"] != open_form(client, url).hidden["public_id"]


def test_closed_frozen_and_unknown_are_refused_but_reprisals_stay_open(
    app: Flask, client: FlaskClient
) -> None:
    page = client.get("/dialogues/elbaria-local").get_data(as_text=True)
    closed_id = re.search(r"/dialogues/elbaria-local/sessions/(\d+)", page)[1]
    page = client.get("/dialogues/marenland").get_data(as_text=True)
    frozen_id = re.search(r"/dialogues/marenland/sessions/(\d+)", page)[1]

    for path in ("agenda-input", "individual-case", "seminar-recommendations"):
        closed = client.get(f"/dialogues/elbaria-local/sessions/{closed_id}/{path}")
        assert closed.status_code == 409
        assert "consultation for this session is not open" in closed.get_data(as_text=True)
        frozen = client.get(f"/dialogues/marenland/sessions/{frozen_id}/{path}")
        assert frozen.status_code == 409
        assert client.get(f"/dialogues/valdoria/sessions/{closed_id}/{path}").status_code == 404
        assert client.get(f"/dialogues/elbaria-local/sessions/999999/{path}").status_code == 404
    assert client.get("/dialogues/elbaria-local/reprisal-report").status_code == 200
    frozen_reprisal = client.get("/dialogues/marenland/reprisal-report")
    assert frozen_reprisal.status_code == 409
    assert "This dialogue is frozen" in frozen_reprisal.get_data(as_text=True)
    assert client.get("/dialogues/nowhere/reprisal-report").status_code == 404


def test_posting_to_a_closed_consultation_stores_nothing(app: Flask, client: FlaskClient) -> None:
    form = open_form(client, open_session_url(app, "agenda-input"))
    page = client.get("/dialogues/elbaria-local").get_data(as_text=True)
    closed_id = re.search(r"/dialogues/elbaria-local/sessions/(\d+)", page)[1]
    form.url = f"/dialogues/elbaria-local/sessions/{closed_id}/agenda-input"
    before = row_counts(app)

    status, _ = post_form(client, form, {"situation": "x", "topics": "rule_of_law"})

    assert status == 409
    assert row_counts(app) == before


def test_individual_case_is_stored_sealed_to_desk_and_codename(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance
) -> None:
    form = open_form(client, open_session_url(app, "individual-case"))
    before = row_counts(app)

    status, html = post_form(client, form, CASE_FIELDS)

    assert status == 200, _errors(html)
    after = row_counts(app)
    assert after["submissions"] == before["submissions"] + 1
    assert after["submitters"] == before["submitters"] + 1
    submission = stored_submission(app, form.hidden["public_id"])
    codename_key = crypto.derive_codename_secrets(codename_in(html))
    own_key = crypto.derive_submission_keys(codename_key.key_seed, submission.public_id)
    assert submission.submitter_public_key == own_key.public_key_bytes()
    assert submission.submitter_public_key != codename_key.public_key_bytes()
    desk_key = desk_private_key(app, writable_demo_instance, "valdoria")
    identity_key = identity_private_key(app, writable_demo_instance, "valdoria")
    consent = {"level": "raise_by_name", "given_by": "family", "risks_explained": True}
    assert open_payload(submission, desk_key)["persons"] == [{"consent": consent}]
    payload = open_in_full(submission, desk_key, identity_key)
    assert payload == open_in_full(submission, own_key.private_key())
    assert payload["persons"] == [
        {
            "name": "Mira Okonkwo",
            "consent": {"level": "raise_by_name", "given_by": "family", "risks_explained": True},
        }
    ]
    for name in ("situation", "place", "dates", "relation_to_person", "earlier_referrals"):
        assert payload[name] == CASE_FIELDS[name]
    assert payload["topics"] == ["detention_and_fair_trial", "human_rights_defenders"]
    assert payload["women_hrd"] and payload["contact_through_portal"]
    assert not payload["share_with_member_states"] and not payload["gender_specific_risk"]
    assert submission.topic_tags == ["detention_and_fair_trial", "human_rights_defenders"]
    assert "Write it on paper" in html


def test_reprisal_report_without_persons_is_stored_urgent(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance
) -> None:
    form = open_form(client, REPRISAL_URL)

    status, html = post_form(client, form, REPRISAL_FIELDS)

    assert status == 200, _errors(html)
    submission = stored_submission(app, form.hidden["public_id"])
    assert submission.urgent and submission.session_id is None
    payload = open_payload(submission, desk_private_key(app, writable_demo_instance, "valdoria"))
    assert payload["persons"] == [] and payload["urgency"] == "urgent"
    assert payload["when"] == "last week" and payload["gender_specific_risk"] is True
    # The server names the recovery signing key the instance folder records, as the page does.
    recorded = InstanceFolder(writable_demo_instance.settings.instance_dir)
    assert payload["signatures"]["recovery_key"] == recorded.load_recovery_signing_key().hex()
    assert f'data-recovery-signing-key="{payload["signatures"]["recovery_key"]}"' in form.html


def test_agenda_input_and_seminar_recommendations_are_stored(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance
) -> None:
    desk_key = desk_private_key(app, writable_demo_instance, "valdoria")
    agenda = open_form(client, open_session_url(app, "agenda-input"))
    status, html = post_form(
        client, agenda, {"situation": "Shrinking space.", "topics": "freedom_of_expression"}
    )
    assert status == 200, _errors(html)
    assert (
        open_payload(stored_submission(app, agenda.hidden["public_id"]), desk_key)["situation"]
        == "Shrinking space."
    )

    seminar = open_form(client, open_session_url(app, "seminar-recommendations"))
    status, html = post_form(
        client,
        seminar,
        {
            "seminar": "Civil society seminar, Brussels",
            "recommendations.0.text": "Release all detained journalists.",
            "recommendations.0.addressee": "Government",
            "recommendations.0.topic": "freedom_of_expression",
            "recommendations.3.text": "Ratify the optional protocol.",
            "recommendations.3.addressee": "Parliament",
            "recommendations.3.topic": "multilateral_engagement",
        },
    )
    assert status == 200, _errors(html)
    payload = open_payload(stored_submission(app, seminar.hidden["public_id"]), desk_key)
    assert [r["addressee"] for r in payload["recommendations"]] == ["Government", "Parliament"]


def test_invalid_form_comes_back_whole_with_errors_by_the_fields(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance
) -> None:
    form = open_form(client, open_session_url(app, "individual-case"))
    fields = {**CASE_FIELDS, "relation_to_person": "", "persons.1.consent.given_by": ""}
    fields["persons.2.name"] = "Second <Person> & co"
    before, files_before = row_counts(app), storage_listing(writable_demo_instance)

    status, html = post_form(client, form, fields)

    assert status == 400
    assert row_counts(app) == before
    assert storage_listing(writable_demo_instance) == files_before
    errors = _errors(html)
    assert set(errors) == {
        "relation_to_person",
        "persons-1-consent-given_by",
        "persons-2-consent-level",
        "persons-2-consent-given_by",
        "persons-2-consent-risks_explained",
    }
    assert 'href="#field-relation_to_person"' in html
    assert 'href="#field-persons-2-consent-level"' in html
    assert (
        'id="field-relation_to_person" name="relation_to_person" value="" maxlength="200" '
        'aria-describedby="field-relation_to_person-error" aria-invalid="true"'
    ) in html
    assert 'value="Second &lt;Person&gt; &amp; co"' in html
    assert f">{CASE_FIELDS['situation']}</textarea>" in html
    assert 'value="Port Alder"' in html
    assert 'value="raise_by_name" checked' in html
    assert 'name="persons.1.consent.risks_explained" value="yes" checked' in html
    assert 'name="topics" value="human_rights_defenders" checked' in html
    assert 'name="women_hrd" value="yes" checked' in html
    assert 'name="share_with_member_states" value="yes">' in html
    assert f'name="public_id" value="{form.hidden["public_id"]}"' in html


def test_add_rows_keeps_everything_and_adds_empty_rows(app: Flask, client: FlaskClient) -> None:
    form = open_form(client, open_session_url(app, "individual-case"))
    assert 'name="person_rows" value="3"' in form.html
    before = row_counts(app)

    status, html = post_form(client, form, {**CASE_FIELDS, "action": "add_rows"})

    assert status == 200
    assert row_counts(app) == before
    assert 'name="person_rows" value="6"' in html
    assert 'name="persons.5.name"' in html and 'name="persons.6.name"' not in html
    assert 'value="Mira Okonkwo"' in html
    assert _errors(html) == {}


def test_seminar_add_rows_adds_five_recommendations(app: Flask, client: FlaskClient) -> None:
    form = open_form(client, open_session_url(app, "seminar-recommendations"))

    status, html = post_form(
        client, form, {"seminar": "Kept seminar", "recommendation_rows": "5", "action": "add_rows"}
    )

    assert status == 200
    assert 'name="recommendation_rows" value="10"' in html
    assert 'value="Kept seminar"' in html


def test_missing_csrf_token_is_refused_and_nothing_stored(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance
) -> None:
    form = open_form(client, open_session_url(app, "individual-case"))
    del form.hidden["csrf_token"]
    before, files_before = row_counts(app), storage_listing(writable_demo_instance)

    status, _ = post_form(
        client,
        form,
        {**CASE_FIELDS, "attachments": [(__import__("io").BytesIO(b"x" * 9000), "a.txt")]},
    )

    assert status == 400
    assert row_counts(app) == before
    assert storage_listing(writable_demo_instance) == files_before


def test_an_expired_page_comes_back_with_everything_typed_and_a_fresh_token(
    app: Flask, client: FlaskClient
) -> None:
    form = open_form(client, open_session_url(app, "individual-case"))
    form.hidden["csrf_token"] = "a-token-from-a-session-that-has-expired"
    before = row_counts(app)

    status, html = post_form(client, form, CASE_FIELDS)

    assert status == 400
    assert row_counts(app) == before
    assert "for your safety it expired" in html
    for name in ("situation", "place", "dates", "relation_to_person", "persons.1.name"):
        typed = CASE_FIELDS[name]
        assert f'value="{typed}"' in html or f">{typed}</textarea>" in html, name
    fresh = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
    form.hidden["csrf_token"] = fresh
    resent_status, _ = post_form(client, form, CASE_FIELDS)
    assert resent_status == 200
    assert row_counts(app) != before


def test_existing_codename_submits_again_under_the_same_pseudonym(
    app: Flask, client: FlaskClient
) -> None:
    first = open_form(client, REPRISAL_URL)
    _, html = post_form(client, first, REPRISAL_FIELDS)
    codename = codename_in(html)
    assert INBOX_WAY_IN in html  # the page ends with the way into the inbox
    second = open_form(client, open_session_url(app, "individual-case"))
    before = row_counts(app)

    status, html = post_form(
        client,
        second,
        {**CASE_FIELDS, "codename_choice": "existing", "codename": codename.upper()},
    )

    assert status == 200, _errors(html)
    assert "What you sent is stored" in html and 'id="codename"' not in html
    assert INBOX_WAY_IN in html
    assert row_counts(app)["submitters"] == before["submitters"]
    # Both are the codename's: its owner tags 0 and 1, and no column names the submitter.
    tag_key = crypto.owner_tag_key(crypto.derive_codename_secrets(codename).key_seed)
    stored = [stored_submission(app, form.hidden["public_id"]) for form in (first, second)]
    assert [(row.owner_tag, row.submitter_id) for row in stored] == [
        (crypto.owner_tag(tag_key, 0), None),
        (crypto.owner_tag(tag_key, 1), None),
    ]


def test_wrong_codename_keeps_the_form_and_stores_nothing(app: Flask, client: FlaskClient) -> None:
    form = open_form(client, open_session_url(app, "individual-case"))
    wrong = crypto.generate_codename("en")
    before = row_counts(app)

    status, html = post_form(
        client, form, {**CASE_FIELDS, "codename_choice": "existing", "codename": wrong}
    )

    assert status == 400
    assert row_counts(app) == before
    assert _errors(html) == {
        "codename": '<span class="visually-hidden">Error:</span> '
        "This codename does not open an inbox. Check each word and try again."
    }
    assert wrong not in html
    assert 'value="existing" checked' in html and 'value="Mira Okonkwo"' in html


def test_retyped_words_are_checked_without_the_codename_kept(
    app: Flask, client: FlaskClient
) -> None:
    _, html = post_form(client, open_form(client, REPRISAL_URL), REPRISAL_FIELDS)
    words = codename_in(html).split()
    token = re.search(r'name="token" value="([^"]+)"', html)[1]
    positions = [int(p) for p in re.findall(r'id="retype-word-(\d+)"', html)]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
    assert len(positions) == 2
    right = [words[p - 1].upper() for p in positions]

    def check(typed: list[str], check_token: str = token) -> tuple[int, str]:
        response = client.post(
            "/codename-check", data={"csrf_token": csrf, "token": check_token, "word": typed}
        )
        return response.status_code, response.get_data(as_text=True)

    assert "You have written it down" in check(right)[1]
    status, page = check([right[1], right[0]])
    assert status == 200 and "match: look again" in page
    assert 'id="codename"' not in page
    assert f'value="{token}"' in page
    assert check(right, token[:-4] + "AAAA")[0] == 400
    assert client.post("/codename-check", data={"token": token, "word": right}).status_code == 400
