"""Settings of an office's installation, from a TOML file and ``COUNTER_*`` environment variables.

Precedence: environment (``COUNTER_POLICY=wuhu``, nested with ``__``) over the TOML file
(``COUNTER_CONFIG`` or ``config.toml`` in the user's config directory) over the defaults.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir
from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def config_file() -> Path:
    """Where the settings file is read from."""
    override = os.environ.get("COUNTER_CONFIG")
    if override:
        return Path(override)
    return Path(user_config_dir("counter-app", appauthor=False)) / "config.toml"


class Settings(BaseSettings):
    """An office's settings; each field's docstring is its documentation."""

    model_config = SettingsConfigDict(env_prefix="COUNTER_", env_nested_delimiter="__")

    policy: str = Field(default="jiangsu")
    """本机构所在地区的策略包：jiangsu、beijing、wuhu、hunan。"""

    pack_file: Path | None = None
    """本机构自己的策略包文件（TOML）；设置后代替内置策略包。"""

    office_name: str = "示例县医疗保障服务中心"
    """经办机构名称，显示在界面和打印件上。"""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init arguments, then the environment, then the TOML file."""
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_file()),
        )
