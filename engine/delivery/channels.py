"""Channels outside the app: render an outbox message in the recipient's language and send it once.

Senders never retry and never touch the database: they return an `Outcome`, and
engine/delivery/outbox.py records it and schedules the retry. Every webhook and robot call goes through
the one outbound client, `engine.delivery.http.post_json`, which checks the target against the allow-list.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from engine.core.config import DeliverySettings, load_settings
from engine.core.models import DEFAULT_TIMEZONE
from engine.delivery.http import Answer, Refused, post_json

CHANNELS = ("webhook", "wecom", "dingtalk", "email", "aliyun_sms", "tencent_sms")
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Addressee:
    """A recipient detached from the session, so sending holds no transaction open."""

    id: int
    name: str
    channel: str
    address: str
    secret: str | None
    language: str

    @classmethod
    def of(cls, recipient: Any) -> "Addressee":
        return cls(recipient.id, recipient.name or "", recipient.channel, recipient.address, recipient.secret,
                   recipient.language or "zh")


@dataclass(frozen=True)
class Policy:
    """How hard to try: attempts per delivery, exponential back-off, the timeout of each SMTP call, and the
    outbound HTTP client's connect and read timeouts (so a receiver that hangs holds a send only that long)."""

    max_attempts: int = 6
    backoff_base: float = 2.0
    backoff_cap: float = 3600.0
    timeout: float = 10.0
    connect_timeout: float = 3.0
    read_timeout: float = 10.0

    @property
    def longest_call(self) -> float:
        """The longest one send can take before its timeouts end it (for the claim's lease)."""
        return max(self.timeout, self.connect_timeout + self.read_timeout)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failure: 2, 4, 8 … up to the cap."""
        return min(self.backoff_cap, self.backoff_base * 2 ** max(0, attempts - 1))


def delivery_policy(settings: DeliverySettings | None = None) -> Policy:
    """The delivery policy operators configured (the process's settings unless a caller passes its own)."""
    settings = settings or load_settings().delivery
    return Policy(max_attempts=max(1, settings.max_attempts), backoff_base=settings.backoff_seconds,
                  backoff_cap=settings.backoff_cap_seconds, timeout=settings.timeout_seconds,
                  connect_timeout=settings.http_connect_timeout, read_timeout=settings.http_read_timeout)


@dataclass(frozen=True)
class Outcome:
    """What one send did; `permanent` failures are not retried."""

    ok: bool
    error: str = ""
    permanent: bool = False


@dataclass(frozen=True)
class Attachment:
    """A file an e-mail carries (a bulletin's PDF); `language` None goes to every reader, else to theirs."""

    filename: str
    content_type: str
    data: bytes
    language: str | None = None


@dataclass(frozen=True)
class Context:
    """What a message says, gathered from the outbox row, its task and its unit."""

    kind: str
    idempotency_key: str
    target: str
    payload: dict[str, Any] = field(default_factory=dict)
    task_id: int | None = None
    event_id: int | None = None
    unit: dict[str, str] | None = None  # {"zh": ..., "en": ...}
    deadline: datetime | None = None
    timezone: str = DEFAULT_TIMEZONE
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Rendered:
    title: str
    text: str


# Kinds the engine writes (pipeline, escalation, supervision, digest) -> title and lead sentence.
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "task_dispatched": {"zh": ("新任务派发", "有一项新任务派发给贵单位，请按时限处置。"),
                        "en": ("Task dispatched", "A new task has been dispatched to your unit; please handle it "
                                                  "within the time limit.")},
    "notify": {"zh": ("规则通知", "一条规则命中了事件，特此通知。"),
               "en": ("Rule notification", "A rule matched an event; this is your notification.")},
    "remind": {"zh": ("催办", "任务尚未办结，请尽快处置。"),
               "en": ("Reminder (催办)", "The task is still open; please handle it now.")},
    "order": {"zh": ("督办", "任务已进入督办，请限期处置并回复办理情况。"),
              "en": ("Order to handle (督办)", "The task is now under supervision; handle it and report back "
                                               "in time.")},
    "escalate": {"zh": ("升级督办", "任务已升级，由{body}督办。"),
                 "en": ("Escalated", "The task has been escalated to {body}.")},
    "list_publicly": {"zh": ("挂牌督办", "任务已挂牌督办，办理情况将公开通报。"),
                      "en": ("Listed publicly (挂牌督办)", "The task has been listed publicly for supervision; "
                                                           "its progress will be reported openly.")},
    "case_reply": {"zh": ("案件办理情况回复", "您来源的案件有了新的办理结果。"),
                   "en": ("Case outcome", "A case your source reported has a new outcome.")},
    "digest": {"zh": ("每日待办", "今日未办结任务 {open} 件，其中超期 {overdue} 件。"),
               "en": ("Daily digest", "{open} open tasks today, {overdue} of them overdue.")},
    "readiness_missed": {"zh": ("点位未按时自查", "测评点位未在规定时间前完成每日自查，请督促包点责任人立即自查。"),
                         "en": ("Point not checked", "An inspection point was not checked by the readiness time; have "
                                                     "its responsible person check it now.")},
    "bulletin_published": {"zh": ("督查通报第{number}期", "{summary}"),
                           "en": ("Inspection Bulletin No. {number}", "{summary}")},
    "plan_overdue": {"zh": ("创建任务督办", "创建任务分解表第 {code} 项「{item}」已超过完成时限（{due_on}），"
                                            "当前进度 {percent}%，请限期完成并报送进度。"),
                     "en": ("Plan item overdue", "Item {code} of the task breakdown table, “{item}”, is past its due "
                                                 "date ({due_on}) at {percent}% done: finish it and report its "
                                                 "progress.")},
}
CALENDAR_GAP = {"zh": "注意：自 {day} 起工作日历没有节假日数据，处置时限将按周一至周五计算，请管理员录入当年节假日安排。",
                "en": "Note: from {day} the working calendar has no holiday data; limits will count Monday to Friday "
                      "until an administrator enters that year's holiday notice."}
