"""Where notifications go outside the app (recipients), and deliveries that gave up, to send again, or were
cancelled when their recipient was disabled."""
from __future__ import annotations

from typing import Any

from flask import current_app, flash
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField

from admin.fields import choice_label
from admin.base import MasterDataView, ReadableModelView, URL_IN_TEXT, may_edit, shown_address
from engine.core.models import Delivery, Recipient
from engine.delivery import outbox
from engine.delivery.sms import SMS_CHANNELS, sms_phone
from engine.people.staff import mask_phone
from web.common.display import in_reader_language
from web.common.extensions import db
from workers.queues import enqueue_delivery


def _recipient_address(recipient) -> str:
    """What a reader sees of an address: robot URLs cut to their host, SMS numbers masked."""
    if recipient.channel in SMS_CHANNELS and not may_edit():
        return mask_phone(recipient.address)
    return shown_address(recipient.address)


#: What the form offers for a recipient's scope, channel and language; the list shows the same labels.
SCOPES = (("unit", _l("Unit")), ("tier", _l("Supervision tier")), ("oncall", _l("On call")),
          ("source", _l("Intake source (replies)")), ("person", _l("A person's own (on duty)")))
CHANNELS = (("webhook", _l("JSON webhook")), ("wecom", _l("WeCom group robot")),
            ("dingtalk", _l("DingTalk group robot")), ("email", _l("E-mail")), ("aliyun_sms", _l("SMS (Aliyun)")),
            ("tencent_sms", _l("SMS (Tencent Cloud)")))
LANGUAGES = (("zh", _l("Chinese")), ("en", _l("English")))


def _recipient_name(view, context, model: Recipient, name: str) -> str:
    """The name in the reader's language where it was stored in both ("周立新 值班 / on duty"): a person's channel
    keeps the person's name in front, the rest in the reader's language ("周立新 on duty")."""
    text = model.name or ""
    owner = f"{model.person.name} " if model.person is not None and model.person.name else ""
    if owner and text.startswith(owner):
        return owner + in_reader_language(text[len(owner):])
    return in_reader_language(text)


def _labelled(choices: tuple[tuple[str, Any], ...]):
    """A list column showing a code by the label its form offers (the list would otherwise print `email`)."""
    return lambda view, context, model, name: choice_label(choices, getattr(model, name))


