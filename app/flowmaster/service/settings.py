"""Settings of the FlowMaster service, from a settings file and FM_* environment variables.

Precedence (last wins): field defaults < the YAML/JSON file named by FM_SETTINGS_FILE <
the YAML/JSON file named by FM_SECRETS_FILE < FM_<FIELD> variables < FM_<FIELD>_FILE variables
(the file's content, stripped: how a secret is passed without putting it in the environment).

Lists are comma-separated in variables (FM_REDIS_NODES=127.0.3.1:6379,127.0.3.2:6379); mappings
are JSON. Durations are seconds, or a number with a unit: 500ms, 30s, 5m, 12h, 7d.
Every field is documented in service/README.md with the spec field the deployment fills it from.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError, model_validator

ENV_PREFIX = "FM_"

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")


def parse_duration(value: Any) -> float:
    """Seconds from 1.5, "1.5", "500ms", "12h"."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '500ms', '30s', '12h'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a duration: use seconds or a number with ms, s, m, h, d or w")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


Seconds = Annotated[float, BeforeValidator(parse_duration)]
CommaList = Annotated[list[str], BeforeValidator(_split)]

DEFAULT_MATRIX: dict[str, Any] = {
    "distinct_approvers": True,
    "rules": [
        {"legal_entity": "*", "min_risk": "low", "roles": ["process-owner"]},
        {"legal_entity": "*", "min_risk": "high", "roles": ["process-owner", "compliance"]},
    ],
}
TOPICS = ("process_events", "execution_events", "human_task_events", "agent_task_events", "system_events")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # HTTP ------------------------------------------------------------------------------------
    listen_host: str = Field("127.0.0.1", description="address uvicorn binds")
    listen_port: int = Field(8000, ge=1, le=65535, description="port uvicorn binds")
    environment: str = Field("local", description="environment name, logged and shown by /healthz")
    log_level: str = Field("INFO", description="root log level")
    secret_key: SecretStr = Field(description="signs pagination cursors")
    # PostgreSQL through pgbouncer (transaction pooling) -----------------------------------------
    pg_host: str = Field(description="pgbouncer address")
    pg_port: int = Field(6432, ge=1, le=65535, description="pgbouncer port")
    pg_database: str = Field("process_management", description="database of the process tables")
    pg_user: str = Field("process_management", description="login (the database's owner: migrations create tables)")
    pg_password: SecretStr
    pg_pool_size: int = Field(10, ge=1, description="client connections to pgbouncer per process")
    pg_connect_timeout: Seconds = Field(5.0, description="connect timeout")
    # Redis cluster ---------------------------------------------------------------------------
    redis_nodes: CommaList = Field(description="startup nodes host:port; the client discovers the rest")
    redis_username: str = "flowmaster"
    redis_password: SecretStr
    redis_timeout: Seconds = Field(2.0, description="socket timeout of Redis calls")
    session_prefix: str = "fm:session:"
    session_ttl: Seconds = Field(12 * 3600.0, description="session lifetime")
    cache_prefix: str = "fm:cache:"
    cache_ttl: Seconds = Field(300.0, description="response cache lifetime")
    rate_limit_prefix: str = "fm:ratelimit:"
    rate_limit_window: Seconds = Field(60.0, description="rate-limit counter window")
    rate_limit: int = Field(1200, ge=1, description="requests per client per window")
    login_rate_limit: int = Field(20, ge=1, description="login attempts per client address per window")
    # Kafka -----------------------------------------------------------------------------------
    kafka_bootstrap: CommaList = Field(description="brokers host:port")
    kafka_username: str = "flowmaster"
    kafka_password: SecretStr
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "SASL_PLAINTEXT", description="SASL_SSL where the brokers listen with TLS")
    kafka_ssl_ca_file: str | None = Field(None, description="CA bundle that signs the brokers' certificates (SASL_SSL)")
    kafka_topics: dict[str, str] = Field(default_factory=lambda: {t: t for t in TOPICS}, description="event stream -> topic name")
    kafka_timeout: Seconds = Field(5.0, description="metadata timeout of the readiness check")
    # Outbox relay ----------------------------------------------------------------------------
    relay_in_service: bool = Field(True, description="run the outbox relay as a thread of the API process")
    relay_batch_size: int = Field(500, ge=1)
    relay_poll_interval: Seconds = 0.2
    relay_delivery_timeout: Seconds = Field(30.0, description="librdkafka message.timeout.ms")
    outbox_retention: Seconds = Field(7 * 86400.0, description="published events are deleted after this")
    # API -------------------------------------------------------------------------------------
    page_size: int = Field(50, ge=1, description="default page size")
    max_page_size: int = Field(500, ge=1)
    idempotency_ttl: Seconds = 86400.0
    approval_matrix: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_MATRIX))
    service_handlers: dict[str, str] = Field(
        default_factory=lambda: {"score-customer": "flowmaster.service.handlers:score_customer"},
        description="service task topic -> 'module:function'",
    )
    metrics_username: str | None = Field(None, description="HTTP basic login Prometheus scrapes /metrics with")
    metrics_password: SecretStr | None = None

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.page_size > self.max_page_size:
            raise ValueError(f"page_size {self.page_size} > max_page_size {self.max_page_size}")
        missing = [t for t in TOPICS if t not in self.kafka_topics]
        if missing:
            raise ValueError(f"kafka_topics lacks {', '.join(missing)}")
        if (self.metrics_username is None) != (self.metrics_password is None):
            raise ValueError("give both metrics_username and metrics_password, or neither")
        return self

    @property
    def database_url(self) -> str:
        # The password travels in connect args, never in the URL (it would be logged).
        return f"postgresql+psycopg://{self.pg_user}@{self.pg_host}:{self.pg_port}/{self.pg_database}"

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        data: dict[str, Any] = {}
        for var in ("FM_SETTINGS_FILE", "FM_SECRETS_FILE"):
            if env.get(var):
                data.update(_read_file(Path(env[var]), var))
        fields = cls.model_fields
        for name in fields:
            key = ENV_PREFIX + name.upper()
            if key in env:
                data[name] = _from_env(env[key], fields[name].annotation)
            if key + "_FILE" in env:
                data[name] = Path(env[key + "_FILE"]).read_text().strip()
        data.update(overrides)
        try:
            return cls(**data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
            raise SettingsError(f"invalid settings: {problems}") from exc


class SettingsError(ValueError):
    pass


def _read_file(path: Path, var: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise SettingsError(f"{var}={path}: {exc.strerror}") from exc
    if not isinstance(loaded, dict):
        raise SettingsError(f"{var}={path}: expected a mapping of setting names to values")
    return loaded


def _from_env(raw: str, annotation: Any) -> Any:
    text = str(annotation)
    if text.startswith("dict") or "dict[" in text:
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"expected JSON object, got {raw!r}: {exc}") from exc
    return raw
