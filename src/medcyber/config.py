"""Settings from the environment (12-factor): one place that knows where the store lives."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The folder for the embedded store and uploads: MEDCYBER_HOME, default ~/.medcyber."""
    return Path(os.environ.get("MEDCYBER_HOME") or Path.home() / ".medcyber")


def database_url() -> str:
    """MEDCYBER_DATABASE_URL (PostgreSQL in a server deployment), default an SQLite file in home()."""
    url = os.environ.get("MEDCYBER_DATABASE_URL")
    if url:
        return normalise_url(url)
    return f"sqlite:///{home() / 'medcyber.db'}"


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
