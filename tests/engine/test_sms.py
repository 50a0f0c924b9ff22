"""SMS through Aliyun and Tencent Cloud: signatures match the providers' documented examples, and outbox
deliveries reach real HTTP gateways on 127.0.0.1 that check every request with the provider's own SDK code."""
from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from alibabacloud_openapi_util.client import Client as AliyunOpenApiUtil
from tencentcloud.common.abstract_client import AbstractClient as TencentClient
from tencentcloud.common.http.request import RequestInternal

from engine.core.config import read_settings
from engine.delivery import sms
from tests.engine.test_notify import _deliver, _message, _recipient, _start, _state, _unit

ALIYUN_KEY = ("LTAI5tSmsTestKeyId", "sms-test-aliyun-secret")
TENCENT_KEY = ("AKIDsmsTestSecretId", "sms-test-tencent-secret")


def test_the_aliyun_signer_reproduces_alibabas_documented_acs3_example():
    """The V3 signature document's RunInstances example, byte for byte (help.aliyun.com, "V3版本请求体&签名机制")."""
    headers = sms.acs3_headers(
        "POST", "ecs.cn-shanghai.aliyuncs.com", "/",
        {"ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", "RegionId": "cn-shanghai"}, b"",
        "RunInstances", "2014-05-26", "YourAccessKeyId", "YourAccessKeySecret", "2023-10-26T10:22:32Z",
        "3156853299f313e23d1673dc12e1703d")
    assert headers["Authorization"] == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,"
        "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0")
    assert headers["x-acs-content-sha256"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_the_tencent_signer_reproduces_tencents_documented_tc3_example():
    """The "Signature v3" document's DescribeInstances example (SecretKey Gu5t9xGARNpq86cd98joQYCN3EXAMPLE)."""
    body = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    assert hashlib.sha256(body).hexdigest() == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    authorization = sms.tc3_authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
                                          "cvm", "cvm.tencentcloudapi.com", "application/json; charset=utf-8", body,
                                          1551113065)
    assert authorization == ("TC3-HMAC-SHA256 "
                             "Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
                             "SignedHeaders=content-type;host, "
                             "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")


@pytest.mark.parametrize(("typed", "stored"), [
    ("13900000001", "+8613900000001"), ("139 0000-0001", "+8613900000001"), ("+86 139 0000 0001", "+8613900000001"),
    ("008613900000001", "+8613900000001"), ("8613900000001", "+8613900000001"), ("+852 6123 4567", "+85261234567"),
    ("12345", None), ("+86 139 0000", None), ("010-12345678", None), ("https://example.org", None), ("", None)])
def test_mobile_numbers_are_stored_in_e164(typed, stored):
    assert sms.sms_phone(typed) == stored


def test_a_template_setting_without_a_template_is_refused_naming_it(tmp_path):
    env = {"CIVICRULES_INSTANCE": str(tmp_path), "CIVICRULES_TENCENT_SMS_TEMPLATES": "task_dispatched=1, remind"}
    with pytest.raises(ValueError, match="'remind'"):
        read_settings(env)
    env["CIVICRULES_TENCENT_SMS_TEMPLATES"] = "task_dispatched=1001, *=1009"
    assert read_settings(env).delivery.sms.tencent.templates == {"task_dispatched": "1001", "*": "1009"}


@dataclass
class Gateway:
    """A provider's SMS gateway: checks each request's signature with the provider's SDK code, sends each
    logical SMS once per idempotency id (OutId, SessionContext), and answers from a script whose last step
    repeats: "ok", "lose" (send, then drop the connection before answering) or a provider error code."""

    provider: str
    key_id: str
    key_secret: str
    script: list[str]
    requests: list[dict[str, Any]] = field(default_factory=list)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    url: str = ""

    def step(self) -> str:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


