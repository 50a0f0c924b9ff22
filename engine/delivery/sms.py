"""SMS through Aliyun (Dysmsapi 2017-05-25, SendSms) and Tencent Cloud (SMS 2021-01-11, SendSms).

Providers send only approved templates, so a message becomes a template id and its parameters, taken from
the same context `channels.render` writes from. Requests are signed here and sent with the one outbound
client (`engine.delivery.http.post_json`); no provider SDK is needed at run time. Aliyun is signed with
ACS3-HMAC-SHA256, the V3 signature Alibaba documents for every API including RPC ones like Dysmsapi and that
its current SDKs use by default (the older HMAC-SHA1 RPC signature is kept only for compatibility); Tencent
with TC3-HMAC-SHA256. Every retry of one delivery carries the same id (Aliyun `OutId`, Tencent
`SessionContext`), so the provider's receipts or a receiver can tell a resend from a new message.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from engine.core.config import SmsProvider, load_settings
from engine.delivery.channels import ALIASES, LANGUAGES, OUTCOME_NAMES, Addressee, Context, Outcome, Policy, render
from engine.delivery.http import Answer, post_json
from engine.people.staff import normal_phone

SMS_CHANNELS = ("aliyun_sms", "tencent_sms")

#: The template parameters of each message kind, in order (Tencent numbers them {1}, {2} …; Aliyun names them).
PARAMETERS: dict[str, tuple[str, ...]] = {
    "task_dispatched": ("task", "unit", "deadline"),
    "remind": ("task", "unit", "deadline"),
    "order": ("task", "unit", "deadline"),
    "escalate": ("task", "unit", "tier"),
    "list_publicly": ("task", "unit", "deadline"),
    "notify": ("rule", "task"),
    "case_reply": ("case", "outcome"),
    "digest": ("open", "overdue"),
}
OTHER_PARAMETERS = ("title", "task")
#: Providers cap a template variable's length; Aliyun's longest variable type takes 35 characters.
MAX_VALUE = 35

MAINLAND_MOBILE = re.compile(r"1[3-9]\d{9}")
E164 = re.compile(r"\+[1-9]\d{6,14}")


def sms_phone(text: str) -> str | None:
    """A mobile number in E.164 (+8613900000001), or None; mainland numbers may come bare or with 86/0086."""
    phone = normal_phone(text).replace("(", "").replace(")", "")
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if MAINLAND_MOBILE.fullmatch(phone):
        return "+86" + phone
    if phone.startswith("86") and MAINLAND_MOBILE.fullmatch(phone[2:]):
        return "+" + phone
    if phone.startswith("+86"):
        return phone if MAINLAND_MOBILE.fullmatch(phone[3:]) else None
    return phone if E164.fullmatch(phone) else None


def sms_id(idempotency_key: str, phone: str) -> str:
    """The same id on every retry of one message to one number (Aliyun OutId, Tencent SessionContext)."""
    return hashlib.sha256(f"{idempotency_key}\n{phone}".encode("utf-8")).hexdigest()[:32]


def template_for(provider: SmsProvider, kind: str) -> str | None:
    """The approved template of a message kind: its own, else the provider's `*` template."""
    kind = ALIASES.get(kind, kind)
    return provider.templates.get(kind) or provider.templates.get("*")


def parameters(ctx: Context, language: str) -> dict[str, str]:
    """The template's parameters, named and in order, in the recipient's language; "-" when unknown."""
    lang = language if language in LANGUAGES else "zh"
    kind = ALIASES.get(ctx.kind, ctx.kind)
    deadline = ctx.deadline
    if deadline is None and isinstance(ctx.payload.get("deadline"), str):
        try:
            deadline = datetime.fromisoformat(ctx.payload["deadline"])
        except ValueError:
            deadline = None
    tier = ctx.payload.get("tier") or (ctx.target.split(":", 1)[1] if ctx.target.startswith("tier:") else None)
    values: dict[str, Any] = {
        "task": ctx.task_id or ctx.payload.get("task"),
        "unit": ctx.unit[lang] if ctx.unit else None,
        "deadline": (f"{deadline.astimezone(ZoneInfo(ctx.timezone)):%Y-%m-%d %H:%M}"
                     if deadline is not None and deadline.tzinfo is not None else None),
        "tier": tier,
        "rule": ctx.payload.get("rule"),
        "case": ctx.payload.get("case"),
        "outcome": OUTCOME_NAMES[lang].get(ctx.payload.get("outcome", "")),
        "open": ctx.payload.get("open"),
        "overdue": ctx.payload.get("overdue"),
    }
    names = PARAMETERS.get(kind, OTHER_PARAMETERS)
    if "title" in names:
        values["title"] = render(ctx, lang).title
    return {name: str(values[name])[:MAX_VALUE] if values.get(name) not in (None, "") else "-" for name in names}