DUTY_GAP = {"zh": "注意：非工作时间该单位无人值班可达（值班表空缺或值班人员无通知渠道），本消息改发单位日间地址。",
            "en": "Note: after hours nobody on duty for this unit could be reached (a roster gap, or no channel of "
                  "theirs); this message went to the unit's day address instead."}
ALIASES = {"supervision_urge": "remind", "supervision_order": "order", "supervision_list_publicly": "list_publicly"}
FALLBACK = {"zh": ("通知", "您有一条新消息（{kind}）。"), "en": ("Notification", "You have a new message ({kind}).")}
LABELS = {"zh": {"task": "任务", "event": "事件", "unit": "单位", "deadline": "处置时限", "tier": "督办层级",
                 "rule": "规则", "message": "内容", "day": "日期", "key": "消息编号", "case": "案件",
                 "outcome": "办理结果", "reports": "来源工单", "period": "通报周期"},
          "en": {"task": "Task", "event": "Event", "unit": "Unit", "deadline": "Deadline", "tier": "Tier",
                 "rule": "Rule", "message": "Message", "day": "Day", "key": "Message key", "case": "Case",
                 "outcome": "Outcome", "reports": "Source orders", "period": "Week covered"}}
#: A case reply's outcome in words (engine/cases/replies.py).
OUTCOME_NAMES = {"zh": {"closed": "已结案", "not_filed": "不予立案", "reopened": "已重启（回访不满意）"},
                 "en": {"closed": "closed", "not_filed": "not filed", "reopened": "reopened (not satisfied)"}}


def _deadline_text(ctx: Context) -> str | None:
    deadline = ctx.deadline
    if deadline is None and isinstance(ctx.payload.get("deadline"), str):
        try:
            deadline = datetime.fromisoformat(ctx.payload["deadline"])
        except ValueError:
            return ctx.payload["deadline"]
    if deadline is None or deadline.tzinfo is None:
        return None
    return f"{deadline.astimezone(ZoneInfo(ctx.timezone)):%Y-%m-%d %H:%M} ({ctx.timezone})"


def _body(payload: dict[str, Any], tier: Any, lang: str) -> str:
    """The supervising body a step reached, by the name the step carries (督考办), else by its level."""
    body = payload.get("body")
    name = body.get("name") if isinstance(body, dict) else None
    if isinstance(name, dict) and name.get(lang):
        return str(name[lang])
    return f"第 {tier} 级督办机构" if lang == "zh" else f"supervision tier {tier}"


