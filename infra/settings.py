"""All settings, in one class. Environment variables carry the `MVP_` prefix, except the two that
production platforms set by convention: `DATABASE_URL` and `TEMPORAL_ADDRESS`.

`make run` writes `.data/stack.env` (where its Postgres and Temporal listen) and `.data/keys.json`
(development keys); both are read here when present, and the environment always wins.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.policy import CURRENT_VERSION, POLICIES

REPO_ROOT = Path(__file__).resolve().parent.parent


TRUE_WORDS = ("1", "true", "yes", "on")  # cli/session.py reads MVP_TRAINING with the same words
FALSE_WORDS = ("", "0", "false", "no", "off")
# Training mode (`MVP_TRAINING=1 make run`, `mvp stack run --training`) runs beside the normal stack: its own data
# folder and its own ports (the normal ones plus this), unless they are set explicitly.
TRAINING_PORT_SHIFT = 10


def training_from_env() -> bool:
    return os.environ.get("MVP_TRAINING", "").strip().lower() in TRUE_WORDS


def default_data_dir() -> Path:
    fallback = REPO_ROOT / ".data" / "training" if training_from_env() else REPO_ROOT / ".data"
    return Path(os.environ.get("MVP_DATA_DIR", fallback)).resolve()


def _port(normal: int) -> int:
    return normal + TRAINING_PORT_SHIFT if training_from_env() else normal


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MVP_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default_factory=default_data_dir)

    # Training mode: a rehearsal stack where a supervisor may move one case's clock forward
    # (`mvp training advance`). Refused with production settings (see `_training_is_a_rehearsal`).
    training: bool = False

    @field_validator("training", mode="before")
    @classmethod
    def _training_words(cls, value: object) -> object:
        """MVP_TRAINING in the words the stack and the CLI also read it by (`training_from_env`), nothing else: a
        word pydantic alone takes for true (`y`, `t`) would start a training API on the normal stack's folder."""
        if not isinstance(value, str):
            return value
        word = value.strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValueError(f"give one of {', '.join(TRUE_WORDS)} (on) or {', '.join(FALSE_WORDS[1:])} (off)")

    temporal_address: str = Field(
        default_factory=lambda: f"localhost:{_port(7233)}",
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "MVP_TEMPORAL_ADDRESS"),
    )
    temporal_namespace: str = "default"
    task_queue: str = "mvp-cases"
    temporal_ui_port: int = Field(default_factory=lambda: _port(8233))
    # how often the retention workflow's Temporal Schedule runs (`workflows/retention.py`); e.g. "P1D", "PT6H"
    retention_interval: timedelta = timedelta(days=1)
    # mutual TLS to Temporal (production): PEM files; all unset means plain TCP (the embedded dev server)
    temporal_tls_cert: Path | None = Field(
        None, validation_alias=AliasChoices("TEMPORAL_TLS_CERT", "MVP_TEMPORAL_TLS_CERT")
    )
    temporal_tls_key: Path | None = Field(
        None, validation_alias=AliasChoices("TEMPORAL_TLS_KEY", "MVP_TEMPORAL_TLS_KEY")
    )
    temporal_tls_ca: Path | None = Field(
        None, validation_alias=AliasChoices("TEMPORAL_TLS_CA", "MVP_TEMPORAL_TLS_CA")
    )
    temporal_tls_server_name: str | None = Field(
        None, validation_alias=AliasChoices("TEMPORAL_TLS_SERVER_NAME", "MVP_TEMPORAL_TLS_SERVER_NAME")
    )

    database_url: str | None = Field(None, validation_alias=AliasChoices("DATABASE_URL", "MVP_DATABASE_URL"))
    # How long anything waits on Postgres (infra/db.py), in seconds: to open a connection (libpq's
    # connect_timeout, whole seconds, at least 2), for a pooled connection to answer before it is used, for a
    # free connection in the pool, and for one statement (the server's statement_timeout). A frozen or stopped
    # database then fails an API call within a few seconds (HTTP 503, CLI exit 5) instead of holding it.
    db_connect_timeout: int = Field(3, ge=2)
    db_ping_timeout: float = Field(2.0, gt=0)
    db_pool_timeout: float = Field(5.0, gt=0)
    db_statement_timeout: float = Field(15.0, gt=0)
    # `mvp db migrate` runs as the tables' owner (default DATABASE_URL) and grants the service role (the API's
    # and the worker's login) what it may do: read everything, only insert into the append-only tables.
    migration_database_url: str | None = None
    service_role: str | None = None

    # Keys. MVP_ENCRYPTION_KEYS is "id:base64key,id:base64key"; the first is the current one.
    encryption_keys: SecretStr | None = None
    key_file: Path | None = None  # default: <data_dir>/keys.json in development
    identity_key: SecretStr | None = None  # keyed hash of identities: case ids, hold look-ups
    # Case data keys (crypto-shredding, infra/casekeys.py): one wrapped key per case, destroyed on purge.
    # Never in the database and never backed up with it. Default: <data_dir>/case-keys
    case_key_dir: Path | None = None
    codec_token: SecretStr | None = None  # unused since the codec moved into the API; kept for old key files
    # Signed checkpoints of the case record (infra/checkpoint.py), written outside the database by the worker:
    # the Ed25519 signing key (PEM; development creates <data_dir>/checkpoint-signing.key, production must set
    # it, on the worker's host and out of the database's reach), where checkpoints go (default
    # <data_dir>/checkpoints/), a pinned public key to verify them with (default the one published there), and
    # how often one is signed (seconds).
    checkpoint_key_file: Path | None = None
    checkpoint_dir: Path | None = None
    checkpoint_public_key: Path | None = None
    checkpoint_interval: float = Field(300.0, gt=0)
    # Identity: every API request carries a bearer token from this OpenID Connect issuer. Unset in
    # development, the development issuer (devstack/issuer.py) on issuer_port is used; production refuses
    # to start without one (api/auth.py, TokenVerifier.from_settings).
    oidc_issuer: str | None = None
    oidc_audience: str = "mvp-api"
    oidc_jwks_url: str | None = None  # default: jwks_uri from the issuer's /.well-known/openid-configuration
    dev_issuer_url: str | None = None  # default: http://127.0.0.1:<issuer_port>; refused in production
    api_port: int = Field(default_factory=lambda: _port(8235))
    issuer_port: int = Field(default_factory=lambda: _port(8236))
    api_url: str | None = None  # where clients reach the API; default http://127.0.0.1:<api_port>

    # How the person reaches the NCCU team, in every notice (the defaults are Ofcom's drama range and an
    # example domain, refused in production)
    contact_team_phone: str = "01632 960000"
    contact_team_email: str = "nccu@example.gov.uk"

    # The policy new cases run under (`protocol.policy.POLICIES`): 2026.1 counts contact in calendar days,
    # 2026.2 in working days by the referring force's bank holidays. Running cases keep the one they started under.
    policy_version: str = CURRENT_VERSION

    @field_validator("policy_version")
    @classmethod
    def _known_policy(cls, version: str) -> str:
        if version not in POLICIES:
            raise ValueError(f"there is no policy {version!r}; known: {', '.join(sorted(POLICIES))}")
        return version

    # Adapters
    records_source: Literal["postgres", "http"] = "postgres"
    records_url: str | None = None
    # Notices: "outbox" is the development mailbox (<data dir>/notices); "http" is GOV.UK Notify, with
    # MVP_NOTIFY_URL (https://api.notifications.service.gov.uk), MVP_NOTIFY_API_KEY and MVP_NOTIFY_TEMPLATES,
    # a JSON file mapping "kind.language" to the id of a template made in Notify (README: "Notices through
    # GOV.UK Notify").
    notify_channel: Literal["outbox", "http"] = "outbox"
    notify_url: str | None = None
    notify_api_key: SecretStr | None = None
    notify_templates: Path | None = None
    notify_timeout: float = 10.0  # seconds; the dispatcher's lease is twelve times this

    # The worker's watcher (activities/watch.py): how often it compares the open cases with the workflows
    # Temporal runs, and how long a case's row must have been quiet before it is asked about (seconds).
    watch_interval: float = Field(60.0, gt=0)
    watch_grace: float = Field(300.0, ge=0)

    @model_validator(mode="after")
    def _training_beside_the_normal_stack(self) -> Settings:
        """MVP_TRAINING in the environment moves the defaults (data folder, ports) as they are made; training
        asked for any other way (`Settings(training=True)`) moves those not given here, so that a training service
        never runs on the normal stack's folder or ports."""
        if not self.training or training_from_env():
            return self
        given = self.model_fields_set
        if "data_dir" not in given:
            self.data_dir = (REPO_ROOT / ".data" / "training").resolve()
        for name in ("api_port", "issuer_port", "temporal_ui_port"):
            if name not in given:
                setattr(self, name, getattr(self, name) + TRAINING_PORT_SHIFT)
        if "temporal_address" not in given:
            self.temporal_address = f"localhost:{7233 + TRAINING_PORT_SHIFT}"
        return self

    @model_validator(mode="after")
    def _production_is_production(self) -> Settings:
        """Outside development, no placeholder secret and no development mailbox for notices."""
        if self.env != "production":
            return self
        refused = self._training_refused()  # said first: a production process asked to rehearse matters most
        if refused:
            raise ValueError(refused)
        if self.notify_channel == "outbox":
            raise ValueError(
                "production sends notices through a Notify-style API: set MVP_NOTIFY_CHANNEL=http, "
                "MVP_NOTIFY_URL and MVP_NOTIFY_API_KEY (the development mailbox is refused)"
            )
        for name in ("notify_api_key", "encryption_keys", "identity_key"):
            secret = getattr(self, name)
            if secret is not None and _is_placeholder(secret.get_secret_value()):
                raise ValueError(f"MVP_{name.upper()} looks like a placeholder; set a real secret")
        fictional = self.contact_team_phone.startswith("01632 960") or self.contact_team_email.endswith(
            "example.gov.uk"
        )
        if fictional:
            raise ValueError(
                "production notices need the team's real contact: set MVP_CONTACT_TEAM_PHONE and "
                "MVP_CONTACT_TEAM_EMAIL"
            )
        return self

    @model_validator(mode="after")
    def _retention_runs_at_a_sane_interval(self) -> Settings:
        if self.retention_interval < timedelta(minutes=1):
            raise ValueError("MVP_RETENTION_INTERVAL must be at least a minute (e.g. P1D for daily)")
        return self

    @model_validator(mode="after")
    def _temporal_tls_is_whole(self) -> Settings:
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError("mutual TLS to Temporal needs both TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY")
        return self

    @model_validator(mode="after")
    def _adapters_are_configured(self) -> Settings:
        if self.records_source == "http" and not self.records_url:
            raise ValueError("MVP_RECORDS_SOURCE=http needs MVP_RECORDS_URL")
        if self.notify_channel == "http" and not (
            self.notify_url and self.notify_api_key and self.notify_templates
        ):
            raise ValueError(
                "MVP_NOTIFY_CHANNEL=http needs MVP_NOTIFY_URL, MVP_NOTIFY_API_KEY and MVP_NOTIFY_TEMPLATES"
            )
        return self

    @model_validator(mode="after")
    def _training_is_a_rehearsal(self) -> Settings:
        refused = self._training_refused()
        if refused:
            raise ValueError(refused)
        return self

    def _training_refused(self) -> str | None:
        """Training mode moves case clocks: it needs an explicit development stack, and fails closed on anything
        that looks like production (real people would get notices, real records would be read, real sign-ins
        would act)."""
        if not self.training:
            return None
        problems = []
        if self.env == "production":
            problems.append("MVP_ENV is 'production'")
        if self.notify_channel != "outbox":
            problems.append("notices go to a real provider (MVP_NOTIFY_CHANNEL is not 'outbox')")
        if self.records_source != "postgres":
            problems.append(
                "Home Office records come from a real service (MVP_RECORDS_SOURCE is not 'postgres')"
            )
        if self.oidc_issuer is not None and self.oidc_issuer.rstrip("/") != self.development_issuer:
            problems.append(
                "sign-ins come from a real identity provider (MVP_OIDC_ISSUER is not the development issuer)"
            )
        # the embedded stack runs everything on this machine: a remote issuer, database or Temporal is not a rehearsal
        remote = [
            name
            for name, address in (
                ("the token issuer", self.development_issuer),
                ("MVP_OIDC_ISSUER", self.oidc_issuer),
                ("DATABASE_URL", self.database_url),
                ("MVP_TEMPORAL_ADDRESS", self.temporal_address),
            )
            if address is not None and not _on_this_machine(address)
        ]
        if remote:
            problems.append(", ".join(remote) + " not on this machine")
        if not problems:
            return None
        return (
            "training mode is refused with production settings: "
            + "; ".join(problems)
            + ". Run it on the development stack: MVP_TRAINING=1 make run."
        )

    @property
    def development_issuer(self) -> str:
        """The development token issuer's URL, which is also the `iss` of the tokens it mints."""
        return (self.dev_issuer_url or f"http://127.0.0.1:{self.issuer_port}").rstrip("/")

    @property
    def resolved_api_url(self) -> str:
        return (self.api_url or f"http://127.0.0.1:{self.api_port}").rstrip("/")

    @property
    def stack_env_file(self) -> Path:
        return self.data_dir / "stack.env"

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.data_dir / "keys.json"

    @property
    def resolved_case_key_dir(self) -> Path:
        return self.case_key_dir or self.data_dir / "case-keys"

    @property
    def resolved_checkpoint_key_file(self) -> Path:
        return self.checkpoint_key_file or self.data_dir / "checkpoint-signing.key"

    @property
    def resolved_checkpoint_dir(self) -> Path:
        return self.checkpoint_dir or self.data_dir / "checkpoints"


