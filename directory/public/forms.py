"""Forms residents fill in: reporting a problem with a listing, asking
to keep a centre's listing, and sending services to someone."""

from flask_babel import lazy_gettext as _l
from .. import claims, sharing
from ..form_base import REQUIRED, VALID_EMAIL, DirectoryForm
from ..i18n import autonym, supported_languages
from wtforms import EmailField, RadioField, SelectChoice, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, ValidationError

MAX_COMMENT = 2000


class ProblemReportForm(DirectoryForm):
    kind = RadioField(
        _l("What is wrong?"),
        choices=[
            SelectChoice("address", _l("The address is wrong")),
            SelectChoice("closed", _l("The centre or service has closed")),
            SelectChoice("hours", _l("The opening hours are wrong")),
            SelectChoice("other", _l("Something else")),
        ],
        validators=[InputRequired(_l("Choose what is wrong."))],
    )
    comment = TextAreaField(
        _l("Details (optional)"),
        description=_l("Please do not write personal data about yourself or others."),
        validators=[Length(max=MAX_COMMENT, message=_l("Write at most %(max)d characters.", max=MAX_COMMENT))],
    )


def _at_most(limit: int) -> Length:
    return Length(max=limit, message=_l("Write at most %(max)d characters.", max=limit))


class ClaimForm(DirectoryForm):
    """Someone at a centre asks to keep its listing (directory/claims.py)."""

    name = StringField(_l("Your name"), validators=[InputRequired(REQUIRED), _at_most(claims.MAX_NAME)])
    email = EmailField(
        _l("Your work e-mail"),
        description=_l("An administrator checks it against the centre's own contacts."),
        validators=[InputRequired(REQUIRED), Email(VALID_EMAIL), _at_most(claims.MAX_EMAIL)],
    )
    role = StringField(
        _l("Your role at the centre"),
        validators=[InputRequired(REQUIRED), _at_most(claims.MAX_ROLE)],
    )
    message = TextAreaField(
        _l("Message to the administrators (optional)"),
        validators=[_at_most(claims.MAX_MESSAGE)],
    )


def _message_language() -> SelectField:
    return SelectField(
        _l("Language of the message"),
        # The configured languages, each in its own name (asked per form).
        choices=lambda: [SelectChoice(code, autonym(code), render_kw={"lang": code}) for code in supported_languages()],
        validators=[InputRequired(REQUIRED)],
    )


class ShareByEmailForm(DirectoryForm):
    """Send services to an e-mail address (directory/sharing.py)."""

    email = EmailField(
        _l("E-mail address to send to"),
        validators=[InputRequired(REQUIRED), _at_most(sharing.EMAIL_MAX_LENGTH), Email(VALID_EMAIL)],
    )
    language = _message_language()


def _mobile_number(form, field) -> None:
    too_long = len(field.data or "") > sharing.PHONE_MAX_LENGTH  # said by the Length check
    if not too_long and sharing.normalise_phone(field.data or "") is None:
        raise ValidationError(_l("Enter a mobile number with its country code, such as +371 20000000 "
                                 "or +370 61234567."))


class ShareBySmsForm(DirectoryForm):
    """Send services to a mobile phone (only when an SMS gateway is configured)."""

    phone = TelField(
        _l("Mobile number to send to"),
        description=_l("With the country code, such as +371 20000000 or +370 61234567."),
        validators=[InputRequired(REQUIRED), _at_most(sharing.PHONE_MAX_LENGTH), _mobile_number],
    )
    language = _message_language()
