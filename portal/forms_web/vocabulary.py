"""What people read for each choice on the forms, and for each refusal of a field.

The payload keeps stable identifiers and ``payload.PayloadError`` speaks in short English phrases
meant for developers and logs; a person filling in a form reads the translatable sentences here
instead, chosen by the field a refusal concerns, so that a new language never needs the service
layer to change and no message ever repeats what was typed.
"""

import re

from flask_babel import LazyString, lazy_gettext

from portal.models import Topic
from portal.services.submissions.payload import ConsentGiver, ConsentLevel, Urgency

TOPIC_LABELS: dict[Topic, LazyString] = {
    Topic.GENERAL_DEVELOPMENTS: lazy_gettext("General human-rights developments"),
    Topic.DEATH_PENALTY: lazy_gettext("Death penalty"),
    Topic.TORTURE_AND_ILL_TREATMENT: lazy_gettext("Torture and ill-treatment"),
    Topic.HUMAN_RIGHTS_DEFENDERS: lazy_gettext("Human-rights defenders"),
    Topic.FREEDOM_OF_EXPRESSION: lazy_gettext("Freedom of expression"),
    Topic.FREEDOM_OF_ASSEMBLY_AND_ASSOCIATION: lazy_gettext(
        "Freedom of peaceful assembly and association"
    ),
    Topic.FREEDOM_OF_RELIGION_OR_BELIEF: lazy_gettext("Freedom of religion or belief"),
    Topic.WOMEN_AND_GENDER_EQUALITY: lazy_gettext("Women's rights and gender equality"),
    Topic.CHILDREN: lazy_gettext("Rights of the child"),
    Topic.LGBTI: lazy_gettext("Rights of LGBTI persons"),
    Topic.MINORITIES_AND_INDIGENOUS_PEOPLES: lazy_gettext("Minorities and indigenous peoples"),
    Topic.MIGRANTS_AND_REFUGEES: lazy_gettext("Migrants, refugees and displaced people"),
    Topic.LABOUR_RIGHTS: lazy_gettext("Labour rights"),
    Topic.BUSINESS_AND_HUMAN_RIGHTS: lazy_gettext("Business and human rights"),
    Topic.ECONOMIC_SOCIAL_CULTURAL_RIGHTS: lazy_gettext("Economic, social and cultural rights"),
    Topic.DETENTION_AND_FAIR_TRIAL: lazy_gettext("Detention and fair trial"),
    Topic.MULTILATERAL_ENGAGEMENT: lazy_gettext(
        "Engagement at the UN: Human Rights Council, General Assembly, UPR, special procedures"
    ),
    Topic.GOOD_GOVERNANCE: lazy_gettext("Good governance"),
    Topic.RULE_OF_LAW: lazy_gettext("Rule of law"),
    Topic.INTERNATIONAL_HUMANITARIAN_LAW: lazy_gettext("International humanitarian law"),
}

CONSENT_LEVEL_LABELS: dict[ConsentLevel, LazyString] = {
    ConsentLevel.INTERNAL_ONLY: lazy_gettext(
        "Only as background for EU staff: the name is never mentioned to the government"
    ),
    ConsentLevel.RAISE_WITHOUT_NAME: lazy_gettext(
        "The situation may be raised with the government, without the name"
    ),
    ConsentLevel.RAISE_BY_NAME: lazy_gettext(
        "The case may be raised with the government by name during the session"
    ),
    ConsentLevel.HANDOVER_LIST: lazy_gettext(
        "The name may also go on the written list of cases handed to the government"
    ),
}

CONSENT_GIVER_LABELS: dict[ConsentGiver, LazyString] = {
    ConsentGiver.PERSON: lazy_gettext("The person themselves"),
    ConsentGiver.FAMILY: lazy_gettext("Their family"),
    ConsentGiver.REPRESENTATIVE: lazy_gettext("Their lawyer or another representative"),
}

URGENCY_LABELS: dict[Urgency, LazyString] = {
    Urgency.STANDARD: lazy_gettext("Not urgent: it can wait for the usual reading"),
    Urgency.URGENT: lazy_gettext("Urgent: someone is in danger now"),
}

_TOO_LONG = re.compile(r"must be at most (\d+) characters")
_TOO_MANY = re.compile(r"may hold at most (\d+)")
_CHOICE_MESSAGES: dict[str, LazyString] = {
    "level": lazy_gettext("Choose how far the EU may go with this person's name."),
    "given_by": lazy_gettext("Choose who gave consent."),
    "urgency": lazy_gettext("Choose how urgent this is."),
    "topic": lazy_gettext("Choose the agenda theme of this recommendation."),
}
_LIST_MINIMUM_MESSAGES: dict[str, LazyString] = {
    "persons": lazy_gettext("Name at least one person."),
    "recommendations": lazy_gettext("Write at least one recommendation."),
}


_FILL_IN = lazy_gettext("Fill this in.")
_RISKS_NOT_EXPLAINED = lazy_gettext(
    "Consent counts only once the risks were explained to whoever gave it: confirm that they were."
)
_NO_TOPIC = lazy_gettext("Choose at least one agenda theme from the list.")
_CHECK_FIELD = lazy_gettext("Check this field.")


def _too_long(limit: str) -> LazyString:
    return lazy_gettext("This is too long: at most %(limit)s characters.", limit=limit)


def _too_many(limit: str) -> LazyString:
    return lazy_gettext("There are too many rows: at most %(limit)s.", limit=limit)


def field_message(path: str, message: str) -> LazyString:
    """The sentence a person reads beside the field at ``path`` that the payload refused."""
    last = path.rsplit(".", 1)[-1]
    if message == "is required":
        return _FILL_IN
    if match := _TOO_LONG.fullmatch(message):
        return _too_long(match[1])
    if match := _TOO_MANY.fullmatch(message):
        return _too_many(match[1])
    if message.startswith("needs at least") and last in _LIST_MINIMUM_MESSAGES:
        return _LIST_MINIMUM_MESSAGES[last]
    if message.startswith("must be one of") and last in _CHOICE_MESSAGES:
        return _CHOICE_MESSAGES[last]
    if last == "risks_explained":
        return _RISKS_NOT_EXPLAINED
    if last == "topics":
        return _NO_TOPIC
    return _CHECK_FIELD


def browser_messages() -> dict[str, str]:
    """The sentences of :func:`field_message` for the form's script, which checks the form in
    the browser because the server cannot read a sealed submission; ``{limit}`` stands for the
    number the script fills in."""
    return {
        "required": str(_FILL_IN),
        "too_long": str(_too_long("{limit}")),
        "too_many": str(_too_many("{limit}")),
        "risks_explained": str(_RISKS_NOT_EXPLAINED),
        "topics": str(_NO_TOPIC),
        "other": str(_CHECK_FIELD),
        **{f"minimum.{key}": str(text) for key, text in _LIST_MINIMUM_MESSAGES.items()},
        **{f"choice.{key}": str(text) for key, text in _CHOICE_MESSAGES.items()},
    }


def size_text(size: int) -> LazyString:
    """A number of bytes as people read it: whole megabytes, or kilobytes below one megabyte."""
    if size >= 1024 * 1024:
        return lazy_gettext("%(number)s MB", number=size // (1024 * 1024))
    return lazy_gettext("%(number)s KB", number=-(-size // 1024))
