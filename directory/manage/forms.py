"""Forms of the centre dashboard. Every message is written here with `_l()`,
so that WTForms' English defaults never show. Each edit form turns its data
into the values `publishing.apply_changes` takes (`to_values`) and back
(`initial`)."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from ..form_base import DirectoryForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.utils import unset_value
from wtforms.validators import URL, Email, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .. import i18n, publishing
from ..auth.forms import REQUIRED, VALID_EMAIL
from ..extensions import db
from ..models import COUNTRIES, SERVICE_STATUSES, WEEKDAYS
from ..templating import country_name, language_name, weekday_name

VALID_URL = _l("Enter a full web address, such as https://www.example.lv.")
INVALID_CHOICE = _l("Choose one of the listed options.")
WHOLE_NUMBER = _l("Enter a whole number, such as 18.")
AGE_RANGE = _l("Enter an age from 0 to 120.")
TIME_FORMAT = _l("Enter a time as HH:MM, such as 09:00.")
TEXT_LIMIT = 10000

# Labels of every editable field, for the forms, the history and the conflict page.
FIELD_LABELS = {
    "name": _l("Title"),
    "alternate_name": _l("Other name"),
    "description": _l("Description"),
    "email": _l("E-mail"),
    "website": _l("Website"),
    "url": _l("Web page"),
    "transportation": _l("How to get there"),
    "wheelchair_accessible": _l("Wheelchair accessible"),
    "address_1": _l("Street and number"),
    "address_2": _l("Address, second line"),
    "city": _l("Town or village"),
    "municipality": _l("Municipality"),
    "postal_code": _l("Postal code"),
    "country": _l("Country"),
    "accessibility": _l("Accessibility"),
    "application_process": _l("How to apply"),
    "eligibility_description": _l("Who can use it"),
    "minimum_age": _l("Minimum age"),
    "maximum_age": _l("Maximum age"),
    "fees_description": _l("Fees"),
    "free_of_charge": _l("Free of charge"),
    "status": _l("Status"),
    "service_types": _l("Types of service"),
    "target_groups": _l("For whom"),
    "languages": _l("Languages spoken"),
    "hours": _l("Opening hours"),
    "phones": _l("Phone numbers"),
    "required_documents": _l("What to bring"),
    "last_verified": _l("Checked as still correct"),
}

STATUS_LABELS = {
    "active": _l("Active"),
    "inactive": _l("Retired (residents do not see it)"),
    "defunct": _l("Closed for good"),
    "temporarily closed": _l("Temporarily closed"),
}


def max_length(limit: int) -> Length:
    return Length(max=limit, message=_l("Use at most %(max)d characters.", max=limit))


def optional_text(label, limit: int = 300, area: bool = False, **kwargs):
    field_class = TextAreaField if area else StringField
    return field_class(label, validators=[Optional(), max_length(limit)], **kwargs)


def optional_email(label):
    return EmailField(label, validators=[Optional(), max_length(254), Email(VALID_EMAIL)])


def optional_url(label):
    return URLField(label, validators=[Optional(), max_length(500), URL(message=VALID_URL)],
                    description=_l("Starting with https://"))


def age_range(form, field) -> None:
    if field.data is not None and not 0 <= field.data <= 120:
        raise ValidationError(AGE_RANGE)


def age_field(label):
    return IntegerField(label, validators=[Optional(), age_range], invalid_value_message=WHOLE_NUMBER)


# Yes / no / not stated, for facts a listing may not give.
TRI_STATE = {"": None, "yes": True, "no": False}


def tri_state_field(label, **kwargs):
    return SelectField(
        label,
        choices=[SelectChoice("", _l("Not stated")), SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
        invalid_choice_message=INVALID_CHOICE,
        **kwargs,
    )


def tri_state_value(value: bool | None) -> str:
    return {None: "", True: "yes", False: "no"}[value]


def country_field():
    return SelectField(
        FIELD_LABELS["country"],
        choices=lambda: [SelectChoice(code, country_name(code)) for code in COUNTRIES],
        validators=[InputRequired(REQUIRED)],
        invalid_choice_message=INVALID_CHOICE,
    )


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (templates/manage/_macros.html draws it in a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def term_choices(taxonomy_code: str):
    def choices():
        locale = i18n.select_locale()
        return [SelectChoice(term.code, term.label(locale))
                for term in publishing.taxonomy_terms(db.session, taxonomy_code)]

    return choices


def language_choices():
    return [SelectChoice(code, language_name(code)) for code in publishing.SPOKEN_LANGUAGES]


def checkbox_list(label, choices):
    return MultiCheckboxField(label, choices=choices, invalid_choice_message=INVALID_CHOICE)


def text_of(value: Any) -> str | None:
    """A text field's value for publishing: stripped, None when empty."""
    if value is None:
        return None
    value = value.strip()
    return value or None


