# The case worker (and the `mvp` CLI) for production: connects to TEMPORAL_ADDRESS and DATABASE_URL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MVP_ENV=production
WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY protocol protocol
COPY models models
COPY workflows workflows
COPY activities activities
COPY infra infra
COPY usecases usecases
COPY migrations migrations
COPY cli cli
COPY api api
COPY worker.py ./
RUN pip install --no-cache-dir . && useradd --system --uid 10001 mvp
USER mvp

# Migrations first (idempotent), then the worker.
CMD ["sh", "-c", "mvp db migrate && exec mvp worker"]
