"""Forms of the centre dashboard. Every message is written here with `_l()`,
so that WTForms' English defaults never show.

The edit forms are made from the registry of editable fields
(publishing.FIELDS): one form field per registry field, of its kind, with its
label, hint and limit (`edit_form`). Each turns its data into the values
`publishing.apply_changes` takes (`to_values`) and back (`initial`), and
lays itself out by the registry's groups (`blocks`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from flask_babel import lazy_gettext as _l
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
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.utils import unset_value
from wtforms.validators import URL, Email, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .. import capacity, costs, identifiers, publishing
from ..form_base import REQUIRED, VALID_EMAIL
from ..form_base import DirectoryForm
from ..models import WEEKDAYS
from ..templating import weekday_name

VALID_URL = _l("Enter a full web address, such as https://www.example.lv.")
INVALID_CHOICE = _l("Choose one of the listed options.")
WHOLE_NUMBER = _l("Enter a whole number, such as 18.")
AGE_RANGE = _l("Enter an age from 0 to 120.")
TIME_FORMAT = _l("Enter a time as HH:MM, such as 09:00.")
TEXT_LIMIT = 10000

# The fieldsets of the edit forms: a registry field names its group
# (publishing.Field.group); neighbours of one group share a fieldset.
GROUPS = {
    "service": (_l("The service"), None),
    "use": (_l("Who can use it and how"), None),
    "area": (_l("Area served"), _l("Social workers check whether a service takes people from their client's "
                                   "municipality.")),
    "contact": (_l("Contact"), None),
    "address": (_l("Address"), _l("The map position is found again from the address when you save it.")),
    "access": (_l("Getting there and access"), None),
}


def max_length(limit: int) -> Length:
    return Length(max=limit, message=_l("Use at most %(max)d characters.", max=limit))


def age_range(form, field) -> None:
    if field.data is not None and not 0 <= field.data <= 120:
        raise ValidationError(AGE_RANGE)


# Yes / no / not stated, for facts a listing may not give.
TRI_STATE = {"": None, "yes": True, "no": False}


def tri_state_value(value: bool | None) -> str:
    return {None: "", True: "yes", False: "no"}[value]


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (templates/manage/_macros.html draws it in a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def text_of(value: Any) -> str | None:
    """A text field's value for publishing: stripped, None when empty."""
    if value is None:
        return None
    value = value.strip()
    return value or None


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


class HoursRowList(RowList):
    """The opening hours rows, and the rules the form cannot show (an
    imported fortnightly or monthly rule, a rule with dates…: the hours
    value's rows with a "rule", publishing.is_kept_hours). Those are shown in
    words under the rows, read-only, and carried in one hidden input
    (`kept_name`), so that the form sent back (a row added, an error, the
    conflict page) still shows them and compares them. Saving never changes
    them: publishing keeps the record's own, whatever the input says."""

    def __init__(self, unbound_field, label=None, *, max_entries: int, **kwargs) -> None:
        super().__init__(unbound_field, label, max_entries=max_entries, **kwargs)
        self.kept: list[dict[str, Any]] = []

    @property
    def kept_name(self) -> str:
        return f"{self.name}-kept"  # not "<name>-<number>": FieldList reads no row from it

    def process(self, formdata, data=unset_value, extra_filters=None):
        if formdata:
            self.kept = publishing.kept_hours(formdata.get(self.kept_name))
        else:
            rows = list(data) if data is not unset_value and data else []
            self.kept = [row for row in rows if publishing.is_kept_hours(row)]
            data = [row for row in rows if not publishing.is_kept_hours(row)]
        super().process(formdata, data, extra_filters)

    @property
    def kept_json(self) -> str:
        return publishing.kept_hours_json(self.kept)

    def kept_lines(self) -> list[str]:
        return publishing.hours_lines(self.kept)


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

    def row_legend(self, number: int):
        """The legend of the row's fieldset: which list, which row."""
        raise NotImplementedError

    def columns(self) -> list:
        """The row's own fields, as the row shows them ("Remove" comes last)."""
        return [field for field in self if field.short_name not in ("row", "remove")]


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

    def row_legend(self, number: int):
        return _l("Opening hours, row %(number)s", number=number)

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

    def row_legend(self, number: int):
        return _l("Phone number, row %(number)s", number=number)

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


