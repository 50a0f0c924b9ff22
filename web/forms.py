"""WTForms for the pages (CSRF through Flask-WTF)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    FloatField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional


class NumberField(FloatField):
    """A number box whose refusal says what to enter, in the domain's words (WTForms says "Not a valid float value")."""

    def __init__(self, label=None, validators=None, message: str = "", **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.message = message

    def process_formdata(self, valuelist: list) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as err:
            raise ValueError(str(self.message)) from err


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class PasswordChangeForm(FlaskForm):
    """The user's own change; engine.accounts.passwords decides what a good new password is."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("New password again"), validators=[DataRequired(), EqualTo("new", _l(
        "The two new passwords differ."))])


class SupervisionForm(FlaskForm):
    kind = SelectField(_l("Action"), choices=[("urge", _l("Urge (催办)")), ("order", _l("Order handling (督办)")),
                                              ("list_publicly", _l("List publicly (挂牌督办)"))])
    message = TextAreaField(_l("Message"), validators=[Optional(), Length(max=2000)])  # the engine says why it is needed
    reply_within_hours = FloatField(_l("Reply within (hours)"), validators=[Optional(), NumberRange(min=0.1, max=720)])


class ReplyForm(FlaskForm):
    reply = TextAreaField(_l("Reply"), validators=[DataRequired(), Length(max=4000)])


class HandoverForm(FlaskForm):
    """交办: the engine checks units, grid and limit (errors come back next to each field); choices are filled per
    request with names, and any submitted value reaches the engine to be named there."""

    title = StringField(_l("Title"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=4000)])
    grid = SelectField(_l("Grid"), validate_choice=False)
    address = StringField(_l("Address"), validators=[Length(max=300)])
    lat = NumberField(_l("Latitude"), validators=[Optional()], message=_l("Enter the latitude as a number."))
    lon = NumberField(_l("Longitude"), validators=[Optional()], message=_l("Enter the longitude as a number."))
    lead = SelectField(_l("Lead unit (主办)"), validate_choice=False)
    cooperating = SelectMultipleField(_l("Cooperating units (协办)"), validate_choice=False)
    limit_value = StringField(_l("Time limit"), validators=[Length(max=20)])
    limit_unit = SelectField(_l("Unit of the limit"), validate_choice=False)
    attachments = MultipleFileField(_l("Attachments (PDF, pictures, Word, Excel)"))


class CorrectionForm(FlaskForm):
    """A correction of a published bulletin issue: what it corrects and why (the engine checks the reason)."""

    reason = TextAreaField(_l("What this correction corrects, and why"), validators=[Length(max=2000)])
