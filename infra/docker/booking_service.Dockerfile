# syntax=docker/dockerfile:1
# booking_service image. Build from the repo root: docker compose build booking_service
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /app

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /srv/keys /srv/reports \
    && chown app:app /srv/keys /srv/reports

# Dependencies only, from the hashed lock: the shared kernel's layer is the same in every service image,
# so they share it; the next layer adds this service's extra only. Rebuilt when the lock changes.
COPY pyproject.toml requirements.lock infra/docker/requirements.py ./
RUN python requirements.py slice > base.txt \
    && pip install --no-cache-dir --require-hashes --no-deps -r base.txt
RUN python requirements.py slice booking > service.txt \
    && pip install --no-cache-dir --require-hashes --no-deps -r service.txt

# iproute2: `ss -K`, with which the realtime watchdog cuts off a frozen realtime instance.
RUN apt-get update \
    && apt-get install -y --no-install-recommends iproute2=6.1.0-3 \
    && rm -rf /var/lib/apt/lists/*

COPY common/ common/
COPY service_discovery/ service_discovery/
COPY booking_service/ booking_service/
COPY infra/__init__.py infra/gunicorn_conf.py infra/
COPY infra/docker/ infra/docker/
# Listing photos (PHOTO_DIR): a named volume takes this directory's owner when first mounted.
RUN mkdir -p /srv/photos && chown app:app /srv/photos

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "infra/docker/healthcheck.py", "http://127.0.0.1:8000/health"]
ENTRYPOINT ["sh", "/app/infra/docker/entrypoint.sh"]
CMD ["web", "booking_service"]
