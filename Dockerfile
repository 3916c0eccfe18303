# LikeLens: one bot process per container (SHARD_IDS picks its shards). Build: docker build -t likelens .
# Run: docker compose up -d (PostgreSQL and one container per shard)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/likelens.db

WORKDIR /app

# Dependencies in a layer of their own, read from pyproject.toml: code changes do not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY bot.py launcher.py config.py ./
COPY xapi ./xapi
COPY store ./store
COPY ui ./ui
COPY cogs ./cogs
COPY digests ./digests
COPY accounts ./accounts
COPY web ./web

# A non-root user owning only the database volume.
RUN groupadd --gid 10001 likelens \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin likelens \
    && mkdir -p /data \
    && chown likelens:likelens /data
USER 10001:10001
VOLUME ["/data"]

# The web server inside the bot: /x/callback (for /x connect) and /healthz. Compose publishes it.
ENV WEB_HOST=0.0.0.0 \
    WEB_PORT=8080
EXPOSE 8080

# Healthy while the bot is connected to Discord: GET /healthz answers 200 then, 503 otherwise (the slim
# image has no curl; `python bot.py --healthcheck` still checks the alive file as before).
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 CMD ["python", "-c", "import os, sys, urllib.request as u; port = os.environ.get('WEB_PORT') or '8080'; sys.exit(0 if u.urlopen('http://127.0.0.1:' + port + '/healthz', timeout=5).status == 200 else 1)"]

CMD ["python", "bot.py"]
