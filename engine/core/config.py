"""Configuration: one tree of settings, built from the environment once per process.

Every setting is a row of `VARIABLES` (its environment variable, the value used when it is unset,
and what it does), so docs/OPERATING.md can be checked against it; nothing else in the code reads
the environment. `CIVICRULES_INSTANCE` (default ./instance) holds the SQLite database, the
generated secret key, the embedded Redis socket and uploaded evidence; `DATABASE_URL` and
`REDIS_URL` switch to servers. Secrets are generated, never coded.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

N = TypeVar("N", int, float)


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, the value used when it is unset, and what it sets."""

    name: str
    default: str
    description: str


VARIABLES: tuple[Variable, ...] = (
    Variable("CIVICRULES_INSTANCE", "instance",
             "folder for the SQLite database, the generated secret key, the embedded Redis, imports and evidence"),
    Variable("DATABASE_URL", "", "the database; empty: SQLite in <instance>/civicrules.db"),
    Variable("REDIS_URL", "", "the Redis server; empty: the embedded one on unix://<instance>/redis.sock"),
    Variable("SECRET_KEY", "", "signs sessions; empty: generated once into <instance>/secret_key (mode 600)"),
    Variable("CIVICRULES_AUDIT_KEY", "",
             "the audit chain's HMAC key (base64url, >= 32 bytes); empty: generated into <instance>/keys/audit.json"),
    Variable("CIVICRULES_SECRETS_KEY", "",
             "encrypts stored secrets (webhook keys, signing secrets); empty: generated into <instance>/keys/secrets.json"),
    Variable("CIVICRULES_CRYPTO", "standard",
             "algorithms for new audit MACs and stored secrets: standard (HMAC-SHA256, AES via Fernet) or sm (SM3, SM4)"),
    Variable("CIVICRULES_AUDIT_HEAD_FILE", "",
             "file the audit chain's head is appended to after each sealing, to ship off the machine; "
             "empty: <instance>/audit-heads.jsonl"),
    Variable("CIVICRULES_TIME_ZONE", "Asia/Shanghai",
             "time zone of pages and exports that belong to no campaign (a campaign's pages use the campaign's own)"),
    Variable("CIVICRULES_QUEUE_PREFIX", "civicrules", "prefix of RQ queues and Redis keys, so deployments can share a Redis"),
    Variable("CIVICRULES_BATCH_SIZE", "200", "events per evaluation batch"),
    Variable("CIVICRULES_BATCH_GATHER_MS", "100",
             "after a batch smaller than the batch size, an evaluation drain waits this long before claiming again, "
             "so that events arriving one by one are evaluated in fewer, larger batches (0: claim again at once)"),
    Variable("CIVICRULES_LEASE_SECONDS", "60", "the longest a claimed batch is held before another worker may take it over"),
    Variable("CIVICRULES_LEASE_HEARTBEAT_SECONDS", "10",
             "a worker claims a batch for this long and renews it while evaluating: a killed worker's events wait no longer"),
    Variable("CIVICRULES_MAX_ATTEMPTS", "3", "solo attempts before an event is marked failed"),
    Variable("CIVICRULES_EVIDENCE_DIR", "", "folder of task photos and case attachments; empty: <instance>/evidence"),
    Variable("CIVICRULES_EVIDENCE_MAX_MB", "10", "largest photo or case attachment accepted, in MB"),
    Variable("CIVICRULES_LOCKOUT_FAILURES", "10", "failed sign-ins of an account before each further one must wait"),
    Variable("CIVICRULES_LOCKOUT_WINDOW_SECONDS", "900", "an account's failures are forgotten after this long without one"),
    Variable("CIVICRULES_LOCKOUT_SECONDS", "300", "the longest wait between sign-in attempts on an account"),
    Variable("CIVICRULES_IDLE_MINUTES", "30",
             "a signed-in page session with no request for this many minutes ends (API tokens are not affected)"),
    Variable("CIVICRULES_SECURITY_AUDIT_DAYS", "180",
             "days the security audit log (sign-ins, account changes, exports, reporter-phone views) is kept; at least 180"),
    Variable("CIVICRULES_REPORTER_DATA_DAYS", "365",
             "days after a case closes before its reporters' names and phones are blanked"),
    Variable("CIVICRULES_DELIVERY_MAX_ATTEMPTS", "6", "sends per recipient before a delivery is marked failed"),
    Variable("CIVICRULES_DELIVERY_BACKOFF_SECONDS", "2", "first wait of the exponential back-off between sends"),
    Variable("CIVICRULES_DELIVERY_BACKOFF_CAP_SECONDS", "3600", "longest wait between sends"),
    Variable("CIVICRULES_NOTIFY_TIMEOUT_SECONDS", "10", "timeout of every SMTP call"),
    Variable("CIVICRULES_HTTP_CONNECT_TIMEOUT", "3",
             "seconds the outbound HTTP client (webhooks, robots, SMS) waits to connect"),
    Variable("CIVICRULES_HTTP_READ_TIMEOUT", "10",
             "seconds the outbound HTTP client waits for each part of an answer before the send counts as failed"),
    Variable("CIVICRULES_SMTP_HOST", "", "mail server for e-mail recipients; empty: e-mail is not sent"),
    Variable("CIVICRULES_SMTP_PORT", "25", "mail server port"),
    Variable("CIVICRULES_SMTP_FROM", "", "sender address of e-mail; empty: e-mail is not sent"),
    Variable("CIVICRULES_SMTP_STARTTLS", "", "1, true or yes: switch to TLS with STARTTLS"),
    Variable("CIVICRULES_SMTP_USER", "", "user to log in to the mail server as; empty: no login"),
    Variable("CIVICRULES_SMTP_PASSWORD", "", "password of that user"),
    Variable("CIVICRULES_WEBHOOK_ALLOW", "",
             "comma-separated host names or CIDRs that webhooks may reach although private or loopback"),
    Variable("CIVICRULES_ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/", "Aliyun SMS (Dysmsapi 2017-05-25) address"),
    Variable("CIVICRULES_ALIYUN_SMS_ACCESS_KEY_ID", "", "AccessKey ID of the Aliyun account that sends SMS; empty: Aliyun SMS is not sent"),
    Variable("CIVICRULES_ALIYUN_SMS_ACCESS_KEY_SECRET", "", "that AccessKey's secret"),
    Variable("CIVICRULES_ALIYUN_SMS_SIGN_NAME", "", "the approved SMS signature (签名) of Aliyun SMS"),
    Variable("CIVICRULES_ALIYUN_SMS_TEMPLATES", "", "kind=TemplateCode pairs, comma-separated; * is every other kind"),
    Variable("CIVICRULES_TENCENT_SMS_ENDPOINT", "https://sms.tencentcloudapi.com/", "Tencent Cloud SMS (2021-01-11) address"),
    Variable("CIVICRULES_TENCENT_SMS_REGION", "ap-guangzhou", "the region of the Tencent Cloud SMS calls"),
    Variable("CIVICRULES_TENCENT_SMS_SECRET_ID", "", "SecretId of the Tencent Cloud account; empty: Tencent SMS is not sent"),
    Variable("CIVICRULES_TENCENT_SMS_SECRET_KEY", "", "that SecretId's SecretKey"),
    Variable("CIVICRULES_TENCENT_SMS_SDK_APP_ID", "", "the SMS application (SdkAppId) of Tencent Cloud SMS"),
    Variable("CIVICRULES_TENCENT_SMS_SIGN_NAME", "", "the approved SMS signature (签名) of Tencent Cloud SMS"),
    Variable("CIVICRULES_TENCENT_SMS_TEMPLATES", "", "kind=TemplateId pairs, comma-separated; * is every other kind"),
    Variable("CIVICRULES_PDF_FONT", "", "TTF/TTC file with Chinese glyphs for PDF bulletins; empty: the WenQuanYi or Noto fonts"),
    Variable("CIVICRULES_LOG_FORMAT", "text", "json: one JSON object per log line; otherwise plain text"),
    Variable("CIVICRULES_LOG_LEVEL", "", "log threshold (DEBUG, INFO, WARNING, ...); empty: INFO"),
    Variable("CIVICRULES_METRICS_TOKEN", "", "bearer token that opens /metrics; empty: none"),
    Variable("CIVICRULES_METRICS_ALLOW", "", "comma-separated addresses or CIDRs that may read /metrics without the token"),
    Variable("CIVICRULES_PROXY_FIX", "", "number of reverse proxies whose X-Forwarded-* headers are trusted; empty: none"),
    Variable("CIVICRULES_SECURE_COOKIES", "", "1, true, yes or on: the session cookie is always Secure"),
    Variable("CIVICRULES_RATE_LIMITS", "on", "off, 0, false or no: no rate limits (benchmarks only)"),
    Variable("CIVICRULES_LOGIN_RATE_LIMIT", "5 per minute", "failed sign-ins per username and client address"),
    Variable("CIVICRULES_LOGIN_ADDRESS_RATE_LIMIT", "20 per minute",
             "failed sign-ins per client address, whatever the usernames"),
    Variable("CIVICRULES_INTAKE_RATE_LIMIT", "1000 per second", "intake requests per token"),
    Variable("CIVICRULES_MAP_TILES", "",
             "base-map tile URL template of the admin's zone map, e.g. 天地图 with its key "
             "(https://t{s}.tianditu.gov.cn/vec_w/wmts?...&tk=KEY); empty: a plain background with the grids"),
    Variable("CIVICRULES_MAP_TILES_CRS", "wgs84",
             "datum of those tiles (wgs84, gcj02 for Gaode/Tencent, bd09 for Baidu): the map shifts its layers to match"),
    Variable("CIVICRULES_MAP_ATTRIBUTION", "", "the tile provider's attribution shown on the map"),
    Variable("CIVICRULES_FROZEN_NOW", "", "tests only: an ISO 8601 instant at which the clock of the process stands still"),
)
DEFAULTS: dict[str, str] = {variable.name: variable.default for variable in VARIABLES}