PLACEHOLDERS = ("changeme", "change-me", "secret", "password", "placeholder", "example", "xxx", "todo")


def _is_placeholder(value: str) -> bool:
    lowered = value.strip().lower()
    return len(lowered) < 16 or any(word in lowered for word in PLACEHOLDERS)


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


def load_settings(*, find_stack: bool = True, **overrides: object) -> Settings:
    """Settings from the environment, then `.data/stack.env` (where a running embedded stack listens) for
    what the environment leaves unset. The stack itself starts with `find_stack=False`: that file is what
    it writes, never what it reads."""
    data_dir = Path(str(overrides.get("data_dir", default_data_dir())))
    stack = _read_env_file(data_dir / "stack.env") if find_stack else {}
    # the environment wins, under either of a setting's names
    merged = {k: v for k, v in stack.items() if k not in os.environ and f"MVP_{k}" not in os.environ}
    with _temporarily_set(merged):
        return Settings(**overrides)  # type: ignore[arg-type]


class _temporarily_set:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def __enter__(self) -> None:
        os.environ.update(self.values)

    def __exit__(self, *exc: object) -> None:
        for key in self.values:
            os.environ.pop(key, None)


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", ""})


def _on_this_machine(address: str) -> bool:
    """Whether an address (a URL, a database URL or host:port) names this machine: loopback, or a database
    reached through a local socket (`host=/path` or no host). Anything else is another machine."""
    url = address if "://" in address else f"tcp://{address}"
    parts = urlsplit(url)
    socket_host = parse_qs(parts.query).get("host", [""])[0]
    host = parts.hostname or ""
    if host == "" and socket_host:
        return socket_host.startswith("/")
    return host in LOOPBACK
