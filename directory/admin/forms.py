"""Administrators' forms, and the labels their pages show for stored codes.
Every message is ours, so that every one is in the catalogues."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from ..form_base import REQUIRED, DirectoryForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from ..administration import TERM_CODE
from ..i18n import supported_languages
from ..models import ROLES
from ..search_language import MAX_SYNONYM_LENGTH, MAX_SYNONYMS, synonym_lines
from ..templating import language_name

CHOOSE = _l("Choose one of the listed options.")
# A term's synonyms in one language, as typed: room for MAX_SYNONYMS full
# lines and their line breaks (blank lines and spaces are dropped on save).
SYNONYMS_TEXT_LENGTH = 4000

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "editor": _l("Centre editor"),
    "social_worker": _l("Social worker"),
}
STATUS_LABELS = {
    "pending": _l("Waiting for approval"),
    "active": _l("Active"),
    "disabled": _l("Disabled"),
}
ORGANIZATION_STATUS_LABELS = {
    "pending": _l("Waiting for review"),
    "published": _l("Published"),
}
VOCABULARY_LABELS = {
    "service-type": _l("Types of service"),
    "target-group": _l("Target groups"),
}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class AdminForm(DirectoryForm):
    """Leaves out attributes the shared `field` macro passes as None (this
    WTForms would write them as the text "None"); `required=None` there means
    "no browser check": the server's translated message says what is missing."""

    class Meta:
        def render_field(self, field, render_kw):
            render_kw = {key: (False if value is None else value) for key, value in render_kw.items()}
            return super().render_field(field, render_kw)


class RoleForm(AdminForm):
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role, ROLE_LABELS[role]) for role in ROLES],
        validators=[InputRequired(CHOOSE)],
        invalid_choice_message=CHOOSE,
    )


class LinkOrganizationForm(AdminForm):
    # Choices: the organizations the editor does not edit yet (set by the view).
    organization = SelectField(
        _l("Organization to add"),
        choices=[],
        validators=[InputRequired(CHOOSE)],
        invalid_choice_message=CHOOSE,
    )


def label_field(locale: str) -> StringField:
    """The term's name in `locale`, labelled with that language's name in the
    visitor's language (the fieldset around them says what they are)."""
    return StringField(
        language_name(locale),
        filters=[_strip],
        validators=[DataRequired(REQUIRED), Length(max=300, message=_l("Use at most %(max)d characters.", max=300))],
        render_kw={"lang": locale, "maxlength": 300},
    )


class SynonymLines:
    """At most MAX_SYNONYMS synonyms of at most MAX_SYNONYM_LENGTH characters."""

    def __call__(self, form, field) -> None:
        lines = synonym_lines(field.data)
        if len(lines) > MAX_SYNONYMS:
            raise ValidationError(_l("Use at most %(max)d lines.", max=MAX_SYNONYMS))
        if any(len(line) > MAX_SYNONYM_LENGTH for line in lines):
            raise ValidationError(_l("Use at most %(max)d characters on a line.", max=MAX_SYNONYM_LENGTH))


def synonyms_field(locale: str) -> TextAreaField:
    """Other words for the term in `locale`, one per line (the fieldset
    around them says what they are)."""
    return TextAreaField(
        language_name(locale),
        validators=[Length(max=SYNONYMS_TEXT_LENGTH,
                           message=_l("Use at most %(max)d characters.", max=SYNONYMS_TEXT_LENGTH)),
                    SynonymLines()],
        render_kw={"lang": locale, "rows": 4, "maxlength": SYNONYMS_TEXT_LENGTH},
    )


class TermForm(AdminForm):
    """A term's name in each configured language (fields label_lv, label_lt…,
    one per code in LANGUAGES, built with each form), the other words
    people search for it by (synonyms_lv…, one per line) and its Lithuanian
    catalogue code."""

    max_synonyms = MAX_SYNONYMS
    max_synonym_length = MAX_SYNONYM_LENGTH

    lt_catalogue_code = StringField(
        _l("Code in Lithuania's catalogue of social services"),
        description=_l("Optional, e.g. 201, 202."),
        filters=[_strip],
        validators=[Optional(), Length(max=40, message=_l("Use at most %(max)d characters.", max=40))],
        render_kw={"maxlength": 40},
    )

    def __init__(self, *args, **kwargs):
        self.label_locales = list(supported_languages())
        # The label fields first, then the class's own (FormMeta has listed
        # those in _unbound_fields by now).
        self._unbound_fields = [
            (f"label_{locale}", label_field(locale)) for locale in self.label_locales
        ] + [
            (f"synonyms_{locale}", synonyms_field(locale)) for locale in self.label_locales
        ] + list(type(self)._unbound_fields)
        super().__init__(*args, **kwargs)

    def label_fields(self) -> list[tuple[str, StringField]]:
        """(language code, field), in the order of LANGUAGES."""
        return [(locale, self[f"label_{locale}"]) for locale in self.label_locales]

    def labels(self) -> dict[str, str]:
        return {locale: self[f"label_{locale}"].data for locale in self.label_locales}

    def synonym_fields(self) -> list[tuple[str, TextAreaField]]:
        """(language code, field), in the order of LANGUAGES."""
        return [(locale, self[f"synonyms_{locale}"]) for locale in self.label_locales]

    def synonyms(self) -> dict[str, list[str]]:
        return {locale: synonym_lines(self[f"synonyms_{locale}"].data) for locale in self.label_locales}


class NewTermForm(TermForm):
    code = StringField(
        _l("Code"),
        description=_l("Used in addresses and never changed: lowercase letters, digits and hyphens, such as day-centre."),
        filters=[_strip],
        validators=[
            DataRequired(REQUIRED),
            Length(max=60, message=_l("Use at most %(max)d characters.", max=60)),
            Regexp(TERM_CODE, message=_l("Use only lowercase letters a–z, digits and hyphens, such as day-centre.")),
        ],
        render_kw={"maxlength": 60, "spellcheck": "false", "autocapitalize": "none"},
    )


class AuditFilterForm(AdminForm):
    """The audit log's filter: a GET form, nothing to protect."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), choices=[], validate_choice=False)


class ImportForm(AdminForm):
    """The data package an admin uploads at /<lang>/admin/import."""

    package = FileField(
        _l("Data package"),
        description=_l("A .zip of an HSDS 3.0 data package (datapackage.json and its CSV files), "
                       "or the directory.json file of an export."),
        validators=[FileRequired(_l("Choose a file to import."))],
        render_kw={"accept": ".zip,.json,application/zip,application/json"},
    )


class RefuseClaimForm(AdminForm):
    """Refusing a request to keep a listing: the reason goes to the person."""

    reason = TextAreaField(
        _l("Why is it refused?"),
        description=_l("The person receives this by e-mail."),
        filters=[_strip],
        validators=[DataRequired(REQUIRED), Length(max=2000, message=_l("Use at most %(max)d characters.", max=2000))],
    )
