# MailForge bot image: slim Python, non-root user, migrations then the bot.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN groupadd --system mailforge && useradd --system --gid mailforge --home /app mailforge

# The locked dependencies first (every version pinned, every file checked against its
# hash; a layer of its own, rebuilt only when the lock changes), then the project itself
# with the locked build backend and nothing else.
COPY requirements/runtime.lock ./requirements/runtime.lock
RUN pip install --require-hashes -r requirements/runtime.lock

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY domain ./domain
COPY infrastructure ./infrastructure
COPY handlers ./handlers
COPY migrations ./migrations
RUN pip install --no-deps --no-build-isolation . && pip check && mkdir -p /app/data && chown -R mailforge:mailforge /app/data

USER mailforge
VOLUME ["/app/data"]
EXPOSE 8080
# `mailforge run` migrates too; the explicit step makes a failed migration stop the container.
CMD ["sh", "-c", "mailforge migrate && exec mailforge run"]
