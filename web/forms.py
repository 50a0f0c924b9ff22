"""WTForms for the pages (CSRF through Flask-WTF)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FloatField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class SupervisionForm(FlaskForm):
    kind = SelectField(_l("Action"), choices=[("urge", _l("Urge (催办)")), ("order", _l("Order handling (督办)")),
                                              ("list_publicly", _l("List publicly (挂牌督办)"))])
    message = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=2000)])
    reply_within_hours = FloatField(_l("Reply within (hours)"), validators=[Optional(), NumberRange(min=0.1, max=720)])


class ReplyForm(FlaskForm):
    reply = TextAreaField(_l("Reply"), validators=[DataRequired(), Length(max=4000)])