class EditForm(DirectoryForm):
    """A form that edits one record: it carries the version it was loaded with."""

    version = HiddenField()
    # Names of the repeatable row groups (FieldLists) and of scalar fields
    # that map one to one to a publishing field.
    ROW_LISTS: tuple[str, ...] = ()
    TEXT_FIELDS: tuple[str, ...] = ()
    TRI_STATE_FIELDS: tuple[str, ...] = ()
    PLAIN_FIELDS: tuple[str, ...] = ()

    @classmethod
    def initial(cls, values: dict[str, Any], version: int | None = None) -> dict[str, Any]:
        data = dict(values)
        for name in cls.TRI_STATE_FIELDS:
            data[name] = tri_state_value(values.get(name))
        if version is not None:
            data["version"] = str(version)
        return data

    def to_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {name: text_of(self[name].data) for name in self.TEXT_FIELDS}
        values.update({name: TRI_STATE.get(self[name].data) for name in self.TRI_STATE_FIELDS})
        values.update({name: self[name].data for name in self.PLAIN_FIELDS})
        return values


def lines_of(text: str | None) -> list[str]:
    """A textarea holding one item a line: the items, stripped, blank lines left out."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def required_documents_check(form, field) -> None:
    lines = lines_of(field.data)
    if len(lines) > publishing.MAX_REQUIRED_DOCUMENTS:
        raise ValidationError(_l("List at most %(max)d things to bring, one a line.",
                                 max=publishing.MAX_REQUIRED_DOCUMENTS))
    if any(len(line) > publishing.MAX_REQUIRED_DOCUMENT_LENGTH for line in lines):
        raise ValidationError(_l("Use at most %(max)d characters on each line.",
                                 max=publishing.MAX_REQUIRED_DOCUMENT_LENGTH))


# ------------------------------------------------------------ repeatable rows


class RowList(FieldList):
    """A FieldList of at most `max_entries` rows that says when there were
    more. WTForms keeps the first `max_entries` rows a form sends and silently
    drops the others (and asserts when a record holds more); here the first
    ones stay in the form, the form is refused and the block says why, so
    that no row is lost unseen and a huge form never reaches the database."""

    def __init__(self, unbound_field, label=None, *, max_entries: int, **kwargs) -> None:
        super().__init__(unbound_field, label, max_entries=max_entries, **kwargs)
        self.rows_given = 0

    def process(self, formdata, data=unset_value, extra_filters=None):
        if formdata:
            self.rows_given = len(set(self._extract_indices(self.name, formdata)))
        else:
            rows = list(data) if data is not unset_value and data else []
            self.rows_given = len(rows)
            data = rows[: self.max_entries]
        super().process(formdata, data, extra_filters)

    @property
    def full(self) -> bool:
        return len(self.entries) >= self.max_entries

    @property
    def too_many_message(self):
        """What the block says when there were more rows than it keeps; None otherwise."""
        if self.rows_given <= self.max_entries:
            return None
        return _l("There can be at most %(max)d rows here, and there were %(count)d: only the first %(max)d "
                  "are shown. Check them and save again.", max=self.max_entries, count=self.rows_given)

    def append_entry(self, data=unset_value):
        # "Add a row" on a full block adds nothing (the block says it is full).
        return None if self.full else super().append_entry(data)

    def validate(self, form, extra_validators=()) -> bool:
        valid = super().validate(form, extra_validators)
        if self.too_many_message is not None:
            self.errors.append(self.too_many_message)
            return False
        return valid


_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def _time_or_none(value: str | None):
    match = _HHMM.match((value or "").strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        return None
    return publishing.parse_time(match.group(0))


class RowForm(Form):
    """One row of a repeatable group. `row` is always sent, so that an empty
    row survives a request that leaves empty fields out (htmx here)."""

    row = HiddenField(default="1")
    remove = BooleanField(_l("Remove this row"))
    CONTENT: tuple[str, ...] = ()

    def is_blank(self) -> bool:
        return not any((self[name].data or "").strip() if isinstance(self[name].data, str) else self[name].data
                       for name in self.CONTENT)

    def dropped(self) -> bool:
        """Rows to leave out when saving: marked for removal, or never filled in."""
        return bool(self.remove.data) or self.is_blank()

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        if self.dropped():
            for field in self:
                field.errors = []
            self._errors = None
            return True
        self.check_row()
        self._errors = None
        return not any(field.errors for field in self)

    def check_row(self) -> None:
        raise NotImplementedError


class HoursRowForm(RowForm):
    day = SelectField(
        _l("Day"),
        choices=lambda: [SelectChoice("", _l("Choose a day"))]
        + [SelectChoice(day, weekday_name(day)) for day in WEEKDAYS],
        invalid_choice_message=INVALID_CHOICE,
    )
    opens = StringField(_l("Opens"), render_kw={"type": "time"})
    closes = StringField(_l("Closes"), render_kw={"type": "time"})
    holidays = BooleanField(_l("Open on public holidays too"))
    CONTENT = ("day", "opens", "closes")

    def check_row(self) -> None:
        if not self.day.data and not self.day.errors:
            self.day.errors.append(_l("Choose a day."))
        opens, closes = _time_or_none(self.opens.data), _time_or_none(self.closes.data)
        if opens is None:
            self.opens.errors.append(TIME_FORMAT)
        if closes is None:
            self.closes.errors.append(TIME_FORMAT)
        if opens is not None and closes is not None and opens >= closes:
            self.closes.errors.append(_l("The closing time must come after the opening time."))

    def to_value(self) -> dict[str, Any]:
        return {"day": self.day.data, "opens": _time_or_none(self.opens.data).strftime("%H:%M"),
                "closes": _time_or_none(self.closes.data).strftime("%H:%M"), "holidays": bool(self.holidays.data)}


_PHONE = re.compile(r"^\+?[0-9 ()./-]+$")


class PhoneRowForm(RowForm):
    number = StringField(_l("Phone number"), render_kw={"type": "tel", "autocomplete": "off"})
    description = StringField(_l("What it is for"), description=_l("For example: reception, crisis line"))
    CONTENT = ("number", "description")

    def check_row(self) -> None:
        number = (self.number.data or "").strip()
        if not number:
            self.number.errors.append(_l("Enter a phone number."))
        elif not _PHONE.match(number) or not 5 <= sum(ch.isdigit() for ch in number) <= 15 or len(number) > 50:
            self.number.errors.append(_l("Enter a phone number in digits, such as +371 65 400 000."))
        if len(self.description.data or "") > 300:
            self.description.errors.append(_l("Use at most %(max)d characters.", max=300))

    def to_value(self) -> dict[str, Any]:
        return {"number": " ".join(self.number.data.split()), "description": text_of(self.description.data)}


# ------------------------------------------------------------ the forms


class OrganizationForm(EditForm):
    name = StringField(FIELD_LABELS["name"], validators=[InputRequired(REQUIRED), max_length(300)])
    alternate_name = optional_text(FIELD_LABELS["alternate_name"],
                                   description=_l("For example the name in Lithuanian or an abbreviation."))
    description = optional_text(FIELD_LABELS["description"], TEXT_LIMIT, area=True)
    email = optional_email(FIELD_LABELS["email"])
    website = optional_url(FIELD_LABELS["website"])
    TEXT_FIELDS = ("name", "alternate_name", "description", "email", "website")


class LocationForm(EditForm):
    name = optional_text(FIELD_LABELS["name"])
    address_1 = optional_text(FIELD_LABELS["address_1"])
    address_2 = optional_text(FIELD_LABELS["address_2"])
    city = StringField(FIELD_LABELS["city"], validators=[InputRequired(REQUIRED), max_length(200)])
    municipality = optional_text(FIELD_LABELS["municipality"], 200)
    postal_code = optional_text(FIELD_LABELS["postal_code"], 20, description=_l("For example LV-5401 or LT-32001"))
    country = country_field()
    transportation = optional_text(FIELD_LABELS["transportation"], TEXT_LIMIT, area=True)
    wheelchair_accessible = tri_state_field(FIELD_LABELS["wheelchair_accessible"])
    accessibility = optional_text(FIELD_LABELS["accessibility"], TEXT_LIMIT, area=True,
                                  description=_l("Ramps, lifts, accessible toilets, help on arrival."))
    TEXT_FIELDS = ("name", "address_1", "address_2", "city", "municipality", "postal_code", "transportation",
                   "accessibility")
    TRI_STATE_FIELDS = ("wheelchair_accessible",)
    PLAIN_FIELDS = ("country",)


class ServiceForm(EditForm):
    name = StringField(FIELD_LABELS["name"], validators=[InputRequired(REQUIRED), max_length(300)])
    alternate_name = optional_text(FIELD_LABELS["alternate_name"])
    description = optional_text(FIELD_LABELS["description"], TEXT_LIMIT, area=True)
    service_types = checkbox_list(FIELD_LABELS["service_types"], term_choices(publishing.SERVICE_TYPES))
    target_groups = checkbox_list(FIELD_LABELS["target_groups"], term_choices(publishing.TARGET_GROUPS))
    eligibility_description = optional_text(FIELD_LABELS["eligibility_description"], TEXT_LIMIT, area=True)
    minimum_age = age_field(FIELD_LABELS["minimum_age"])
    maximum_age = age_field(FIELD_LABELS["maximum_age"])
    application_process = optional_text(FIELD_LABELS["application_process"], TEXT_LIMIT, area=True)
    free_of_charge = tri_state_field(FIELD_LABELS["free_of_charge"])
    fees_description = optional_text(FIELD_LABELS["fees_description"], TEXT_LIMIT, area=True)
    required_documents = TextAreaField(
        FIELD_LABELS["required_documents"],
        validators=[required_documents_check],
        description=_l("Documents or things a person needs to bring, one a line, such as: passport or ID card."),
    )
    languages = checkbox_list(FIELD_LABELS["languages"], language_choices)
    hours = RowList(FormField(HoursRowForm), label=FIELD_LABELS["hours"], max_entries=publishing.MAX_HOUR_ROWS)
    phones = RowList(FormField(PhoneRowForm), label=FIELD_LABELS["phones"], max_entries=publishing.MAX_PHONES)
    url = optional_url(FIELD_LABELS["url"])
    email = optional_email(FIELD_LABELS["email"])
    status = SelectField(
        FIELD_LABELS["status"],
        choices=[SelectChoice(code, STATUS_LABELS[code]) for code in SERVICE_STATUSES],
        validators=[InputRequired(REQUIRED)],
        invalid_choice_message=INVALID_CHOICE,
        description=_l("Residents find only active services."),
    )
    ROW_LISTS = ("hours", "phones")
    TEXT_FIELDS = ("name", "alternate_name", "description", "url", "email", "application_process",
                   "eligibility_description", "fees_description")
    TRI_STATE_FIELDS = ("free_of_charge",)
    PLAIN_FIELDS = ("minimum_age", "maximum_age", "status", "service_types", "target_groups", "languages")

    def validate_maximum_age(self, field) -> None:
        low = self.minimum_age.data
        if field.data is not None and low is not None and not self.minimum_age.errors and field.data < low:
            raise ValidationError(_l("The maximum age cannot be below the minimum age."))

    @classmethod
    def initial(cls, values: dict[str, Any], version: int | None = None) -> dict[str, Any]:
        data = super().initial(values, version)
        data["required_documents"] = "\n".join(values.get("required_documents") or [])
        return data

    def to_values(self) -> dict[str, Any]:
        values = super().to_values()
        values["service_types"] = values["service_types"] or []
        values["target_groups"] = values["target_groups"] or []
        values["languages"] = values["languages"] or []
        values["hours"] = [entry.form.to_value() for entry in self.hours if not entry.form.dropped()]
        values["phones"] = [entry.form.to_value() for entry in self.phones if not entry.form.dropped()]
        values["required_documents"] = lines_of(self.required_documents.data)
        return values


class ProposeForm(DirectoryForm):
    """A new organization, with the address of its (first) location."""

    name = StringField(FIELD_LABELS["name"], validators=[InputRequired(REQUIRED), max_length(300)])
    description = optional_text(FIELD_LABELS["description"], TEXT_LIMIT, area=True,
                                description=_l("What the centre does and for whom."))
    email = optional_email(FIELD_LABELS["email"])
    website = optional_url(FIELD_LABELS["website"])
    address_1 = optional_text(FIELD_LABELS["address_1"])
    city = StringField(FIELD_LABELS["city"], validators=[InputRequired(REQUIRED), max_length(200)])
    municipality = optional_text(FIELD_LABELS["municipality"], 200)
    postal_code = optional_text(FIELD_LABELS["postal_code"], 20)
    country = country_field()

    def to_values(self) -> dict[str, Any]:
        return {
            "name": text_of(self.name.data),
            "description": text_of(self.description.data),
            "email": text_of(self.email.data),
            "website": text_of(self.website.data),
            "location": {
                "address_1": text_of(self.address_1.data),
                "city": text_of(self.city.data),
                "municipality": text_of(self.municipality.data),
                "postal_code": text_of(self.postal_code.data),
                "country": self.country.data,
            },
        }
