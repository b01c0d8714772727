"""The one form residents fill in: reporting a problem with a listing."""

from flask_babel import lazy_gettext as _l
from ..form_base import DirectoryForm
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length

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
