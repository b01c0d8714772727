"""Forms of the referral flow: sending one, and moving one on."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from . import municipalities
from .form_base import DirectoryForm
from .templating import country_name
from .i18n import autonym, supported_languages
from .personal_data import contains_personal_code
from .models import REFERRAL_STATUSES
from .referral_workflow import (
    CLIENT_CONTACT_MAX,
    CLIENT_NAME_MAX,
    DECLINE_REASON_LABELS,
    NEED_MAX,
    NOTE_MAX,
)


def no_personal_code(form, field) -> None:
    if contains_personal_code(field.data):
        raise ValidationError(_l("Do not write a personal code here: the centre does not need it."))


def _too_long(limit: int):
    return Length(max=limit, message=_l("Write at most %(max)d characters.", max=limit))


class ReferralForm(DirectoryForm):
    service_id = HiddenField(validators=[InputRequired()])
    client_name = StringField(
        _l("Client's first name or initials"),
        description=_l("No surname or personal code: the centre needs only to recognise the client."),
        validators=[DataRequired(_l("Write the client's first name or initials.")), _too_long(CLIENT_NAME_MAX),
                    no_personal_code],
    )
    client_contact = StringField(
        _l("How the centre can reach the client"),
        description=_l("A phone number or e-mail address, or “through me” if the centre should contact you."),
        validators=[DataRequired(_l("Write how the centre can reach the client.")), _too_long(CLIENT_CONTACT_MAX),
                    no_personal_code],
    )
    client_language = SelectField(
        _l("The client's language"),
        description=_l("The client's slip is printed in this language."),
        # The configured languages, each in its own name (asked per form).
        choices=lambda: [SelectChoice(code, autonym(code), render_kw={"lang": code}) for code in supported_languages()],
        validators=[InputRequired()],
    )
    need = TextAreaField(
        _l("What the client needs"),
        description=_l("Only what the centre needs to know to help."),
        validators=[DataRequired(_l("Describe what the client needs.")), _too_long(NEED_MAX), no_personal_code],
    )
    client_municipality = SelectField(
        _l("The client's municipality (optional)"),
        description=_l("To check that the service takes people from there. It is not sent to the centre."),
        choices=lambda: [SelectChoice("", _l("Not stated"))] + [
            SelectChoice(m.code, m.label, optgroup=country_name(country))
            for country in municipalities.COUNTRY_CODES for m in municipalities.all_municipalities(country)],
        invalid_choice_message=_l("Choose one of the listed options."),
        default="",
    )
    outside_area_confirmed = BooleanField(
        _l("Send it anyway: the centre has agreed to take this client"),
    )
    consent = BooleanField(
        _l("The client agrees that this information is sent to the centre."),
        validators=[DataRequired(_l("The client's consent is needed before anything about them is sent."))],
    )


class StatusForm(DirectoryForm):
    """The centre's answer, or the sender's withdrawal. `status` comes from the
    button pressed; `expected` is the status the page showed."""

    status = HiddenField(validators=[InputRequired(), Length(max=20)])
    expected = HiddenField(validators=[InputRequired(), Length(max=20)])
    reason = SelectField(
        _l("Reason for declining"),
        choices=[SelectChoice("", _l("Choose a reason"))]
        + [SelectChoice(code, label) for code, label in DECLINE_REASON_LABELS.items()],
        validate_choice=False,  # checked below: only a decline needs one
    )
    note = TextAreaField(
        _l("Note (optional)"),
        description=_l("Seen by the social worker and the centre. Write no more about the client than needed."),
        validators=[_too_long(NOTE_MAX), no_personal_code],
    )

    def validate_reason(self, field) -> None:
        if field.data and field.data not in DECLINE_REASON_LABELS:
            raise ValidationError(_l("Choose one of the reasons."))
        if self.status.data == "declined" and not field.data:
            raise ValidationError(_l("Choose why the referral is declined."))

    def validate_status(self, field) -> None:
        if field.data not in REFERRAL_STATUSES:
            raise ValidationError(_l("Unknown status."))
