"""The one place that reads the environment.

Every component is built from a `Settings` instance handed to it; nothing reads
`os.environ` elsewhere.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "repolens"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "repolens"


def _default_cli_config() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "repolens" / "config.toml"


def plain(secret: SecretStr | None) -> str | None:
    """A secret setting's value (None when it is not set)."""
    return secret.get_secret_value() if secret is not None else None


class Storage(BaseModel):
    """Where repolens keeps its data, and for how long."""

    cache_dir: Path = Field(default_factory=_default_cache_dir)
    data_dir: Path = Field(default_factory=_default_data_dir)
    # default: a SQLite file in data_dir. A secret: the URL may carry a password.
    database_url: SecretStr | None = None
    result_cache: bool = True
    keep_runs_days: int = 90  # finished runs older than this are deleted, reports and all

    @property
    def database(self) -> str:
        return plain(self.database_url) or f"sqlite:///{self.data_dir / 'repolens.db'}"

    @property
    def checkouts_dir(self) -> Path:
        return self.data_dir / "checkouts"

    @property
    def mirrors_dir(self) -> Path:
        return self.cache_dir / "mirrors"

    @property
    def result_cache_path(self) -> Path:
        return self.cache_dir / "results.sqlite3"


class Analysis(BaseModel):
    """How much one scan may take: files, time, processes, spending."""

    max_file_bytes: int = 1_000_000  # larger files are not checked out, nor analysed
    max_checkout_bytes: int = 2_000_000_000  # a commit with more to check out fails its fetch
    workers: int = Field(default_factory=lambda: os.cpu_count() or 2)
    git_timeout_seconds: float = 300.0
    analyzer_timeout_seconds: float = 900.0
    # Units (an LLM reviewer's tokens) the analyzers of one scan may spend together.
    analyzer_budget_units: int = Field(default=0, ge=0)


class Api(BaseModel):
    """The HTTP server."""

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_token: SecretStr | None = None  # when set, every API request needs it as a bearer token
    # How others reach this server (https://repolens.example.com): links in pull-request feedback.
    public_url: str | None = None
    # Rate limits, as `limits` writes them ("60/minute", "5 per 5 minutes"): the requests of
    # one token (or, without one, one address), a user's manual refreshes of one project, the
    # projects one user adds. The local operator of a deployment without accounts has none.
    rate_limit_api: str = "60/minute"
    rate_limit_refresh: str = "5/5 minutes"
    rate_limit_projects: str = "10/hour"
    rate_limit_socket: str = "20/second"  # messages one live socket may send
    # Where the counts are kept: a redis:// URL shares them between processes; unset: the
    # events' Redis when there is one, else this process's memory.
    rate_limits_url: SecretStr | None = None
    session_hours: int = Field(default=12, ge=1, le=24 * 30)  # a browser's sign-in lasts this long
    # The command line's own token for the server (`repolens watch`); unset: the one in
    # cli_config (which the first start writes, mode 0600), else REPOLENS_API_TOKEN.
    token: SecretStr | None = None
    cli_config: Path = Field(default_factory=_default_cli_config)

    @field_validator(
        "rate_limit_api", "rate_limit_refresh", "rate_limit_projects", "rate_limit_socket"
    )
    @classmethod
    def _a_rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError("not a rate limit; write it as 60/minute or 5 per 5 minutes") from None
        return value


