# syntax=docker/dockerfile:1
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENVIRONMENT=production \
    DATABASE_URL=sqlite+aiosqlite:////srv/data/shop.db \
    PORT=8000

WORKDIR /srv
RUN useradd --create-home --uid 10001 shop && mkdir -p /srv/data && chown shop /srv/data

# Dependencies first, in their own layer: it is rebuilt only when pyproject changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps))" \
    && pip install -r /tmp/requirements.txt

COPY README.md alembic.ini ./
COPY migrations ./migrations
COPY app ./app
RUN pip install --no-deps .

USER shop
EXPOSE 8000
VOLUME ["/srv/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"

# Migrations are applied at start, then uvicorn replaces the shell. The app logs
# each request itself, with its request id and without the query string (a reset
# link's token must never reach a log), so uvicorn's access log is off. The loop
# is asyncio's own: under uvloop the catalog cache's reads starved (README,
# "Benchmark").
CMD ["sh", "-c", "alembic upgrade head && exec uvicorn app.main:app --host 0.0.0.0 --port \"$PORT\" --proxy-headers --no-access-log --loop asyncio"]