def render(ctx: Context, language: str) -> Rendered:
    """The title and plain text of a message in zh or en, with task, unit and deadline when known."""
    lang = language if language in LANGUAGES else "zh"
    kind = ALIASES.get(ctx.kind, ctx.kind)
    title, lead = TEMPLATES.get(kind, FALLBACK)[lang]
    values = {"tier": ctx.payload.get("tier") or (ctx.target.split(":", 1)[1] if ctx.target.startswith("tier:") else "?"),
              "open": ctx.payload.get("open", "?"), "overdue": ctx.payload.get("overdue", "?"), "kind": ctx.kind,
              "number": ctx.payload.get("number", "?"), "summary": (ctx.payload.get("summary") or {}).get(lang, ""),
              "code": ctx.payload.get("code", "?"), "due_on": ctx.payload.get("due_on", "?"),
              "percent": ctx.payload.get("percent", "?"), "item": ctx.payload.get("title", "?")}
    values["body"] = _body(ctx.payload, values["tier"], lang)
    if lang == "en" and kind == "digest" and values["open"] == 1:
        lead = "1 open task today, and it is overdue." if values["overdue"] == 1 else "1 open task today, not overdue."
    title = title.format(**values)
    labels = LABELS[lang]
    sep = "：" if lang == "zh" else ": "
    lines = [f"【{title}】" if lang == "zh" else f"[{title}]", lead.format(**values)]
    task_id = ctx.task_id or ctx.payload.get("task")
    reports = ctx.payload.get("source_event_ids")
    details: list[tuple[str, Any]] = [
        ("case", f"#{ctx.payload['case']}" if ctx.payload.get("case") else None),
        ("outcome", OUTCOME_NAMES[lang].get(ctx.payload.get("outcome", ""))),
        ("reports", ", ".join(map(str, reports)) if isinstance(reports, list) else None),
        ("task", f"#{task_id}" if task_id else None),
        ("event", f"#{ctx.event_id or ctx.payload.get('event')}" if (ctx.event_id or ctx.payload.get("event")) else None),
        ("unit", ctx.unit[lang] if ctx.unit else None),
        ("deadline", _deadline_text(ctx)),
        ("tier", ctx.payload.get("tier") if kind not in ("escalate",) else None),
        ("rule", ctx.payload.get("rule")),
        ("day", ctx.payload.get("day")),
        ("period", ctx.payload.get("period")),
        ("message", ctx.payload.get("message")),
        ("key", ctx.idempotency_key),
    ]
    lines += [f"{labels[name]}{sep}{value}" for name, value in details if value not in (None, "")]
    if ctx.payload.get("calendar_gap"):
        lines.append(CALENDAR_GAP[lang].format(day=ctx.payload["calendar_gap"]))
    if (ctx.payload.get("duty") or {}).get("gap"):
        lines.append(DUTY_GAP[lang])
    return Rendered(title=title, text="\n".join(lines))