@dataclass(frozen=True)
class QueueSettings:
    prefix: str


@dataclass(frozen=True)
class PipelineSettings:
    """How workers claim and retry events (see engine/evaluation/pipeline.py)."""

    batch_size: int
    lease_seconds: int
    max_attempts: int
    heartbeat_seconds: int = 10
    gather_seconds: float = 0.0


@dataclass(frozen=True)
class EvidenceSettings:
    dir: Path  # a mounted share when several web machines serve one site
    max_bytes: int


@dataclass(frozen=True)
class LockoutSettings:
    failures: int
    window_seconds: int
    lock_seconds: int


@dataclass(frozen=True)
class CryptoSettings:
    """Where the audit and secrets keys come from (engine.core.keyring) and which algorithms new rows use."""
    algorithms: str = "standard"  # standard | sm
    audit_key: str = field(default="", repr=False)
    secrets_key: str = field(default="", repr=False)
    audit_head_file: Path = Path("audit-heads.jsonl")


@dataclass(frozen=True)
class PrivacySettings:
    """等保 and PIPL periods: idle sessions, how long the security audit log is kept, reporters' data."""

    idle_minutes: int = 30
    security_audit_days: int = 180
    reporter_data_days: int = 365


#: 等保 2.0 asks that security audit records be kept at least six months.
MIN_SECURITY_AUDIT_DAYS = 180