def _aliyun_verified(gateway: Gateway, method: str, target: str, headers: Any, body: bytes) -> bool:
    """Recompute the ACS3 Authorization with Alibaba's alibabacloud_openapi_util over what arrived."""
    auth = headers.get("Authorization", "")
    match = re.fullmatch(r"ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=[0-9a-f]{64}", auth)
    if not match or match[1] != gateway.key_id:
        return False
    signed = match[2].split(";")
    must_sign = {name.lower() for name in headers.keys()
                 if name.lower().startswith("x-acs-") or name.lower() in ("host", "content-type")}
    payload = AliyunOpenApiUtil.hex_encode(AliyunOpenApiUtil.hash(body, "ACS3-HMAC-SHA256"))
    sent_at = datetime.strptime(headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    if set(signed) != must_sign or headers.get("x-acs-content-sha256") != payload:
        return False
    if abs(datetime.now(timezone.utc) - sent_at) > timedelta(minutes=15):
        return False
    parts = urlsplit(target)
    request = SimpleNamespace(method=method, pathname=parts.path, headers={name: headers[name] for name in signed},
                              query=dict(parse_qsl(parts.query, keep_blank_values=True)))
    return AliyunOpenApiUtil.get_authorization(request, "ACS3-HMAC-SHA256", payload, gateway.key_id,
                                               gateway.key_secret) == auth


def _tencent_verified(gateway: Gateway, method: str, target: str, headers: Any, body: bytes) -> bool:
    """Recompute the TC3 signature with the Tencent Cloud SDK's own canonicalisation and signing."""
    auth = headers.get("Authorization", "")
    match = re.fullmatch(r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/sms/tc3_request, "
                         r"SignedHeaders=content-type;host, Signature=([0-9a-f]{64})", auth)
    timestamp = headers.get("X-TC-Timestamp", "0")
    if not match or match[1] != gateway.key_id or not timestamp.isdigit():
        return False
    signed_at = datetime.fromtimestamp(int(timestamp), timezone.utc)
    if match[2] != f"{signed_at:%Y-%m-%d}" or abs(datetime.now(timezone.utc) - signed_at) > timedelta(minutes=5):
        return False
    request = RequestInternal(host=headers["Host"], method=method, uri=urlsplit(target).path, data=body,
                              header={"Content-Type": headers["Content-Type"], "Host": headers["Host"],
                                      "X-TC-Timestamp": timestamp})
    return TencentClient._get_tc3_signature(None, None, request, match[2], "sms", gateway.key_secret) == match[3]


def _aliyun_sms(target: str, headers: Any, body: bytes) -> dict[str, Any]:
    query = dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))
    return {"id": query.get("OutId"), "phone": query.get("PhoneNumbers"), "sign": query.get("SignName"),
            "template": query.get("TemplateCode"), "params": json.loads(query.get("TemplateParam") or "{}"),
            "action": (headers.get("x-acs-action"), headers.get("x-acs-version"))}


def _tencent_sms(target: str, headers: Any, body: bytes) -> dict[str, Any]:
    data = json.loads(body.decode("utf-8"))
    return {"id": data.get("SessionContext"), "phone": data.get("PhoneNumberSet", [None])[0],
            "app": data.get("SmsSdkAppId"),
            "sign": data.get("SignName"), "template": data.get("TemplateId"), "params": data.get("TemplateParamSet"),
            "action": (headers.get("X-TC-Action"), headers.get("X-TC-Version"), headers.get("X-TC-Region"))}


def _answer(gateway: Gateway, verified: bool, code: str, message: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request_id = str(uuid.uuid4())
    if gateway.provider == "aliyun":
        if not verified:
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature does not match our "
                                                                     "calculation.", "RequestId": request_id}
        if code == "ok":
            return 200, {"Code": "OK", "Message": "OK", "BizId": f"biz-{message['id']}", "RequestId": request_id}
        return 200, {"Code": code, "Message": f"refused: {code}", "RequestId": request_id}
    if not verified:
        return 200, {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure",
                                            "Message": "The provided credentials could not be validated."},
                                  "RequestId": request_id}}
    status = {"SerialNo": f"serial-{message['id']}", "PhoneNumber": message["phone"], "Fee": 1,
              "SessionContext": message["id"], "Code": "Ok" if code == "ok" else code,
              "Message": "send success" if code == "ok" else f"refused: {code}", "IsoCode": "CN"}
    return 200, {"Response": {"SendStatusSet": [status], "RequestId": request_id}}


