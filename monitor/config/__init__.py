"""Read and validate the environment and the YAML files in config/; the only package that does.

`Settings.from_env(environ)` reads deployment knobs and secrets from the environment
(`settings.py`); `load_config(directory)` reads `feeds.yaml`, `topics.yaml` and `chats.yaml`
(`load.py`, one model module per file, `yamlfile.py` for reading and wording problems). Both
raise `ConfigError` listing every problem as `file: path.to.key: problem`.
"""

from monitor.config.base import CHATS_FILE, DEFAULT_CHAT, FEEDS_FILE, TOPICS_FILE, parse_duration
from monitor.config.chats import BurstConfig, ChatConfig
from monitor.config.feeds import FeedConfig
from monitor.config.load import (
    Config,
    add_feeds,
    config_schemas,
    config_signature,
    load_config,
    load_feeds,
    load_topics,
    telegram_problems,
)
from monitor.config.settings import ENV_SETTINGS, EnvSetting, Settings, environment_table
from monitor.config.topics import TopicConfig
from monitor.config.yamlfile import yaml_text

__all__ = (
    "CHATS_FILE",
    "DEFAULT_CHAT",
    "ENV_SETTINGS",
    "FEEDS_FILE",
    "TOPICS_FILE",
    "BurstConfig",
    "ChatConfig",
    "Config",
    "EnvSetting",
    "FeedConfig",
    "Settings",
    "TopicConfig",
    "add_feeds",
    "config_schemas",
    "config_signature",
    "environment_table",
    "load_config",
    "load_feeds",
    "load_topics",
    "parse_duration",
    "telegram_problems",
    "yaml_text",
)
