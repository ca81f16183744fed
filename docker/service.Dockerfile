# HSP Marketplace - one image per service, all from this file.
#
# Build from the repository root (the build context must be the uv workspace root):
#   docker build -f docker/service.Dockerfile --build-arg SERVICE=identity --build-arg PORT=8081 \
#     --target service -t hspm/identity .
#   docker build -f docker/service.Dockerfile --build-arg SERVICE=validator --build-arg PORT=8084 \
#     --target validator -t hspm/validator .
# Needs BuildKit (the default builder since Docker Engine 23) for the cache mounts.
# compose.yaml passes these arguments for every service; docs/containers.md explains it.

# The same base for every stage: the virtual environment built in `builder` links to
# this image's /usr/local/bin/python3.11, so `runtime` must be the identical image.
# Pinned to a Debian release so apt package names and the interpreter stay put.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# The service this image runs (its package is hspm-<SERVICE>, its module hspm.<SERVICE>).
ARG SERVICE=gateway
ARG PORT=8080

# ---------------------------------------------------------------------------------
# manifests: only what dependency resolution reads (uv.lock and the workspace's
# pyproject.toml files). `COPY --from=manifests` below is cached by content, so the
# dependency layer is rebuilt only when the lock or a pyproject changes, not on
# every source edit.
# ---------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN find . -type f ! -name pyproject.toml ! -name uv.lock -delete \
    && find . -mindepth 1 -type d -empty -delete

# ---------------------------------------------------------------------------------
# builder: a non-editable virtual environment at /app/.venv with hspm-${SERVICE},
# hspm-common and their locked third-party dependencies, and nothing for dev.
# ---------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
ARG UV_VERSION=0.13.9
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app

# 1. Third-party dependencies only, from the lock file and the member manifests.
COPY --from=manifests /src/ /app/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package hspm-${SERVICE}

# 2. The workspace members themselves, built as wheels (no link back to /app/libs or
#    /app/services, so the runtime stage needs only the venv).
COPY libs/ /app/libs/
COPY services/${SERVICE}/ /app/services/${SERVICE}/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package hspm-${SERVICE} \
    && /app/.venv/bin/python -c "import hspm.common, hspm.${SERVICE}" \
    && mkdir -p /app/services/${SERVICE}/migrations

# ---------------------------------------------------------------------------------
# runtime
# ---------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS service
ARG SERVICE
ARG PORT
# The health path as a label as well as the HEALTHCHECK below: an OCI-format build drops
# HEALTHCHECK, and the validator and platforms then probe the path the label names.
LABEL org.opencontainers.image.title="hspm-${SERVICE}" \
      org.opencontainers.image.description="HSP Marketplace ${SERVICE} service" \
      org.hl7.hspm.health-path="/healthz"

RUN groupadd --system --gid 10001 hspm \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin hspm

# Owned by root and so read-only to the service user. The service's SQL migrations
# ship inside its package (hspm/<service>/migrations/ in the venv), where it loads them
# by default. services/<service>/migrations/, if any, is copied too, for deployments that
# keep migrations outside the package: set HSPM_MIGRATIONS_DIR to it only then.
COPY --from=builder /app/.venv /app/.venv
COPY --from=builder /app/services/${SERVICE}/migrations /app/services/${SERVICE}/migrations

ENV PATH="/app/.venv/bin:${PATH}" \
    VIRTUAL_ENV=/app/.venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HSPM_SERVICE=${SERVICE} \
    HSPM_HTTP_HOST=0.0.0.0 \
    HSPM_HTTP_PORT=${PORT}

WORKDIR /app
USER 10001:10001
EXPOSE ${PORT}
STOPSIGNAL SIGTERM
# No curl in slim images: the interpreter probes /healthz; any error or non-2xx exits 1.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["/app/.venv/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['HSPM_HTTP_PORT'] + '/healthz', timeout=2)"]

# exec: the interpreter replaces the shell, so SIGTERM reaches the service itself.
ENTRYPOINT ["/bin/sh", "-c", "exec /app/.venv/bin/python -m \"hspm.${HSPM_SERVICE}\" \"$@\"", "--"]

# ---------------------------------------------------------------------------------
# validator: the service image plus the sandbox tools.
# ---------------------------------------------------------------------------------
FROM service AS validator
USER 0
# The validator runs submitted images in runc sandboxes: runc runs them, skopeo fetches
# them from registries, umoci unpacks OCI layouts into bundles. Only this image has them.
# The Debian release pinned by PYTHON_IMAGE pins their versions (so no DL3008 pins).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends runc skopeo umoci \
    && rm -rf /var/lib/apt/lists/*
# HOME and TMPDIR point into the /tmp tmpfs: the root filesystem is read-only in compose,
# and skopeo and runc keep per-user state (auth files, --root) under them.
ENV HOME=/tmp \
    TMPDIR=/tmp
USER 10001:10001
