"""Configuration from the environment, with an embedded default that needs no servers."""

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
DEV_PUBLIC_URL = "http://127.0.0.1:5000"
#: What production cannot run without (a built-in default would be a known secret or a wrong link).
REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "MASTER_KEYS", "PUBLIC_URL")


class ConfigError(RuntimeError):
    """The configuration cannot be served; the message names the variables to set."""


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _instance_dir() -> Path:
    path = Path(os.environ.get("REVENDA_INSTANCE", BASE_DIR / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


class Config:
    """Read once at app creation; tests pass overrides to ``create_app``."""

    def __init__(self) -> None:
        instance = _instance_dir()
        self.INSTANCE_PATH = str(instance)
        self.PRODUCTION = _env_bool("REVENDA_PRODUCTION", False)
        # Production has no defaults for these (check_production refuses to start without them).
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or ("" if self.PRODUCTION else DEV_SECRET_KEY)
        self.SQLALCHEMY_DATABASE_URI = os.environ.get(
            "DATABASE_URL", f"sqlite:///{instance / 'revenda.db'}"
        )
        self.SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
        redis_url = os.environ.get("REDIS_URL")
        self.CELERY_BROKER_URL = os.environ.get(
            "CELERY_BROKER_URL", redis_url or f"sqla+sqlite:///{instance / 'celery-broker.db'}"
        )
        self.CELERY_ALWAYS_EAGER = _env_bool("CELERY_ALWAYS_EAGER", False)
        # Shared by every process: Redis, or a SQLite file in the instance folder (core/ratelimit.py).
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or (
            redis_url or f"revenda+sqlite:///{instance.resolve() / 'ratelimit.db'}")
        self.RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = self.PRODUCTION
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SECURE = self.PRODUCTION
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        # A login (and its "remember me") lasts 30 days at most; accounts.sessions keeps the same limit.
        self.REMEMBER_COOKIE_DURATION = timedelta(days=int(os.environ.get("SESSION_MAX_DAYS", "30")))
        self.PERMANENT_SESSION_LIFETIME = self.REMEMBER_COOKIE_DURATION
        self.MAX_CONTENT_LENGTH = 2 * 1024 * 1024
        self.WTF_CSRF_TIME_LIMIT = None
        self.BABEL_DEFAULT_LOCALE = "pt_BR"
        self.BABEL_DEFAULT_TIMEZONE = "America/Sao_Paulo"
        self.LANGUAGES = ["pt_BR", "en"]
        self.PUBLIC_URL = os.environ.get("PUBLIC_URL") or ("" if self.PRODUCTION else DEV_PUBLIC_URL)
        # Mail: "smtp" delivers through MAIL_SERVER; "outbox" keeps messages for staff to read.
        self.MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp" if os.environ.get("MAIL_SERVER") else "outbox")
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
        self.MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
        self.MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Revenda <nao-responda@revenda.local>")
        self.MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "5"))
        # Stripe: empty keys select the manual gateway (finance records payments).
        self.STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
        self.STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
        self.STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
        self.STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE") or None
        self.BILLING_DUE_DAY = int(os.environ.get("BILLING_DUE_DAY", "10"))  # other BILLING_* defaults: billing/
        # Without Stripe: how payers pay (bank, branch, account, PIX key), shown wherever an invoice is.
        self.BILLING_PAYMENT_INSTRUCTIONS = os.environ.get("BILLING_PAYMENT_INSTRUCTIONS", "")
        # Secrets at rest: "id:base64key,id2:base64key"; the last one encrypts new data.
        self.MASTER_KEYS = os.environ.get("MASTER_KEYS", "")
        self.MASTER_KEY_ACTIVE = os.environ.get("MASTER_KEY_ACTIVE") or None
        self.PASSWORD_RESET_MAX_AGE = int(os.environ.get("PASSWORD_RESET_MAX_AGE", str(2 * 3600)))
        self.FIRST_ACCESS_MAX_AGE = int(os.environ.get("FIRST_ACCESS_MAX_AGE", str(7 * 24 * 3600)))
        self.SOFTWARE_TOKEN_MAX_AGE = int(os.environ.get("SOFTWARE_TOKEN_MAX_AGE", "120"))
        self.LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
        # Per account (the e-mail typed), from any address: failed logins and reset requests.
        self.LOGIN_ACCOUNT_RATE_LIMIT = os.environ.get("LOGIN_ACCOUNT_RATE_LIMIT", "10 per minute;30 per hour")
        # Two-factor codes typed per account (login's second step, enabling, disabling), from any address.
        self.TWO_FACTOR_RATE_LIMIT = os.environ.get("TWO_FACTOR_RATE_LIMIT", "5 per minute;20 per hour")
        # Checking a PFX costs up to ~1 s of CPU: per user (panel) or partner (API).
        self.PFX_UPLOAD_RATE_LIMIT = os.environ.get("PFX_UPLOAD_RATE_LIMIT", "10 per minute;60 per hour")
        self.INTEGRATION_RATE_LIMIT = os.environ.get("INTEGRATION_RATE_LIMIT", "120 per minute")
        self.API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")
        # Blob storage (fiscal XML, exports): "local" folder or "s3" (S3-compatible object storage).
        self.BLOB_BACKEND = os.environ.get("BLOB_BACKEND", "local")
        self.BLOB_PATH = os.environ.get("BLOB_PATH", "")  # default: <INSTANCE_PATH>/blobs
        self.S3_BUCKET = os.environ.get("S3_BUCKET", "")
        self.S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None
        self.S3_REGION = os.environ.get("S3_REGION", "us-east-1")
        self.S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID") or None
        self.S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY") or None
        self.FISCAL_EXPORT_DAY = int(os.environ.get("FISCAL_EXPORT_DAY", "5"))  # automatic export (per client too)
        self.FISCAL_EXPORT_VALID_DAYS = int(os.environ.get("FISCAL_EXPORT_VALID_DAYS", "7"))
        self.FISCAL_CONTINGENCY_HOURS = int(os.environ.get("FISCAL_CONTINGENCY_HOURS", "24"))
        self.FISCAL_CONTINGENCY_HOURS_BY_STATE = os.environ.get("FISCAL_CONTINGENCY_HOURS_BY_STATE", "")  # "MG:48"
        self.FISCAL_MAX_UPLOAD = int(os.environ.get("FISCAL_MAX_UPLOAD", str(50 * 1024 * 1024)))
        # Outgoing webhooks: production calls https:// only and never private/loopback addresses (SSRF);
        # the embedded default allows both, so a newcomer can try a receiver on their own machine.
        self.WEBHOOKS_REQUIRE_HTTPS = _env_bool("WEBHOOKS_REQUIRE_HTTPS", self.PRODUCTION)
        self.WEBHOOKS_ALLOW_PRIVATE = _env_bool("WEBHOOKS_ALLOW_PRIVATE", not self.PRODUCTION)
        self.WEBHOOKS_TIMEOUT = float(os.environ.get("WEBHOOKS_TIMEOUT", "5"))
        self.WEBHOOKS_MAX_ATTEMPTS = int(os.environ.get("WEBHOOKS_MAX_ATTEMPTS", "6"))
        self.WEBHOOKS_BACKOFF_SECONDS = int(os.environ.get("WEBHOOKS_BACKOFF_SECONDS", "30"))
        self.WEBHOOKS_DISABLE_AFTER = int(os.environ.get("WEBHOOKS_DISABLE_AFTER", "15"))  # failed attempts in a row
        self.DASHBOARD_PER_PAGE = 25
        self.API_MAX_PER_PAGE = 100

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}


def check_production(config: Mapping) -> None:
    """With ``PRODUCTION`` on, refuse to start on built-in secrets or a missing public address.

    Raises :class:`ConfigError` naming every missing variable at once."""
    if not config.get("PRODUCTION"):
        return
    missing = [name for name in REQUIRED_IN_PRODUCTION if not str(config.get(name) or "").strip()]
    if config.get("SECRET_KEY") == DEV_SECRET_KEY and "SECRET_KEY" not in missing:
        missing.append("SECRET_KEY")
    problems = []
    if missing:
        problems.append("set " + ", ".join(missing))
    url = str(config.get("PUBLIC_URL") or "").strip()
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
        problems.append(f"PUBLIC_URL must be an absolute http(s) address such as https://painel.example.com (got {url!r})")
    if problems:
        raise ConfigError("REVENDA_PRODUCTION=1 refuses to start: " + "; ".join(problems) + ". See README, Production.")