def _crypto(env: "_Reader", instance: Path) -> CryptoSettings:
    algorithms = env.text("CIVICRULES_CRYPTO").strip().lower() or "standard"
    if algorithms not in ("standard", "sm"):
        raise ValueError(f"环境变量 CIVICRULES_CRYPTO={algorithms!r} 须为 standard 或 sm / CIVICRULES_CRYPTO="
                         f"{algorithms!r} is not standard or sm")
    head_file = Path(env.text("CIVICRULES_AUDIT_HEAD_FILE") or instance / "audit-heads.jsonl").resolve()
    return CryptoSettings(algorithms, env.text("CIVICRULES_AUDIT_KEY"), env.text("CIVICRULES_SECRETS_KEY"), head_file)


def _privacy(env: "_Reader") -> PrivacySettings:
    """The periods, refusing an audit retention under six months and any period under one (minute or day)."""
    idle, audit, reporter = (env.whole("CIVICRULES_IDLE_MINUTES"), env.whole("CIVICRULES_SECURITY_AUDIT_DAYS"),
                             env.whole("CIVICRULES_REPORTER_DATA_DAYS"))
    if audit < MIN_SECURITY_AUDIT_DAYS:
        raise ValueError(f"环境变量 CIVICRULES_SECURITY_AUDIT_DAYS={audit} 不得少于 {MIN_SECURITY_AUDIT_DAYS} 天 / "
                         f"CIVICRULES_SECURITY_AUDIT_DAYS={audit} is under {MIN_SECURITY_AUDIT_DAYS} days")
    for name, value in (("CIVICRULES_IDLE_MINUTES", idle), ("CIVICRULES_REPORTER_DATA_DAYS", reporter)):
        if value < 1:
            raise ValueError(f"环境变量 {name}={value} 须为正整数 / {name}={value} must be at least 1")
    return PrivacySettings(idle, audit, reporter)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    starttls: bool
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class SmsProvider:
    """One SMS provider's account: where to call, the credentials, the approved signature and templates."""

    endpoint: str
    key_id: str
    key_secret: str = field(repr=False)
    sign_name: str = ""
    templates: dict[str, str] = field(default_factory=dict)  # message kind (or "*") -> template id
    app_id: str = ""  # Tencent only: SmsSdkAppId
    region: str = ""  # Tencent only

    @property
    def configured(self) -> bool:
        return bool(self.key_id and self.key_secret and self.sign_name and self.templates)


