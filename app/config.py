"""Settings: one typed object read from the environment and `.env`."""

from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-only-secret-key-change-me-in-production"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./shop.db"
    db_pool_size: Annotated[int, Field(ge=1, le=200)] = 10
    db_statement_timeout_ms: Annotated[int, Field(ge=0)] = 15_000
    db_isolation_level: Literal["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"] = (
        "READ COMMITTED"
    )

    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    access_token_ttl_seconds: Annotated[int, Field(ge=30)] = 900
    refresh_token_ttl_seconds: Annotated[int, Field(ge=60)] = 14 * 24 * 3600

    argon2_memory_kib: Annotated[int, Field(ge=19_456)] = 19_456
    argon2_time_cost: Annotated[int, Field(ge=2)] = 2
    argon2_parallelism: Annotated[int, Field(ge=1)] = 1
    # Hashes computed at once; unset: one fewer than the CPUs (at least one).
    password_hash_concurrency: Annotated[int, Field(ge=1, le=64)] | None = None

    login_max_failures: Annotated[int, Field(ge=0)] = 10
    login_failure_window_seconds: Annotated[int, Field(ge=1)] = 900
    password_reset_max_requests: Annotated[int, Field(ge=0)] = 5
    password_reset_window_seconds: Annotated[int, Field(ge=1)] = 3600

    password_reset_token_ttl_seconds: Annotated[int, Field(ge=60)] = 1800
    password_reset_url: str = "http://127.0.0.1:8000/reset-password"
    password_reset_hide_unknown_email: bool = False

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "Shop <no-reply@shop.localhost>"

    payment_gateway: str = "sandbox"
    payment_gateway_url: AnyHttpUrl | None = None
    payment_gateway_api_key: SecretStr = SecretStr("sk_test_sandbox")
    payment_gateway_timeout_seconds: float = 10.0

    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"

    # How stale a catalog answer may be; 0 turns the catalog cache off.
    catalog_cache_seconds: Annotated[float, Field(ge=0, le=3600)] = 2.0

    run_worker: bool = True
    job_lease_seconds: Annotated[int, Field(ge=5)] = 60
    job_max_attempts: Annotated[int, Field(ge=1)] = 8
    job_poll_seconds: Annotated[float, Field(gt=0)] = 1.0

    order_payment_timeout_seconds: Annotated[int, Field(ge=60)] = 1800
    order_sweep_interval_seconds: Annotated[float, Field(gt=0)] = 60.0
    idempotency_ttl_seconds: Annotated[int, Field(ge=60)] = 24 * 3600

    max_request_body_bytes: Annotated[int, Field(ge=1024)] = 1_048_576

    log_level: str = "INFO"

    @field_validator("currency", mode="before")
    @classmethod
    def _upper_currency(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.environment is not Environment.PRODUCTION:
            return self
        secret = self.secret_key.get_secret_value()
        if secret == DEV_SECRET_KEY or len(secret) < 32:
            raise ValueError(
                "SECRET_KEY must be set to a random value of at least 32 characters "
                "when ENVIRONMENT=production"
            )
        if not self.smtp_host:
            raise ValueError(
                "SMTP_HOST must be set when ENVIRONMENT=production: "
                "password reset emails cannot go to the log there"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