class Jobs(BaseModel):
    """The job queue and its workers, time limits and recovery."""

    job_workers: int = 2
    # redis://… or amqp://…; unset: the embedded queue. A secret: it may carry a password.
    broker_url: SecretStr | None = None
    job_soft_time_limit_seconds: int = 1800  # the scan stops and keeps what it has
    job_time_limit_seconds: int = 2100  # the worker process is killed
    heartbeat_stale_seconds: int = 60  # a running run silent this long is requeued
    # A run whose worker died this many times while running it (killed, out of memory)
    # fails instead of going back to the queue: it would take every worker down in turn.
    job_max_attempts: int = Field(default=3, ge=1)
    cancel_grace_seconds: int = 30  # then a run that ignored its cancel flag is terminated
    # Redis only: a message a worker took and never acknowledged (it died before claiming
    # the run) goes back to its queue after this long. Redelivering a message whose run is
    # already running is harmless: the claim refuses it.
    broker_visibility_timeout_seconds: int = 600
    schedule_min_interval_seconds: int = Field(default=900, ge=60)  # the tightest schedule

    @property
    def broker(self) -> str | None:
        return plain(self.broker_url)

    @model_validator(mode="after")
    def _limits_in_order(self) -> Self:
        soft, hard = self.job_soft_time_limit_seconds, self.job_time_limit_seconds
        if soft >= hard:
            raise ValueError(f"REPOLENS_JOB_SOFT_TIME_LIMIT_SECONDS ({soft}) must be below "
                             f"REPOLENS_JOB_TIME_LIMIT_SECONDS ({hard})")  # fmt: skip
        return self


class Notifications(BaseModel):
    """Telling a project's notify URL that a run ended."""

    notify_secret: SecretStr | None = None  # signs notifications (Standard Webhooks)
    notify_timeout_seconds: float = 10.0
    notify_retry_seconds: float = 2.0  # the first backoff of a failed notification; it doubles


class Live(BaseModel):
    """Live events, and the WebSocket and SSE connections that carry them."""

    # Redis for live events; default: the broker, if it is Redis. A secret, as the broker.
    events_url: SecretStr | None = None
    events_history: int = 1000  # events kept per channel for clients that reconnect
    events_keep_seconds: int = 86400  # a channel quiet this long forgets its history
    ws_queue_size: int = 256  # events waiting for one slow client before it is disconnected
    ws_ping_seconds: float = 20.0  # server ping interval; a client silent for 2 pings is closed
    ws_protocol: Literal["websockets", "websockets-sansio", "wsproto"] = "websockets-sansio"
    # Per-message deflate costs ~35 KB per connection and a deflate per client per event.
    ws_compression: bool = False
    ws_auth_seconds: float = 5.0  # a socket that has not authenticated by then is closed
    ws_connections_per_address: int = Field(default=200, ge=1)  # open sockets and streams