_AMOUNT = re.compile(r"^\d{1,7}([.,]\d{1,2})?$")


class CostRowForm(RowForm):
    amount = StringField(_l("Amount"), description=_l("0 for free of charge"),
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    currency = StringField(_l("Currency"), default=costs.DEFAULT_CURRENCY,
                           description=_l("A 3-letter code, such as EUR"), render_kw={"size": "3", "autocomplete": "off"})
    option = StringField(_l("What it covers"), description=_l("For example: one day, a meal, a night"))
    amount_description = StringField(_l("For whom"), description=_l("For example: pensioners, residents of the "
                                                                  "municipality"))
    CONTENT = ("amount", "option", "amount_description")

    def row_legend(self, number: int):
        return _l("Cost, row %(number)s", number=number)

    def check_row(self) -> None:
        amount = (self.amount.data or "").strip().replace(" ", "")
        if not amount:
            self.amount.errors.append(_l("Enter the amount, 0 for free of charge."))
        elif not _AMOUNT.match(amount) or float(amount.replace(",", ".")) > costs.MAX_AMOUNT:
            self.amount.errors.append(_l("Enter an amount in numbers, such as 5 or 5,50."))
        if not re.fullmatch(r"[A-Za-z]{3}", (self.currency.data or "").strip()):
            self.currency.errors.append(_l("Enter a 3-letter currency code, such as EUR."))
        for name in ("option", "amount_description"):
            if len(self[name].data or "") > 300:
                self[name].errors.append(_l("Use at most %(max)d characters.", max=300))

    def to_value(self) -> dict[str, Any]:
        amount = self.amount.data.strip().replace(" ", "").replace(",", ".")
        return {"amount": float(amount), "currency": self.currency.data.strip().upper(),
                "option": text_of(self.option.data), "amount_description": text_of(self.amount_description.data)}


class IdentifierRowForm(RowForm):
    scheme = SelectField(
        _l("Register"),
        choices=lambda: [SelectChoice(code, scheme.label) for code, scheme in identifiers.SCHEMES.items()],
        invalid_choice_message=INVALID_CHOICE,
    )
    identifier = StringField(_l("Number"), render_kw={"inputmode": "numeric", "autocomplete": "off"})
    CONTENT = ("identifier",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A number an import brought under another register stays in its register.
        scheme = self.scheme.data
        if scheme and scheme not in identifiers.SCHEMES and len(scheme) <= 100:
            self.scheme.choices = [*self.scheme.choices, SelectChoice(scheme, scheme)]

    def row_legend(self, number: int):
        return _l("Registration number, row %(number)s", number=number)

    def check_row(self) -> None:
        if self.scheme.errors:
            return
        problem = identifiers.check(self.scheme.data, self.identifier.data)
        if problem is not None:
            self.identifier.errors.append(problem)

    def to_value(self) -> dict[str, Any]:
        return {"scheme": self.scheme.data, "identifier": identifiers.normalise(self.identifier.data)}


def _cost_row_data(value: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cost options as the rows' data: amounts as people write them."""
    return [{**row, "amount": "" if row.get("amount") is None else f"{row['amount']:g}"} for row in value or []]


# ------------------------------------------------------------ fields of the registry
# The form field of each kind of registry field (publishing.KINDS): how it is
# made from the registry entry (label, hint, limit, choices), how its data
# becomes the value publishing takes (`read`) and a value its data (`write`).


def _first_check(field: publishing.Field):
    return InputRequired(REQUIRED) if field.required else Optional()


def _render_kw(field: publishing.Field, autocomplete: str | None = None) -> dict[str, str] | None:
    autocomplete = field.autocomplete or autocomplete
    return {"autocomplete": autocomplete} if autocomplete else None


def _text_input(field: publishing.Field, hint=None):
    return StringField(field.label, validators=[_first_check(field), max_length(field.max_length or 300)],
                       description=hint or field.hint, render_kw=_render_kw(field))


def _long_text_input(field: publishing.Field, hint=None):
    return TextAreaField(field.label, validators=[_first_check(field), max_length(field.max_length or TEXT_LIMIT)],
                         description=hint or field.hint, render_kw=_render_kw(field))


def _url_input(field: publishing.Field, hint=None):
    return URLField(field.label, validators=[Optional(), max_length(field.max_length or 500), URL(message=VALID_URL)],
                    description=hint or field.hint or _l("Starting with https://"), render_kw=_render_kw(field))


def _email_input(field: publishing.Field, hint=None):
    return EmailField(field.label, validators=[Optional(), max_length(field.max_length or 254), Email(VALID_EMAIL)],
                      description=hint or field.hint, render_kw=_render_kw(field, "off"))


def _yes_no_input(field: publishing.Field, hint=None):
    return SelectField(
        field.label,
        choices=[SelectChoice("", _l("Not stated")), SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
        invalid_choice_message=INVALID_CHOICE,
        description=hint or field.hint,
    )


def _age_input(field: publishing.Field, hint=None):
    return IntegerField(field.label, validators=[Optional(), age_range], invalid_value_message=WHOLE_NUMBER,
                        description=hint or field.hint)


def _check_input(field: publishing.Field, hint=None):
    return BooleanField(field.label, description=hint or field.hint)


def _choices(field: publishing.Field, blank: bool = False):
    def choices() -> list[SelectChoice]:
        listed = [SelectChoice(code, label) for code, label in field.choices()]
        return [SelectChoice("", _l("Not stated")), *listed] if blank else listed

    return choices


def _choice_input(field: publishing.Field, hint=None):
    return SelectField(field.label, choices=_choices(field, blank=not field.required),
                       validators=[_first_check(field)], invalid_choice_message=INVALID_CHOICE,
                       description=hint or field.hint)


def _codes_input(field: publishing.Field, hint=None):
    return MultiCheckboxField(field.label, choices=_choices(field), invalid_choice_message=INVALID_CHOICE,
                              description=hint or field.hint)


def _rows_input(row_form: type[RowForm], limit: int, row_list: type[RowList] = RowList):
    def make(field: publishing.Field, hint=None):
        return row_list(FormField(row_form), label=field.label, max_entries=limit, description=hint or field.hint)

    return make


def _documents_input(field: publishing.Field, hint=None):
    return TextAreaField(field.label, validators=[required_documents_check], description=hint or field.hint)


def _read_text(form_field) -> str | None:
    return text_of(form_field.data)


def _read_rows(form_field) -> list[dict[str, Any]]:
    return [entry.form.to_value() for entry in form_field if not entry.form.dropped()]


def _read_hours(form_field: HoursRowList) -> list[dict[str, Any]]:
    # The kept rules as the form was given them: what the conflict page compares.
    return _read_rows(form_field) + list(form_field.kept)


@dataclass(frozen=True)
class FormKind:
    make: Callable[..., Any]  # (registry field, hint=None) → an unbound WTForms field
    read: Callable[[Any], Any]  # the bound form field → the value for publishing
    write: Callable[[Any], Any] = lambda value: value  # a value → the form field's data


FORM_KINDS: dict[str, FormKind] = {
    publishing.TEXT: FormKind(_text_input, _read_text),
    publishing.LONG_TEXT: FormKind(_long_text_input, _read_text),
    publishing.URL: FormKind(_url_input, _read_text),
    publishing.EMAIL: FormKind(_email_input, _read_text),
    publishing.YES_NO: FormKind(_yes_no_input, lambda f: TRI_STATE.get(f.data), tri_state_value),
    publishing.AGE: FormKind(_age_input, lambda f: f.data),
    publishing.CHOICE: FormKind(_choice_input, lambda f: f.data or None),
    publishing.CODES: FormKind(_codes_input, lambda f: f.data or []),
    publishing.HOURS: FormKind(_rows_input(HoursRowForm, publishing.MAX_HOUR_ROWS, HoursRowList), _read_hours),
    publishing.PHONES: FormKind(_rows_input(PhoneRowForm, publishing.MAX_PHONES), _read_rows),
    publishing.DOCUMENTS: FormKind(_documents_input, lambda f: lines_of(f.data), lambda v: "\n".join(v or [])),
    publishing.CHECK: FormKind(_check_input, lambda f: bool(f.data)),
    publishing.COSTS: FormKind(_rows_input(CostRowForm, costs.MAX_COST_OPTIONS), _read_rows, _cost_row_data),
    publishing.IDENTIFIERS: FormKind(_rows_input(IdentifierRowForm, identifiers.MAX_IDENTIFIERS), _read_rows,
                                     lambda value: [{"scheme": row.get("scheme"), "identifier": row.get("identifier")}
                                                    for row in value or []]),
}
ROW_KINDS = (publishing.HOURS, publishing.PHONES, publishing.COSTS, publishing.IDENTIFIERS)


def form_field(field: publishing.Field, hint=None):
    """The (unbound) form field that edits a registry field; `hint` instead of the registry's."""
    return FORM_KINDS[field.kind].make(field, hint)


# ------------------------------------------------------------ the forms


@dataclass
class Block:
    """A piece of an edit form: the fieldset of a group (with its legend and
    hint), or one field on its own. Each line holds names of fields; those
    of one line sit side by side (ages)."""

    group: str | None
    legend: Any = None
    hint: Any = None
    lines: list[list[str]] = dataclass_field(default_factory=list)


class EditForm(DirectoryForm):
    """A form that edits one record, made from the registry (`edit_form`):
    it carries the version it was loaded with."""

    version = HiddenField()
    ENTITY = ""
    ROW_LISTS: tuple[str, ...] = ()  # the repeatable row groups ("Add a row")

    @classmethod
    def registry(cls) -> list[publishing.Field]:
        return list(publishing.FIELDS[cls.ENTITY].values())

    @classmethod
    def initial(cls, values: dict[str, Any], version: int | None = None) -> dict[str, Any]:
        """The form's data for a record's values (publishing.current_values)."""
        data = {field.name: FORM_KINDS[field.kind].write(values[field.name])
                for field in cls.registry() if field.name in values}
        if version is not None:
            data["version"] = str(version)
        return data

    def to_values(self) -> dict[str, Any]:
        """The values publishing.apply_changes takes."""
        return {field.name: FORM_KINDS[field.kind].read(self[field.name]) for field in self.registry()}

    @classmethod
    def blocks(cls) -> list[Block]:
        """The form's layout, in the registry's order: neighbours of one group
        share its fieldset (templates/manage/_macros.html edit_fields)."""
        blocks: list[Block] = []
        previous = None
        for field in cls.registry():
            if field.group is None or not blocks or blocks[-1].group != field.group:
                legend, hint = GROUPS[field.group] if field.group else (None, None)
                blocks.append(Block(field.group, legend, hint))
            block = blocks[-1]
            if block.lines and field.kind == publishing.AGE and previous.kind == publishing.AGE:
                block.lines[-1].append(field.name)
            else:
                block.lines.append([field.name])
            previous = field
        return blocks


def edit_form(entity_type: str, base: type[EditForm] = EditForm) -> type[EditForm]:
    """The edit form of an entity type: one form field per registry field."""
    fields = publishing.FIELDS[entity_type]
    attributes: dict[str, Any] = {name: form_field(field) for name, field in fields.items()}
    attributes["ENTITY"] = entity_type
    attributes["ROW_LISTS"] = tuple(name for name, field in fields.items() if field.kind in ROW_KINDS)
    return type(f"{entity_type.capitalize()}Form", (base,), attributes)


class ServiceChecks(EditForm):
    """What the service form checks across its fields."""

    def validate_maximum_age(self, field) -> None:
        low = self.minimum_age.data
        if field.data is not None and low is not None and not self.minimum_age.errors and field.data < low:
            raise ValidationError(_l("The maximum age cannot be below the minimum age."))


OrganizationForm = edit_form("organization")
LocationForm = edit_form("location")
ServiceForm = edit_form("service", ServiceChecks)

_ORGANIZATION = publishing.FIELDS["organization"]
_LOCATION = publishing.FIELDS["location"]


class ProposeForm(DirectoryForm):
    """A new organization, with the address of its (first) location: fields
    of both registries (publishing.propose_organization)."""

    ORGANIZATION_FIELDS = ("name", "description", "email", "website")
    LOCATION_FIELDS = ("address_1", "city", "municipality", "postal_code", "country")

    name = form_field(_ORGANIZATION["name"])
    description = form_field(_ORGANIZATION["description"], hint=_l("What the centre does and for whom."))
    email = form_field(_ORGANIZATION["email"])
    website = form_field(_ORGANIZATION["website"])
    address_1 = form_field(_LOCATION["address_1"])
    city = form_field(_LOCATION["city"])
    municipality = form_field(_LOCATION["municipality"])
    postal_code = form_field(_LOCATION["postal_code"])
    country = form_field(_LOCATION["country"])
    # Asked only when the directory has organizations the new one may be (directory/duplicates.py).
    different_organization = BooleanField(_l("It is a different organization"))

    def to_values(self) -> dict[str, Any]:
        def read(registry, names):
            return {name: FORM_KINDS[registry[name].kind].read(self[name]) for name in names}

        return {**read(_ORGANIZATION, self.ORGANIZATION_FIELDS), "location": read(_LOCATION, self.LOCATION_FIELDS)}


# ------------------------------------------------------------ free places

CAPACITY_REQUIRED = _l("Enter how many are free now, such as 3 (0 if none).")
CAPACITY_RANGE = _l("Enter a number from 0 to %(max)d.", max=capacity.MAX_AVAILABLE)
CAPACITY_WHOLE = _l("Enter a whole number, such as 3.")


def capacity_range(form, field) -> None:
    if field.data is not None and not 0 <= field.data <= capacity.MAX_AVAILABLE:
        raise ValidationError(CAPACITY_RANGE)


class CapacityForm(DirectoryForm):
    """Free places now, for one service (directory.capacity). The organization
    page holds one a service: the prefix keeps their ids and names apart."""

    available = IntegerField(
        _l("Free places now"), validators=[InputRequired(message=CAPACITY_REQUIRED), capacity_range],
        invalid_value_message=CAPACITY_WHOLE,
        render_kw={"inputmode": "numeric", "min": 0, "max": capacity.MAX_AVAILABLE, "step": 1},
    )
    unit = SelectField(_l("Counted in"), invalid_choice_message=INVALID_CHOICE)
    save = SubmitField(_l("Save"))
    clear = SubmitField(_l("No longer tracked"))

    @classmethod
    def for_service(cls, service, formdata=None) -> CapacityForm:
        """The form of `service`: what was sent (`formdata`), else what is saved."""
        current = capacity.tracked(service)
        data = {"unit": capacity.DEFAULT_UNIT}
        if current is not None:
            available = current.available
            data = {"available": int(available) if float(available).is_integer() else available,
                    "unit": capacity.unit_code(current.unit)}
        form = cls(formdata=formdata, data=data, prefix=f"capacity-{service.id}")
        form.unit.choices = capacity.unit_choices(service)
        return form
