"""Where an installation keeps its things: the settings file, the office database, the data folder.

The lowest module of the app beside ``domain``: it reads only the environment and the platform's
user folders, so ``settings`` (and everything else) can ask for a path without importing storage,
sync or the UI. ``COUNTER_CONFIG`` and ``COUNTER_DB`` override the defaults; the tests point the
user folders themselves at a temporary directory (``XDG_*_HOME``, ``HOME``).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

from platformdirs import user_config_dir, user_data_dir

APP_NAME = "counter-app"


def config_dir() -> Path:
    """The user's settings folder for the app (it may not exist yet)."""
    return Path(user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """The user's data folder for the app: the office database, prints, keys (may not exist)."""
    return Path(user_data_dir(APP_NAME, appauthor=False))


def config_file() -> Path:
    """Where the settings file is read from: ``COUNTER_CONFIG``, else ``config.toml`` there."""
    override = os.environ.get("COUNTER_CONFIG")
    if override:
        return Path(override)
    return config_dir() / "config.toml"


def default_db_path() -> Path:
    """``COUNTER_DB`` if set, else ``counter.db`` in the user's data directory."""
    override = os.environ.get("COUNTER_DB")
    if override:
        return Path(override)
    return data_dir() / "counter.db"


def is_loopback(url: str) -> bool:
    """Whether the URL's host is this machine (plain http there exposes nothing)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def postgres_url(url: str) -> str:
    """``postgresql://…`` as SQLAlchemy's psycopg 3 URL (the driver installed with the app)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url