class Guards(BaseModel):
    """Guards on what comes from outside (docs/security.md). Lists are comma-separated."""

    # Local repositories only inside these directories (service).
    local_repository_roots: Annotated[list[Path], NoDecode] = []
    repository_hosts: Annotated[list[str], NoDecode] = []  # when set, only these (or *.domain)
    # Outgoing requests never go to loopback, private, link-local, multicast or
    # reserved addresses, except inside these networks.
    outbound_allowed_networks: Annotated[list[Network], NoDecode] = []
    secret_keys: SecretStr | None = None  # Fernet keys, comma-separated; default: generated

    @field_validator(
        "local_repository_roots", "repository_hosts", "outbound_allowed_networks", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value


class Forges(BaseModel):
    """Git hosting: webhooks in (one secret per forge for the deployment; a project
    may have its own), pull-request feedback out (docs/forges.md)."""

    github_webhook_secret: SecretStr | None = None  # X-Hub-Signature-256
    gitlab_webhook_token: SecretStr | None = None  # X-Gitlab-Token
    gitea_webhook_secret: SecretStr | None = None  # X-Gitea-Signature (Forgejo too)
    webhook_max_bytes: int = Field(default=10_000_000, ge=1024)  # larger deliveries: 413
    webhook_tags: bool = False  # scan pushed tags too
    webhook_drafts: bool = False  # scan draft pull requests too
    # A GitHub App's installation creates projects for its repositories.
    github_app_creates_projects: bool = False
    github_api_url: str = "https://api.github.com"  # GitHub Enterprise: https://host/api/v3
    # Self-managed forges: https://host/api/v4, https://host/api/v1. Unset: no feedback there
    # (a token goes only to a host the settings name, never one a project names).
    gitlab_api_url: str | None = None
    gitea_api_url: str | None = None
    github_app_id: str | None = None
    github_app_private_key: SecretStr | None = None  # PEM; with the app id: check runs
    github_token: SecretStr | None = None  # without an App: commit statuses and a comment
    gitlab_token: SecretStr | None = None
    gitea_token: SecretStr | None = None


class Tier(BaseModel):
    """What one user may run: runs started a day and an hour, and at once."""

    runs_per_day: int = Field(ge=0)
    runs_per_hour: int = Field(ge=0)
    concurrent_runs: int = Field(ge=0)


TIERS = {
    "free": Tier(runs_per_day=50, runs_per_hour=10, concurrent_runs=2),
    "pro": Tier(runs_per_day=500, runs_per_hour=100, concurrent_runs=5),
    "enterprise": Tier(runs_per_day=5000, runs_per_hour=1000, concurrent_runs=20),
}


class Accounts(BaseModel):
    """Single sign-on, and what each tier of user may run (docs/security.md)."""

    # OpenID Connect (Keycloak, GitLab, Google, ...): the issuer, whose
    # /.well-known/openid-configuration names the rest.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_groups_claim: str = "groups"  # the ID token's (or userinfo's) list of groups
    # GitHub (or GitHub Enterprise) OAuth: an OAuth App's id and secret; organisations
    # are read through github_api_url.
    github_client_id: str | None = None
    github_client_secret: SecretStr | None = None
    github_oauth_url: str = "https://github.com"
    # Groups (OIDC) and organisations (GitHub) to roles, as JSON keyed "oidc:<group>" or
    # "github:<organisation>": "admin" makes an instance admin, {"project": "viewer|
    # maintainer|admin"} a role on projects by name. Someone in none of them is turned away,
    sso_roles: dict[str, str | dict[str, str]] = {}
    sso_open: bool = False  # ... except, when this is set, an OIDC user (a private issuer)
    # The tiers (JSON, as TIERS): a user's runs are counted against theirs.
    tiers: dict[str, Tier] = Field(default_factory=lambda: dict(TIERS))
    default_tier: str = "free"  # new users' tier

    @model_validator(mode="after")
    def _roles_and_tiers_known(self) -> Self:
        roles = {"viewer", "maintainer", "admin"}
        for group, given in self.sso_roles.items():
            if not group.startswith(("oidc:", "github:")):
                raise ValueError(f"REPOLENS_SSO_ROLES[{group!r}]: name a group as oidc:<group> "
                                 "or github:<organisation>")  # fmt: skip
            named = {given} if isinstance(given, str) else set(given.values())
            if named - roles or (isinstance(given, str) and given != "admin"):
                raise ValueError(f"REPOLENS_SSO_ROLES[{group!r}]: \"admin\", or a role "
                                 "(viewer, maintainer, admin) per project name")  # fmt: skip
        if self.default_tier not in self.tiers:
            raise ValueError(f"REPOLENS_DEFAULT_TIER {self.default_tier!r} is not a tier")
        return self


CONCERNS = (Storage, Analysis, Api, Jobs, Notifications, Live, Guards, Forges, Accounts)


class Settings(
    BaseSettings, Accounts, Forges, Guards, Live, Notifications, Jobs, Api, Analysis, Storage
):
    """Configuration, read from `REPOLENS_*` variables (and a `.env` file if present),
    declared by concern (`CONCERNS`). Every secret is a SecretStr: never in a
    repr, a log or an error."""

    model_config = SettingsConfigDict(
        env_prefix="REPOLENS_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    @property
    def rate_limits(self) -> str:
        """Where rate limits are counted: their own URL, else the events' Redis, else memory."""
        return plain(self.rate_limits_url) or self.events or "memory://"

    @property
    def events(self) -> str | None:
        """Where live events go: the events URL, else the broker if it is Redis."""
        if self.events_url:
            return plain(self.events_url)
        broker = self.broker
        return broker if broker and broker.startswith(("redis://", "rediss://")) else None


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for tool subprocesses: ours, with prompts and telemetry off."""
    env = dict(os.environ)
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="true",
        SEMGREP_SEND_METRICS="off",
        SEMGREP_ENABLE_VERSION_CHECK="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra or {})
    return env
