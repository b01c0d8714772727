"""Account forms. Every message is in our catalogues, WTForms' own included."""

from flask_babel import lazy_gettext as _l
from ..form_base import REQUIRED, VALID_EMAIL, DirectoryForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Email, EqualTo, InputRequired, Length

from ..accounts import MIN_PASSWORD_LENGTH



class LoginForm(DirectoryForm):
    email = EmailField(_l("E-mail"), validators=[InputRequired(REQUIRED), Email(VALID_EMAIL)])
    password = PasswordField(_l("Password"), validators=[InputRequired(REQUIRED)])
    remember = BooleanField(_l("Keep me signed in on this device"))


def password_field(label):
    return PasswordField(
        label,
        validators=[
            InputRequired(REQUIRED),
            Length(min=MIN_PASSWORD_LENGTH, max=200,
                   message=_l("Use at least %(min)d characters.", min=MIN_PASSWORD_LENGTH)),
        ],
    )


class SignupForm(DirectoryForm):
    name = StringField(_l("Your name"), validators=[InputRequired(REQUIRED), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[InputRequired(REQUIRED), Email(VALID_EMAIL), Length(max=254)])
    role = RadioField(
        _l("I work as"),
        choices=[SelectChoice("editor", _l("staff of a service centre (I keep its listing up to date)")),
                 SelectChoice("social_worker", _l("a social worker (I refer clients)"))],
        validators=[InputRequired(_l("Choose one."))],
    )
    note = TextAreaField(
        _l("Your centre or office"),
        description=_l("So that an administrator can check your request and link you to your centre."),
        validators=[InputRequired(REQUIRED), Length(max=1000)],
    )
    password = password_field(_l("Password"))
    confirm = PasswordField(
        _l("Password again"),
        validators=[InputRequired(REQUIRED), EqualTo("password", message=_l("The passwords differ."))],
    )


class ResetRequestForm(DirectoryForm):
    email = EmailField(_l("E-mail"), validators=[InputRequired(REQUIRED), Email(VALID_EMAIL)])


class ResetForm(DirectoryForm):
    password = password_field(_l("New password"))
    confirm = PasswordField(
        _l("New password again"),
        validators=[InputRequired(REQUIRED), EqualTo("password", message=_l("The passwords differ."))],
    )


class PasswordChangeForm(DirectoryForm):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired(REQUIRED)])
    password = password_field(_l("New password"))
    confirm = PasswordField(
        _l("New password again"),
        validators=[InputRequired(REQUIRED), EqualTo("password", message=_l("The passwords differ."))],
    )


class SignOutEverywhereForm(DirectoryForm):
    """A button: only the CSRF token."""
