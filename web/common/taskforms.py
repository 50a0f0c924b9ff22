"""A task template's fields as a WTForms form class, built at run time: the same class renders the
field unit's page and validates what the page or the API submits. Photo fields are not form inputs:
their photos arrive as evidence uploads and are counted at submit (engine/evidence.py)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (BooleanField, DateTimeLocalField, DecimalField, Form, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from engine.core.models import TaskTemplate

MAX_TEXT = 4000
FIELD_TYPES = ("text", "textarea", "number", "choice", "multichoice", "datetime", "checkbox", "photo", "location")


def _text(spec: dict[str, Any], key: str, lang: str) -> str:
    return str(spec.get(f"{key}_{lang}") or spec.get(lang if key == "label" else f"{key}_zh") or spec.get("name"))


def _location(form: Form, field: Any) -> None:
    """'lat,lon' in decimal degrees, as the page's location button fills it in."""
    if not field.data:
        return
    try:
        lat, lon = (float(part) for part in str(field.data).split(","))
    except ValueError:
        raise ValidationError(_("Enter a position as latitude,longitude")) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError(_("Enter a position as latitude,longitude"))


def _field(spec: dict[str, Any], lang: str) -> Any:
    kind = spec.get("type", "text")
    label = spec.get(lang) or spec.get("zh") or spec["name"]
    description = spec.get(f"help_{lang}") or spec.get("help_zh") or ""
    required = bool(spec.get("required"))
    choices = [(str(o.get("value")), o.get(lang) or o.get("zh") or str(o.get("value"))) for o in spec.get("options", [])]
    presence = [InputRequired()] if required and kind in ("number",) else [DataRequired()] if required else [Optional()]
    if kind == "textarea":
        return TextAreaField(label, presence + [Length(max=MAX_TEXT)], description=description)
    if kind == "number":
        return DecimalField(label, presence + [NumberRange(min=spec.get("min"), max=spec.get("max"))],
                            description=description)
    if kind == "choice":  # nothing chosen until the user chooses: a preselected first option is an answer never given
        return SelectField(label, presence, choices=[("", _("Choose…"))] + choices, description=description,
                           validate_choice=True, default="")
    if kind == "multichoice":
        return SelectMultipleField(label, presence, choices=choices, description=description)
    if kind == "datetime":
        return DateTimeLocalField(label, presence, format="%Y-%m-%dT%H:%M", description=description)
    if kind == "checkbox":
        return BooleanField(label, [DataRequired()] if required else [], description=description)
    if kind == "location":
        return StringField(label, presence + [_location], description=description)
    return StringField(label, presence + [Length(max=MAX_TEXT)], description=description)


def form_class(template: TaskTemplate, lang: str, base: type = Form) -> type:
    """A form class for one template version: one input per non-photo field, in the template's order."""
    attributes = {spec["name"]: _field(spec, lang) for spec in template.fields or [] if spec.get("type") != "photo"}
    return type(f"TemplateForm_{template.code}_v{template.version}", (base,), attributes)


def page_form(template: TaskTemplate, lang: str) -> FlaskForm:
    """For the field unit's page: the same fields with CSRF protection."""
    return form_class(template, lang, FlaskForm)()


def validate_data(template: TaskTemplate, data: dict[str, Any] | None, lang: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Validate submitted JSON against the template; return (clean values, errors by field name)."""
    items = MultiDict()
    for key, value in (data or {}).items():
        for item in value if isinstance(value, list) else [value]:
            items.add(key, "y" if item is True else "" if item in (False, None) else str(item))
    form = form_class(template, lang)(formdata=items)
    if not form.validate():
        return {}, {name: [str(e) for e in errors] for name, errors in form.errors.items()}
    clean = {}
    for name, field in form._fields.items():
        value = field.data
        clean[name] = (float(value) if value is not None else None) if isinstance(field, DecimalField) else \
            value.isoformat() if hasattr(value, "isoformat") else value
    return clean, {}