@dataclass(frozen=True)
class SmsSettings:
    aliyun: SmsProvider
    tencent: SmsProvider


def _templates(text: str) -> dict[str, str]:
    """`task_dispatched=SMS_1, *=SMS_9` as a mapping; a pair without "=" is refused, naming it."""
    pairs: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        kind, sep, template = item.partition("=")
        if not sep or not kind.strip() or not template.strip():
            raise ValueError(f"短信模板配置 {item.strip()!r} 应为 类型=模板编号 / SMS template {item.strip()!r} "
                             "is not kind=template")
        pairs[kind.strip()] = template.strip()
    return pairs


@dataclass(frozen=True)
class DeliverySettings:
    """Retries and timeouts of every channel, the mail server, and the webhooks' allow-list."""

    max_attempts: int
    backoff_seconds: float
    backoff_cap_seconds: float
    timeout_seconds: float  # SMTP
    http_connect_timeout: float
    http_read_timeout: float
    smtp: SmtpSettings
    webhook_allow: str
    sms: SmsSettings


@dataclass(frozen=True)
class LoggingSettings:
    format: str  # "json" or "text"
    level: str  # a level name, or "" for the caller's default


@dataclass(frozen=True)
class WebSettings:
    """What the web processes need beyond the database: proxies, cookies, rate limits, /metrics."""

    proxy_fix: str
    secure_cookies: bool
    rate_limits: bool
    login_rate_limit: str
    intake_rate_limit: str
    login_address_rate_limit: str
    metrics_token: str = field(repr=False)
    metrics_allow: str
    map_tiles: str = ""  # a Leaflet tile URL template; empty: no base map
    map_tiles_crs: str = "wgs84"
    map_attribution: str = ""


@dataclass(frozen=True)
class TestHooks:
    """Set by the tests in the processes they start; never in production."""

    frozen_now: datetime | None


@dataclass(frozen=True)
class Settings:
    instance: Path
    database_url: str
    redis_url: str
    secret_key: str = field(repr=False)
    embedded_redis: bool
    queues: QueueSettings
    pipeline: PipelineSettings
    evidence: EvidenceSettings
    lockout: LockoutSettings
    delivery: DeliverySettings
    logging: LoggingSettings
    web: WebSettings
    pdf_font: str
    test_hooks: TestHooks
    privacy: PrivacySettings = PrivacySettings()
    crypto: CryptoSettings = CryptoSettings()
    time_zone: str = "Asia/Shanghai"

    @property
    def redis_socket(self) -> Path:
        return self.instance / "redis.sock"