@pytest.fixture()
def gateways(monkeypatch):
    """Start provider gateways on 127.0.0.1 and point the configuration at them."""
    servers: list[ThreadingHTTPServer] = []
    monkeypatch.setenv("CIVICRULES_WEBHOOK_ALLOW", "127.0.0.1/32")

    def start(provider: str, *script: str, secret: str | None = None) -> Gateway:
        key_id, key_secret = ALIYUN_KEY if provider == "aliyun" else TENCENT_KEY
        gateway = Gateway(provider, key_id, secret or key_secret, list(script) or ["ok"])
        verify, parse = (_aliyun_verified, _aliyun_sms) if provider == "aliyun" else (_tencent_verified, _tencent_sms)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                verified = verify(gateway, "POST", self.path, self.headers, body)
                message = parse(self.path, self.headers, body)
                gateway.requests.append({"verified": verified, **message})
                code = gateway.step() if verified else "unverified"
                if verified and code in ("ok", "lose"):
                    gateway.sent.setdefault(message["id"], message)
                if code == "lose":
                    self.close_connection = True
                    return
                status, reply = _answer(gateway, verified, "ok" if code == "lose" else code, message)
                data = json.dumps(reply).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        gateway.url = f"http://127.0.0.1:{server.server_address[1]}/"
        if provider == "aliyun":
            for name, value in (("ENDPOINT", gateway.url), ("ACCESS_KEY_ID", ALIYUN_KEY[0]),
                                ("ACCESS_KEY_SECRET", ALIYUN_KEY[1]), ("SIGN_NAME", "城管督办"),
                                ("TEMPLATES", "task_dispatched=SMS_100, remind=SMS_101, escalate=SMS_103")):
                monkeypatch.setenv(f"CIVICRULES_ALIYUN_SMS_{name}", value)
        else:
            for name, value in (("ENDPOINT", gateway.url), ("SECRET_ID", TENCENT_KEY[0]),
                                ("SECRET_KEY", TENCENT_KEY[1]), ("SIGN_NAME", "城管督办"), ("SDK_APP_ID", "1400000001"),
                                ("TEMPLATES", "task_dispatched=2001, remind=2002, escalate=2003")):
                monkeypatch.setenv(f"CIVICRULES_TENCENT_SMS_{name}", value)
        return gateway

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _sms_row(factory, channel: str, address: str, language: str = "zh", kind: str = "task_dispatched",
             **payload: Any) -> tuple[int, str]:
    with factory() as s:
        unit = _unit(s)
        _recipient(s, scope="unit", unit_id=unit.id, channel=channel, address=address, language=language)
        row = _message(s, f"unit:{unit.id}", kind=kind, **payload)
        s.commit()
        return row.id, row.idempotency_key


def test_aliyun_sms_arrives_signed_with_the_kinds_template_and_its_parameters(factory, gateways):
    gateway = gateways("aliyun")
    row_id, key = _sms_row(factory, "aliyun_sms", "139 0000 0001")
    urge_id, _ = _sms_row(factory, "aliyun_sms", "+86 139 0000 0002", kind="supervision_urge")
    _deliver(factory, _start())
    assert [r["verified"] for r in gateway.requests] == [True, True]
    dispatched, urged = sorted(gateway.sent.values(), key=lambda m: m["phone"])
    assert dispatched == {"id": sms.sms_id(key, "+8613900000001"), "phone": "13900000001", "sign": "城管督办",
                          "template": "SMS_100", "action": ("SendSms", "2017-05-25"),
                          "params": {"task": "4242", "unit": "通知测试中队", "deadline": "2026-11-23 17:30"}}
    assert (urged["phone"], urged["template"]) == ("13900000002", "SMS_101")  # a supervisor's 催办: remind's
    for row in (row_id, urge_id):
        message, (delivery,) = _state(factory, row)
        assert (message.status, delivery.status, delivery.attempts) == ("delivered", "delivered", 1)


def test_tencent_sms_arrives_signed_with_ordered_parameters_in_the_recipients_language(factory, gateways):
    gateway = gateways("tencent")
    row_id, key = _sms_row(factory, "tencent_sms", "13900000003", language="en", kind="escalate", tier=2)
    _deliver(factory, _start())
    (request,) = gateway.requests
    assert request["verified"]
    assert gateway.sent[sms.sms_id(key, "+8613900000003")] == {
        "id": sms.sms_id(key, "+8613900000003"), "phone": "+8613900000003", "app": "1400000001", "sign": "城管督办",
        "template": "2003", "params": ["4242", "Notification test squad", "2"],
        "action": ("SendSms", "2021-01-11", "ap-guangzhou")}
    assert _state(factory, row_id)[1][0].status == "delivered"


