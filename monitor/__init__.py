"""news-monitor: polls news feeds and pushes one alert per matching story to Telegram."""

__version__ = "0.1.0"
