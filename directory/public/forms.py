"""Forms residents fill in: reporting a problem with a listing, and asking
to keep a centre's listing."""

from flask_babel import lazy_gettext as _l
from .. import claims
from ..form_base import REQUIRED, VALID_EMAIL, DirectoryForm
from wtforms import EmailField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Email, InputRequired, Length

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
