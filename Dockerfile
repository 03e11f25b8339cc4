# One image recipe for every CRM service; the build argument SERVICE picks which one.
#
# Build context = repository root (the uv workspace and its lockfile are needed):
#   docker build --build-arg SERVICE=contacts --build-arg PORT=8001 -t crm-contacts .
# Run alone (any Kafka >= 3.7 and MongoDB >= 7; settings are CRM_<SERVICE>_* variables,
# see docs/operations.md; HTTP on the service's own port, 0.0.0.0 inside the container):
#   docker run -p 8001:8001 -e CRM_CONTACTS_KAFKA_BOOTSTRAP_SERVERS=broker:9092 \
#     -e CRM_CONTACTS_MONGO_URI='mongodb://user:pass@db:27017/?authSource=admin&replicaSet=rs0' \
#     -e CRM_CONTACTS_API_KEYS='{"a-long-random-key": "agent"}' crm-contacts
#
# Only PyPI is needed besides the base image: uv is installed with pip, and the
# dependencies are exactly the ones pinned in uv.lock (--frozen). PORT is the service's
# HTTP port (its settings' default: contacts 8001, feedback 8002, loyalty 8003,
# offboarding 8004, insights 8005); tests/unit/test_compose.py keeps compose's build
# arguments in step.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: a virtualenv with the locked dependencies and the workspace packages --------------
FROM ${PYTHON_IMAGE} AS build

ARG SERVICE
ARG PORT
RUN case "${SERVICE}" in ""|*[!a-z]*) \
      echo "build with --build-arg SERVICE=<a folder in services/> --build-arg PORT=<its port>" >&2; \
      exit 1;; esac \
 && case "${PORT}" in ""|*[!0-9]*) echo "build with --build-arg PORT=<the service's port>" >&2; exit 1;; esac

ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1

WORKDIR /src

# Third-party dependencies first: this layer is rebuilt only when the lockfile or a
# pyproject.toml changes, not on every source edit.
COPY pyproject.toml uv.lock ./
COPY shared/events/pyproject.toml shared/events/
COPY shared/runtime/pyproject.toml shared/runtime/
COPY services/${SERVICE}/pyproject.toml services/${SERVICE}/
RUN uv sync --frozen --no-dev --no-install-workspace --package "crm-${SERVICE}"

# Then the workspace packages this service needs, installed as wheels (not editable), so
# the runtime image needs the virtualenv only.
COPY shared/events/ shared/events/
COPY shared/runtime/ shared/runtime/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN uv sync --frozen --no-dev --no-editable --package "crm-${SERVICE}"

# --- runtime: the virtualenv, a non-root user, nothing else ------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG SERVICE
ARG PORT
LABEL org.opencontainers.image.title="crm-${SERVICE}" \
      org.opencontainers.image.description="CRM ${SERVICE} service" \
      org.opencontainers.image.source="services/${SERVICE}"

RUN groupadd --system --gid 10001 crm \
 && useradd --system --uid 10001 --gid crm --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin crm

COPY --from=build /app/.venv /app/.venv

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CRM_SERVICE=${SERVICE} \
    CRM_SERVICE_PORT=${PORT}

WORKDIR /app
USER 10001:10001
EXPOSE ${PORT}
STOPSIGNAL SIGTERM

# Liveness only (the process answers HTTP); docker-compose.yml probes /readyz instead.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-m", "crm_runtime.container", "probe"]

CMD ["python", "-m", "crm_runtime.container", "run"]