def _encode(text: str) -> str:
    """RFC 3986 percent-encoding, as both providers canonicalise (space is %20, ~ stays)."""
    return quote(text, safe="~")


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1]


#: Header names as the outbound client spells them, so a signed header replaces its default instead of doubling it.
HTTP_NAMES = {"host": "Host", "content-type": "Content-Type"}


def acs3_headers(method: str, host: str, path: str, query: dict[str, str], body: bytes, action: str, version: str,
                 key_id: str, key_secret: str, date: str, nonce: str,
                 content_type: str | None = None) -> dict[str, str]:
    """The headers of an Aliyun request signed with ACS3-HMAC-SHA256: host, x-acs-* and content-type are signed."""
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-acs-action": action, "x-acs-version": version, "x-acs-date": date,
               "x-acs-signature-nonce": nonce, "x-acs-content-sha256": payload_hash}
    if content_type:
        headers["content-type"] = content_type
    names = sorted(headers)
    canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query.items()))
    canonical = "\n".join([method, path or "/", canonical_query,
                           "".join(f"{name}:{headers[name].strip()}\n" for name in names), ";".join(names),
                           payload_hash])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    signature = hmac.new(key_secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders={';'.join(names)},"
                                f"Signature={signature}")
    return {HTTP_NAMES.get(name, name): value for name, value in headers.items()}


def tc3_authorization(secret_id: str, secret_key: str, service: str, host: str, content_type: str, body: bytes,
                      timestamp: int) -> str:
    """The Authorization of a Tencent Cloud API 3.0 POST signed with TC3-HMAC-SHA256 over content-type and host."""
    canonical = "\n".join(["POST", "/", "", f"content-type:{content_type}\nhost:{host}\n", "content-type;host",
                           hashlib.sha256(body).hexdigest()])
    date = datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
    key = ("TC3" + secret_key).encode("utf-8")
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


#: Provider codes that mean "not now": throttled or the provider's own trouble; everything else is permanent.
ALIYUN_TEMPORARY = {"isv.BUSINESS_LIMIT_CONTROL", "isp.SYSTEM_ERROR", "ServiceUnavailable", "InternalError"}
TENCENT_TEMPORARY_PREFIXES = ("RequestLimitExceeded", "LimitExceeded", "InternalError")


def _unreadable(answer: Answer, provider: str) -> Outcome:
    retryable = answer.status >= 500 or answer.status in (408, 425, 429)
    return Outcome(False, f"{provider} HTTP {answer.status}: {answer.body[:200].decode('utf-8', 'replace')}",
                   permanent=not retryable)


def aliyun_outcome(answer: Answer) -> Outcome:
    """Aliyun's `Code`: OK is sent; throttling and system errors are retried; the rest fail with its message."""
    reply = answer.json()
    code = reply.get("Code") if isinstance(reply, dict) else None
    if not isinstance(code, str):
        return _unreadable(answer, "Aliyun SMS")
    if code == "OK" and 200 <= answer.status < 300:
        return Outcome(True)
    temporary = code.startswith("Throttling") or code in ALIYUN_TEMPORARY or answer.status >= 500
    return Outcome(False, f"Aliyun SMS {code}: {reply.get('Message', '')}", permanent=not temporary)


def tencent_outcome(answer: Answer, phone: str) -> Outcome:
    """Tencent's `Error` or the number's `SendStatusSet` entry: Ok is sent; limits and internal errors are retried."""
    reply = answer.json()
    response = reply.get("Response") if isinstance(reply, dict) else None
    if not isinstance(response, dict):
        return _unreadable(answer, "Tencent SMS")
    status = response.get("Error")
    if not isinstance(status, dict):
        statuses = [s for s in response.get("SendStatusSet") or [] if isinstance(s, dict)]
        status = next((s for s in statuses if s.get("PhoneNumber") == phone), statuses[0] if statuses else None)
    if not isinstance(status, dict):
        return Outcome(False, "Tencent SMS answered without a send status: "
                              f"{answer.body[:200].decode('utf-8', 'replace')}")
    code = str(status.get("Code", ""))
    if code == "Ok":
        return Outcome(True)
    temporary = code.startswith(TENCENT_TEMPORARY_PREFIXES) or answer.status >= 500
    return Outcome(False, f"Tencent SMS {code}: {status.get('Message', '')}", permanent=not temporary)


