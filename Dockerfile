# The service image: migrates, then serves against DATABASE_URL (docker-compose.yml supplies PostgreSQL).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --system --create-home --home-dir /app safeaccom
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY service ./service
COPY optimiser ./optimiser
COPY migrations ./migrations
COPY refdata ./refdata
RUN pip install .
USER safeaccom
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ready')" || exit 1
CMD ["sh", "-c", "safeaccom migrate && exec safeaccom serve --host 0.0.0.0 --port 8000"]
