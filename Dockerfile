# news-monitor: one slim stage, dependencies from the lock file, non-root, state/ as a volume.
FROM python:3.11.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MONITOR_CONFIG_DIR=/app/config \
    MONITOR_STATE_DIR=/app/state \
    MONITOR_HTTP_LISTEN=0.0.0.0:9464

WORKDIR /app
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /app monitor \
    && mkdir -p /app/state \
    && chown monitor /app/state
COPY config ./config

USER monitor
VOLUME ["/app/state"]
# Mount your own watchlists read-only over /app/config: -v ./config:/app/config:ro
# /healthz and /metrics (Prometheus)
EXPOSE 9464
STOPSIGNAL SIGTERM
# `monitor health` fails when the service's heartbeat (written every few seconds) is stale.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 CMD ["monitor", "health"]
ENTRYPOINT ["monitor"]
CMD ["run"]