@pytest.mark.parametrize(("provider", "channel"), [("aliyun", "aliyun_sms"), ("tencent", "tencent_sms")])
def test_a_lost_answer_is_resent_with_the_same_id_and_makes_one_sms(factory, gateways, provider, channel):
    gateway = gateways(provider, "lose", "ok")
    row_id, key = _sms_row(factory, channel, "13900000004")
    start = _start()
    _deliver(factory, start)
    message, (delivery,) = _state(factory, row_id)
    assert (message.status, delivery.status, delivery.attempts) == ("pending", "pending", 1)
    assert delivery.next_attempt_at == start + timedelta(seconds=2)
    _deliver(factory, start + timedelta(seconds=2))
    message, (delivery,) = _state(factory, row_id)
    assert (message.status, delivery.status, delivery.attempts) == ("delivered", "delivered", 2)
    assert [r["verified"] for r in gateway.requests] == [True, True]
    assert {r["id"] for r in gateway.requests} == {sms.sms_id(key, "+8613900000004")}
    assert len(gateway.sent) == 1  # two requests, one logical SMS


@pytest.mark.parametrize(("provider", "channel", "throttled", "refused"), [
    ("aliyun", "aliyun_sms", "isv.BUSINESS_LIMIT_CONTROL", "isv.SMS_TEMPLATE_ILLEGAL"),
    ("tencent", "tencent_sms", "LimitExceeded.PhoneNumberThirtySecondLimit",
     "FailedOperation.TemplateIncorrectOrUnapproved")])
def test_throttling_is_retried_and_an_unapproved_template_fails_at_once(factory, gateways, provider, channel,
                                                                         throttled, refused):
    gateway = gateways(provider, throttled, "ok", refused)
    row_id, _ = _sms_row(factory, channel, "13900000005")
    start = _start()
    _deliver(factory, start)
    message, (delivery,) = _state(factory, row_id)
    assert (message.status, delivery.attempts) == ("pending", 1) and throttled in delivery.last_error
    _deliver(factory, start + timedelta(seconds=2))
    assert _state(factory, row_id)[1][0].status == "delivered"

    refused_id, _ = _sms_row(factory, channel, "13900000006")
    _deliver(factory, start + timedelta(seconds=3))
    _deliver(factory, start + timedelta(hours=2))
    message, (delivery,) = _state(factory, refused_id)
    assert (message.status, delivery.status, delivery.attempts) == ("failed", "failed", 1)
    assert refused in delivery.last_error and f"refused: {refused}" in delivery.last_error
    assert len(gateway.requests) == 3 and len(gateway.sent) == 1


@pytest.mark.parametrize(("provider", "channel", "code"), [("aliyun", "aliyun_sms", "SignatureDoesNotMatch"),
                                                           ("tencent", "tencent_sms", "AuthFailure.SignatureFailure")])
def test_a_gateway_holding_another_secret_refuses_the_signature_and_it_is_not_retried(factory, gateways, provider,
                                                                                      channel, code):
    gateway = gateways(provider, secret="not-the-configured-secret")
    row_id, _ = _sms_row(factory, channel, "13900000007")
    _deliver(factory, _start())
    _deliver(factory, _start() + timedelta(hours=1))
    message, (delivery,) = _state(factory, row_id)
    assert (message.status, delivery.status, delivery.attempts) == ("failed", "failed", 1)
    assert code in delivery.last_error
    assert [r["verified"] for r in gateway.requests] == [False] and gateway.sent == {}


def test_no_call_without_a_number_a_template_or_an_account(factory, gateways, monkeypatch):
    gateway = gateways("tencent")
    bad_number, _ = _sms_row(factory, "tencent_sms", "010-12345678")
    no_template, _ = _sms_row(factory, "tencent_sms", "13900000008", kind="digest", open=3, overdue=1)
    _deliver(factory, _start())
    assert "不是有效的手机号码" in _state(factory, bad_number)[1][0].last_error
    assert "'digest'" in _state(factory, no_template)[1][0].last_error
    monkeypatch.delenv("CIVICRULES_TENCENT_SMS_SECRET_KEY")
    unconfigured, _ = _sms_row(factory, "tencent_sms", "13900000009")
    _deliver(factory, _start() + timedelta(seconds=1))
    message, (delivery,) = _state(factory, unconfigured)
    assert (message.status, delivery.attempts) == ("failed", 1) and "未配置腾讯云短信" in delivery.last_error
    assert gateway.requests == []