class RecipientView(MasterDataView):
    """Where notifications go outside the app: a unit's, a tier's or the on-call group robot, webhook or inbox, an
    intake source's reply webhook (a case closed, not filed or reopened is told to the hotline platform), and a
    person's own channel (where alerts for the person's unit go outside office hours while they are on duty).

    Readers see no secret (not listed, not in details) and robot URLs cut to their host; editors never see the
    secret either: an empty secret field keeps the stored one."""

    can_delete = True
    column_details_exclude_list = ("secret",)
    column_formatters = {"name": _recipient_name,
                         "address": lambda view, context, model, name: _recipient_address(model),
                         "scope": _labelled(SCOPES), "channel": _labelled(CHANNELS), "language": _labelled(LANGUAGES)}
    column_formatters_detail = column_formatters
    column_list = ("name", "scope", "unit", "person", "campaign", "tier_level", "source", "channel", "address",
                   "language", "enabled")
    column_filters = ("scope", "channel", "enabled")
    column_searchable_list = ("name",)  # not the address: a reader could probe a robot key by searching
    form_columns = ("name", "scope", "unit", "person", "campaign", "tier_level", "source", "channel", "address",
                    "secret", "language", "enabled")
    form_overrides = {"scope": SelectField, "channel": SelectField, "language": SelectField,
                      "address": StringField, "secret": PasswordField}
    form_args = {"scope": {"choices": list(SCOPES)}, "channel": {"choices": list(CHANNELS)},
                 "language": {"choices": list(LANGUAGES)}}
    column_labels = {"name": _l("Name"), "scope": _l("Scope"), "unit": _l("Unit"), "campaign": _l("Campaign"),
                     "tier_level": _l("Tier"), "channel": _l("Channel"),
                     "address": _l("Address (URL, e-mail or mobile number)"),
                     "secret": _l("Secret (HMAC key or DingTalk sign secret)"), "language": _l("Language"),
                     "enabled": _l("Enabled"), "source": _l("Intake source"), "person": _l("Person")}
    column_descriptions = {"address": _l("SMS channels: a mobile number, e.g. 13900000001 or +86 139 0000 0001; the "
                                         "provider's account and templates are set by the operator."),
                           "secret": _l("Stored encrypted and never shown; leave empty to keep the current secret."),
                           "campaign": _l("Tier scope only; empty means every campaign."),
                           "tier_level": _l("Tier scope only: the supervision tier level."),
                           "source": _l("Intake source scope only: the source name of its intake token; its cases' "
                                        "outcomes (closed, not filed, reopened) are sent here."),
                           "person": _l("Person scope only: outside office hours, alerts for the person's unit "
                                        "reach this channel while the roster has them on duty.")}

    def validate_form(self, form) -> bool:
        """A reply address names the intake source it answers; other scopes name none; SMS goes to a mobile number."""
        valid = super().validate_form(form)
        scope, source = getattr(form, "scope", None), getattr(form, "source", None)
        if valid and scope is not None and source is not None:
            named = (source.data or "").strip()
            if scope.data == "source" and not named:
                source.errors.append(_("Name the intake source whose cases are answered here."))
                valid = False
            elif scope.data != "source" and named:
                source.errors.append(_("Only a recipient of the intake source scope names a source."))
                valid = False
            source.data = named or None
        person = getattr(form, "person", None)
        if valid and scope is not None and person is not None:
            if scope.data == "person" and person.data is None:
                person.errors.append(_("Choose the person whose channel this is."))
                valid = False
            elif scope.data != "person" and person.data is not None:
                person.errors.append(_("Only a recipient of the person scope names a person."))
                valid = False
        return valid and self._sms_number_valid(form)

    def update_model(self, form, model) -> bool:
        """An empty secret field keeps the stored secret, so an edit never needs it retyped."""
        if "secret" in form and not form.secret.data:
            del form["secret"]
        return super().update_model(form, model)

    def on_model_change(self, form, model, is_created: bool) -> None:
        """A disabled recipient's queued sends are cancelled in the same transaction as the change."""
        super().on_model_change(form, model, is_created)
        if not is_created and not model.enabled:
            cancelled = outbox.cancel_sends(db.session, model.id)
            if cancelled:
                flash(_("%(count)s queued sends to this recipient were cancelled.", count=cancelled), "info")

    def _sms_number_valid(self, form) -> bool:
        """An SMS recipient's address is a mobile number, stored as E.164 (+8613900000001)."""
        channel, address = getattr(form, "channel", None), getattr(form, "address", None)
        if channel is None or address is None or channel.data not in SMS_CHANNELS:
            return True
        phone = sms_phone(address.data or "")
        if phone is None:
            address.errors.append(_("Enter a mobile number, e.g. 13900000001 or +86 139 0000 0001."))
            return False
        address.data = phone
        return True


UNSENT = ("failed", "cancelled")


def _status_label(status: str) -> str:
    return {"failed": _("Failed"), "cancelled": _("Cancelled")}.get(status, status)


class FailedDeliveryView(ReadableModelView):
    """Deliveries that gave up (attempts spent or refused) or were cancelled (their recipient disabled), with the
    reason; "Requeue" sends failed ones again (a cancelled one stays cancelled: its recipient is off)."""

    can_create = can_edit = can_delete = False
    can_view_details = True
    action_disallowed_list = ["delete"]
    page_size = 50
    column_list = ("id", "message.idempotency_key", "message.kind", "recipient", "status", "attempts", "last_error")
    column_formatters = {"status": lambda view, context, model, name: _status_label(model.status),
                         "recipient": lambda view, context, model, name: (
        f"{model.recipient.name or model.recipient.channel} ({model.recipient.channel}: "
        f"{_recipient_address(model.recipient)})" if model.recipient else ""),
        "last_error": lambda view, context, model, name: URL_IN_TEXT.sub(lambda m: shown_address(m.group(0)),
                                                                  model.last_error or "")}
    column_formatters_detail = column_formatters
    column_default_sort = ("id", True)
    column_labels = {"message.idempotency_key": _l("Idempotency key"), "message.kind": _l("Kind"),
                     "recipient": _l("Recipient"), "status": _l("Status"), "attempts": _l("Attempts"),
                     "last_error": _l("Error")}

    def get_query(self):
        return super().get_query().filter(Delivery.status.in_(UNSENT))

    def get_count_query(self):
        return super().get_count_query().filter(Delivery.status.in_(UNSENT))

    @action("requeue", _l("Requeue"), _l("Send the selected deliveries again?"))
    def action_requeue(self, ids: list[str]) -> None:
        count = outbox.requeue(db.session, [int(i) for i in ids])  # psycopg 3 sends the ids as strings
        db.session.commit()
        try:
            enqueue_delivery(current_app.extensions["civicrules.settings"])
        except Exception:
            current_app.logger.warning("could not queue delivery; the sweep will", exc_info=True)
        flash(ngettext("%(num)s delivery requeued.", "%(num)s deliveries requeued.", count), "success")