class _Reader:
    """Reads the variables of the table from one mapping, and names the variable a bad value came from."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ

    def text(self, name: str) -> str:
        return self.environ.get(name, DEFAULTS[name])

    def whole(self, name: str) -> int:
        return self._number(name, int)

    def real(self, name: str) -> float:
        return self._number(name, float)

    def _number(self, name: str, kind: Callable[[str], N]) -> N:
        raw = self.text(name)
        try:
            return kind(raw)
        except ValueError:
            raise ValueError(f"环境变量 {name}={raw!r} 不是数字 / {name}={raw!r} is not a number") from None


def _secret(instance: Path, configured: str) -> str:
    if configured:
        return configured
    key_file = instance / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def _database_url(configured: str, instance: Path) -> str:
    """SQLite in the instance folder unless configured; PostgreSQL URLs always go through psycopg 3."""
    url = configured or f"sqlite:///{instance / 'civicrules.db'}"
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def _datum(name: str, value: str) -> str:
    datum = value.strip().lower() or "wgs84"
    if datum not in ("wgs84", "gcj02", "bd09"):
        raise ValueError(f"环境变量 {name}={value!r} 须为 wgs84、gcj02 或 bd09 / {name}={value!r} is not wgs84, "
                         "gcj02 or bd09")
    return datum


def _zone(name: str, value: str) -> str:
    """An IANA time zone name, refused at start rather than on the first page that shows a time."""
    try:
        ZoneInfo(value.strip())
    except (ValueError, ZoneInfoNotFoundError):
        raise ValueError(f"环境变量 {name}={value!r} 不是时区名称（如 Asia/Shanghai） / {name}={value!r} is not a "
                         "time zone such as Asia/Shanghai") from None
    return value.strip()


def read_settings(environ: Mapping[str, str]) -> Settings:
    """The settings a process with this environment gets; creates the instance folder and secret key."""
    env = _Reader(environ)
    instance = Path(env.text("CIVICRULES_INSTANCE")).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    redis_url = env.text("REDIS_URL")
    frozen = env.text("CIVICRULES_FROZEN_NOW")
    return Settings(
        instance=instance,
        database_url=_database_url(env.text("DATABASE_URL"), instance),
        redis_url=redis_url or f"unix://{instance / 'redis.sock'}",
        secret_key=_secret(instance, env.text("SECRET_KEY")),
        embedded_redis=not redis_url,
        queues=QueueSettings(prefix=env.text("CIVICRULES_QUEUE_PREFIX")),
        pipeline=PipelineSettings(batch_size=env.whole("CIVICRULES_BATCH_SIZE"),
                                  lease_seconds=env.whole("CIVICRULES_LEASE_SECONDS"),
                                  max_attempts=env.whole("CIVICRULES_MAX_ATTEMPTS"),
                                  heartbeat_seconds=env.whole("CIVICRULES_LEASE_HEARTBEAT_SECONDS"),
                                  gather_seconds=env.whole("CIVICRULES_BATCH_GATHER_MS") / 1000),
        evidence=EvidenceSettings(dir=Path(env.text("CIVICRULES_EVIDENCE_DIR") or instance / "evidence").resolve(),
                                  max_bytes=int(env.real("CIVICRULES_EVIDENCE_MAX_MB") * 2**20)),
        lockout=LockoutSettings(failures=env.whole("CIVICRULES_LOCKOUT_FAILURES"),
                                window_seconds=env.whole("CIVICRULES_LOCKOUT_WINDOW_SECONDS"),
                                lock_seconds=env.whole("CIVICRULES_LOCKOUT_SECONDS")),
        delivery=DeliverySettings(
            max_attempts=env.whole("CIVICRULES_DELIVERY_MAX_ATTEMPTS"),
            backoff_seconds=env.real("CIVICRULES_DELIVERY_BACKOFF_SECONDS"),
            backoff_cap_seconds=env.real("CIVICRULES_DELIVERY_BACKOFF_CAP_SECONDS"),
            timeout_seconds=env.real("CIVICRULES_NOTIFY_TIMEOUT_SECONDS"),
            http_connect_timeout=env.real("CIVICRULES_HTTP_CONNECT_TIMEOUT"),
            http_read_timeout=env.real("CIVICRULES_HTTP_READ_TIMEOUT"),
            smtp=SmtpSettings(host=env.text("CIVICRULES_SMTP_HOST"), port=env.whole("CIVICRULES_SMTP_PORT"),
                              sender=env.text("CIVICRULES_SMTP_FROM"),
                              starttls=env.text("CIVICRULES_SMTP_STARTTLS") in ("1", "true", "yes"),
                              user=env.text("CIVICRULES_SMTP_USER"), password=env.text("CIVICRULES_SMTP_PASSWORD")),
            webhook_allow=env.text("CIVICRULES_WEBHOOK_ALLOW"),
            sms=SmsSettings(
                aliyun=SmsProvider(endpoint=env.text("CIVICRULES_ALIYUN_SMS_ENDPOINT"),
                                   key_id=env.text("CIVICRULES_ALIYUN_SMS_ACCESS_KEY_ID"),
                                   key_secret=env.text("CIVICRULES_ALIYUN_SMS_ACCESS_KEY_SECRET"),
                                   sign_name=env.text("CIVICRULES_ALIYUN_SMS_SIGN_NAME"),
                                   templates=_templates(env.text("CIVICRULES_ALIYUN_SMS_TEMPLATES"))),
                tencent=SmsProvider(endpoint=env.text("CIVICRULES_TENCENT_SMS_ENDPOINT"),
                                    key_id=env.text("CIVICRULES_TENCENT_SMS_SECRET_ID"),
                                    key_secret=env.text("CIVICRULES_TENCENT_SMS_SECRET_KEY"),
                                    sign_name=env.text("CIVICRULES_TENCENT_SMS_SIGN_NAME"),
                                    templates=_templates(env.text("CIVICRULES_TENCENT_SMS_TEMPLATES")),
                                    app_id=env.text("CIVICRULES_TENCENT_SMS_SDK_APP_ID"),
                                    region=env.text("CIVICRULES_TENCENT_SMS_REGION")))),
        logging=LoggingSettings(format="json" if env.text("CIVICRULES_LOG_FORMAT").strip().lower() == "json" else "text",
                                level=env.text("CIVICRULES_LOG_LEVEL").strip().upper()),
        web=WebSettings(
            proxy_fix=env.text("CIVICRULES_PROXY_FIX"),
            secure_cookies=env.text("CIVICRULES_SECURE_COOKIES").strip().lower() in ("1", "true", "yes", "on"),
            rate_limits=env.text("CIVICRULES_RATE_LIMITS").lower() not in ("off", "0", "false", "no"),
            login_rate_limit=env.text("CIVICRULES_LOGIN_RATE_LIMIT"),
            login_address_rate_limit=env.text("CIVICRULES_LOGIN_ADDRESS_RATE_LIMIT"),
            intake_rate_limit=env.text("CIVICRULES_INTAKE_RATE_LIMIT"),
            metrics_token=env.text("CIVICRULES_METRICS_TOKEN"),
            metrics_allow=env.text("CIVICRULES_METRICS_ALLOW"),
            map_tiles=env.text("CIVICRULES_MAP_TILES").strip(),
            map_tiles_crs=_datum("CIVICRULES_MAP_TILES_CRS", env.text("CIVICRULES_MAP_TILES_CRS")),
            map_attribution=env.text("CIVICRULES_MAP_ATTRIBUTION")),
        pdf_font=env.text("CIVICRULES_PDF_FONT"),
        privacy=_privacy(env),
        crypto=_crypto(env, instance),
        time_zone=_zone("CIVICRULES_TIME_ZONE", env.text("CIVICRULES_TIME_ZONE")),
        test_hooks=TestHooks(frozen_now=datetime.fromisoformat(frozen).astimezone(timezone.utc) if frozen else None),
    )


_loaded: tuple[tuple[str | None, ...], Settings] | None = None


def load_settings() -> Settings:
    """The settings of this process: built on first use and kept.

    Built again only when a variable of the table has changed in this process's environment since
    (a test's monkeypatch), so no caller ever sees a stale tree.
    """
    global _loaded
    seen = tuple(os.environ.get(variable.name) for variable in VARIABLES)
    if _loaded is None or _loaded[0] != seen:
        _loaded = (seen, read_settings(os.environ))
    return _loaded[1]
