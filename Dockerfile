# news-monitor: built in one stage; the image that runs holds only the installed package and
# its locked dependencies (one virtual environment in /opt/monitor), runs as uid:gid 10001,
# keeps its state in the /app/state volume.

FROM python:3.11.10-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/monitor
COPY requirements.lock /src/
RUN /opt/monitor/bin/pip install -r /src/requirements.lock
COPY pyproject.toml README.md /src/
COPY monitor /src/monitor
# pip and setuptools only install, and numpy's and scipy's own test suites (about 50 MB) are
# never imported: the running service needs none of them.
RUN /opt/monitor/bin/pip install --no-deps /src \
    && /opt/monitor/bin/pip uninstall --yes --quiet pip setuptools \
    && find /opt/monitor/lib/python3*/site-packages/numpy /opt/monitor/lib/python3*/site-packages/scipy \
        -depth -type d -name tests -exec rm -rf {} +

FROM python:3.11.10-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/monitor/bin:$PATH \
    MONITOR_CONFIG_DIR=/app/config \
    MONITOR_STATE_DIR=/app/state \
    MONITOR_HTTP_LISTEN=0.0.0.0:9464
# A numeric user (Kubernetes' runAsNonRoot can verify it) with a group of its own id, not a
# system group: a bind-mounted state directory must be writable by uid 10001.
RUN groupadd --gid 10001 monitor \
    && useradd --uid 10001 --gid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin monitor \
    && mkdir -p /app/state \
    && chown 10001:10001 /app/state
COPY --from=build /opt/monitor /opt/monitor
# The shipped watchlists; mount your own read-only over them: -v "$PWD/config:/app/config:ro"
COPY config /app/config
WORKDIR /app
USER 10001:10001
VOLUME ["/app/state"]
# /healthz and /metrics (Prometheus)
EXPOSE 9464
STOPSIGNAL SIGTERM
# `monitor health` fails once the heartbeat (written every 5 s) is older than 30 s
# (MONITOR_HEALTH_MAX_AGE); three failures 15 s apart mark the container unhealthy, so a hung
# service is unhealthy within 30 + 3 x (15 + the check's ~1 s) = about 80 s.
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=3 CMD ["monitor", "health"]
ENTRYPOINT ["monitor"]
CMD ["run"]