def _http_outcome(answer: Answer) -> Outcome:
    if 200 <= answer.status < 300:
        return Outcome(True)
    retryable = answer.status >= 500 or answer.status in (408, 425, 429)
    return Outcome(False, f"HTTP {answer.status}: {answer.body[:200].decode('utf-8', 'replace')}",
                   permanent=not retryable)


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` over timestamp + "." + body, so a receiver can check origin and freshness."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: base64 HMAC-SHA256 of "timestamp\\nsecret", URL-encoded, appended to the URL."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256)
    sign = quote_plus(base64.b64encode(mac.digest()).decode("ascii"))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign}"


def _webhook(recipient: Addressee, ctx: Context, rendered: Rendered, policy: Policy) -> Outcome:
    body = json.dumps({"idempotency_key": ctx.idempotency_key, "kind": ctx.kind, "target": ctx.target,
                       "task": ctx.task_id or ctx.payload.get("task"), "event": ctx.event_id,
                       "unit": ctx.unit, "deadline": ctx.deadline.isoformat() if ctx.deadline else None,
                       "language": recipient.language, "title": rendered.title, "text": rendered.text,
                       "payload": ctx.payload}, ensure_ascii=False, sort_keys=True).encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {"Idempotency-Key": ctx.idempotency_key, "X-CivicRules-Timestamp": timestamp}
    if recipient.secret:
        headers["X-CivicRules-Signature"] = webhook_signature(recipient.secret, timestamp, body)
    return _http_outcome(post_json(recipient.address, body, headers, policy.connect_timeout, policy.read_timeout))


def _robot_outcome(answer: Answer, robot: str) -> Outcome:
    outcome = _http_outcome(answer)
    if not outcome.ok:
        return outcome
    reply = answer.json()
    if isinstance(reply, dict) and reply.get("errcode") == 0:
        return Outcome(True)
    if isinstance(reply, dict):
        return Outcome(False, f"{robot} errcode {reply.get('errcode')}: {reply.get('errmsg', '')}")
    return Outcome(False, f"{robot} answered without a JSON errcode: {answer.body[:200].decode('utf-8', 'replace')}")


def _robot_body(rendered: Rendered) -> bytes:
    return json.dumps({"msgtype": "text", "text": {"content": rendered.text}}, ensure_ascii=False).encode("utf-8")


def _wecom(recipient: Addressee, ctx: Context, rendered: Rendered, policy: Policy) -> Outcome:
    answer = post_json(recipient.address, _robot_body(rendered), {"Idempotency-Key": ctx.idempotency_key},
                       policy.connect_timeout, policy.read_timeout)
    return _robot_outcome(answer, "WeCom")


def _dingtalk(recipient: Addressee, ctx: Context, rendered: Rendered, policy: Policy) -> Outcome:
    url = recipient.address
    if recipient.secret:
        url = dingtalk_signed_url(url, recipient.secret, int(time.time() * 1000))
    answer = post_json(url, _robot_body(rendered), {"Idempotency-Key": ctx.idempotency_key},
                       policy.connect_timeout, policy.read_timeout)
    return _robot_outcome(answer, "DingTalk")


def message_id(idempotency_key: str, address: str) -> str:
    """The same Message-ID on every retry, so mail systems can drop the duplicates."""
    digest = hashlib.sha256(f"{idempotency_key}\n{address}".encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@civicrules.invalid>"


def _email(recipient: Addressee, ctx: Context, rendered: Rendered, policy: Policy) -> Outcome:
    smtp_settings = load_settings().delivery.smtp
    host, sender = smtp_settings.host, smtp_settings.sender
    if not host or not sender:
        return Outcome(False, "e-mail is not configured (CIVICRULES_SMTP_HOST, CIVICRULES_SMTP_FROM) / "
                              "未配置邮件服务器", permanent=True)
    mail = EmailMessage()
    mail["Subject"] = f"[CivicRules] {rendered.title}"
    mail["From"] = sender
    mail["To"] = recipient.address
    mail["Message-ID"] = message_id(ctx.idempotency_key, recipient.address)
    mail["X-CivicRules-Idempotency-Key"] = ctx.idempotency_key
    mail.set_content(rendered.text)
    for attachment in ctx.attachments:
        if attachment.language in (None, recipient.language):
            maintype, _, subtype = attachment.content_type.partition("/")
            mail.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    try:
        with smtplib.SMTP(host, smtp_settings.port, timeout=policy.timeout) as smtp:
            if smtp_settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if smtp_settings.user:
                smtp.login(smtp_settings.user, smtp_settings.password)
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        return Outcome(False, f"SMTP refused the recipient: {exc.recipients}", permanent=True)
    except smtplib.SMTPResponseException as exc:
        return Outcome(False, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=500 <= exc.smtp_code < 600)
    return Outcome(True)


def _sms(recipient: Addressee, ctx: Context, rendered: Rendered, policy: Policy) -> Outcome:
    """SMS sends a provider's template, not the rendered text (engine/delivery/sms.py)."""
    from engine.delivery import sms  # imported here: sms builds on this module's Context and Outcome

    return sms.send(recipient, ctx, policy)


SENDERS = {"webhook": _webhook, "wecom": _wecom, "dingtalk": _dingtalk, "email": _email, "aliyun_sms": _sms,
           "tencent_sms": _sms}


def send(recipient: Addressee, ctx: Context, policy: Policy) -> Outcome:
    """Send one message to one recipient; every error becomes an Outcome, none escapes."""
    sender = SENDERS.get(recipient.channel)
    if sender is None:
        return Outcome(False, f"unknown channel {recipient.channel!r} / 未知的通知渠道", permanent=True)
    try:
        return sender(recipient, ctx, render(ctx, recipient.language), policy)
    except Refused as exc:
        return Outcome(False, f"refused: {exc}", permanent=True)
    except (OSError, http.client.HTTPException, smtplib.SMTPException, ValueError) as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}")
