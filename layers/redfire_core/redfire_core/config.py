"""Typed runtime settings, read once per container from the environment."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from redfire_core.resources import Declaration


class Settings(BaseSettings):
    """Everything a function needs to know about its stage; names derive from the declaration."""

    model_config = SettingsConfigDict(env_prefix="REDFIRE_", extra="ignore")

    stage: str = "dev"
    # True only inside the local cloud (`redfire dev`): enables dev-only conveniences.
    local: bool = False
    jwt_issuer: str = "redfire"
    jwt_audience: str = "redfire-api"
    token_ttl_seconds: int = 1800
    # Seconds a price may be old and still fill a market order on the paper gateway.
    max_price_age_seconds: int = 300
    instrument_cache_seconds: int = 60

    @property
    def declaration(self) -> Declaration:
        return Declaration(self.stage)

    def table_name(self, logical: str) -> str:
        return self.declaration.name(logical)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this container (cached: the environment does not change under Lambda)."""
    return Settings()