PROVIDER_NAMES = {"Aliyun": "阿里云", "Tencent": "腾讯云"}


def _prepared(recipient: Addressee, ctx: Context, provider: SmsProvider,
              name: str) -> tuple[str, str, dict[str, str]] | Outcome:
    """The number, template and parameters of one SMS, or the permanent failure that stops it."""
    if not provider.configured:
        return Outcome(False, f"{name} SMS is not configured (credentials, sign name, templates) / "
                              f"未配置{PROVIDER_NAMES[name]}短信", permanent=True)
    phone = sms_phone(recipient.address)
    if phone is None:
        return Outcome(False, f"{recipient.address!r} is not a mobile number / 不是有效的手机号码", permanent=True)
    template = template_for(provider, ctx.kind)
    if template is None:
        return Outcome(False, f"no {name} SMS template for {ctx.kind!r} / "
                              f"未配置该类消息（{ctx.kind}）的{PROVIDER_NAMES[name]}短信模板", permanent=True)
    return phone, template, parameters(ctx, recipient.language)


def send_aliyun(recipient: Addressee, ctx: Context, policy: Policy) -> Outcome:
    """One SendSms call to Aliyun, parameters in the query, signed with ACS3-HMAC-SHA256."""
    provider = load_settings().delivery.sms.aliyun
    prepared = _prepared(recipient, ctx, provider, "Aliyun")
    if isinstance(prepared, Outcome):
        return prepared
    phone, template, values = prepared
    query = {"PhoneNumbers": phone[3:] if phone.startswith("+86") else phone[1:], "SignName": provider.sign_name,
             "TemplateCode": template, "TemplateParam": json.dumps(values, ensure_ascii=False, separators=(",", ":")),
             "OutId": sms_id(ctx.idempotency_key, phone)}
    parts = urlsplit(provider.endpoint)
    path = parts.path or "/"
    headers = acs3_headers("POST", _host(provider.endpoint), path, query, b"", "SendSms", "2017-05-25",
                           provider.key_id, provider.key_secret,
                           datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), uuid.uuid4().hex,
                           "application/x-www-form-urlencoded")
    url = f"{parts.scheme}://{parts.netloc}{path}?" + "&".join(f"{_encode(k)}={_encode(v)}" for k, v in query.items())
    return aliyun_outcome(post_json(url, b"", headers, policy.connect_timeout, policy.read_timeout))


def send_tencent(recipient: Addressee, ctx: Context, policy: Policy) -> Outcome:
    """One SendSms call to Tencent Cloud, a JSON body signed with TC3-HMAC-SHA256."""
    provider = load_settings().delivery.sms.tencent
    prepared = _prepared(recipient, ctx, provider, "Tencent")
    if isinstance(prepared, Outcome):
        return prepared
    if not provider.app_id:
        return Outcome(False, "Tencent SMS has no SdkAppId (CIVICRULES_TENCENT_SMS_SDK_APP_ID) / 未配置腾讯云短信应用",
                       permanent=True)
    phone, template, values = prepared
    body = json.dumps({"PhoneNumberSet": [phone], "SmsSdkAppId": provider.app_id, "SignName": provider.sign_name,
                       "TemplateId": template, "TemplateParamSet": list(values.values()),
                       "SessionContext": sms_id(ctx.idempotency_key, phone)}, ensure_ascii=False).encode("utf-8")
    host, timestamp = _host(provider.endpoint), int(time.time())
    content_type = "application/json; charset=utf-8"
    headers = {"Host": host, "Content-Type": content_type, "X-TC-Action": "SendSms", "X-TC-Version": "2021-01-11",
               "X-TC-Timestamp": str(timestamp), "X-TC-Region": provider.region,
               "Authorization": tc3_authorization(provider.key_id, provider.key_secret, "sms", host, content_type,
                                                  body, timestamp)}
    answer = post_json(provider.endpoint, body, headers, policy.connect_timeout, policy.read_timeout)
    return tencent_outcome(answer, phone)


def send(recipient: Addressee, ctx: Context, policy: Policy) -> Outcome:
    """Send one SMS through the recipient's provider."""
    return (send_aliyun if recipient.channel == "aliyun_sms" else send_tencent)(recipient, ctx, policy)
