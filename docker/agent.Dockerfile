# HSP Marketplace Platform Agent - `hspm agent run` in an image of its own.
#
# Build from the repository root (the build context must be the uv workspace root):
#   docker build -f docker/agent.Dockerfile -t hspm/agent .
# Run (all settings as HSPM_AGENT_* variables, or a TOML file mounted at /etc/hspm-agent):
#   docker run -e HSPM_AGENT_MARKETPLACE_URL=... -e HSPM_AGENT_PLATFORM_ID=... \
#     -e HSPM_AGENT_KEY_ID=... -e HSPM_AGENT_KEY_FILE=/run/secrets/agent-key \
#     -e HSPM_AGENT_DRIVER=kubernetes -v agent-state:/var/lib/hspm-agent hspm/agent
# docs/platform-agent.md explains the drivers and settings.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Only what dependency resolution reads, so the dependency layer is rebuilt only when
# the lock or a pyproject changes.
FROM ${PYTHON_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN find . -type f ! -name pyproject.toml ! -name uv.lock -delete \
    && find . -mindepth 1 -type d -empty -delete

# A non-editable virtual environment with hspm-client and its locked dependencies only:
# no server library, no dev tools.
FROM ${PYTHON_IMAGE} AS builder
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
COPY --from=manifests /src/ /app/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package hspm-client --extra tracing
COPY libs/client/ /app/libs/client/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package hspm-client --extra tracing \
    && /app/.venv/bin/hspm agent run --help >/dev/null

FROM ${PYTHON_IMAGE} AS agent
# The health path as a label as well as the HEALTHCHECK below: an OCI-format build drops
# HEALTHCHECK, and the validator and platforms then probe the path the label names.
LABEL org.opencontainers.image.title="hspm-agent" \
      org.opencontainers.image.description="HSP Marketplace Platform Agent" \
      org.hl7.hspm.health-path="/healthz"
RUN groupadd --system --gid 10001 hspm \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin hspm \
    && mkdir -p /var/lib/hspm-agent /etc/hspm-agent \
    && chown 10001:10001 /var/lib/hspm-agent
COPY --from=builder /app/.venv /app/.venv

# The agent's state (stream position, what it deployed) is its only data: a volume, so
# the root filesystem can be read-only. It listens on all interfaces for the probe.
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HSPM_AGENT_STATE_DIR=/var/lib/hspm-agent \
    HSPM_AGENT_LISTEN=0.0.0.0:9465 \
    HSPM_AGENT_DRIVER=kubernetes
VOLUME ["/var/lib/hspm-agent"]
WORKDIR /var/lib/hspm-agent
USER 10001:10001
EXPOSE 9465
STOPSIGNAL SIGTERM
# No curl in slim images: the interpreter probes /healthz; any error or non-2xx exits 1.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/app/.venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9465/healthz', timeout=2)"]

# The agent is PID 1 and handles SIGTERM itself (it finishes the step in hand, then exits 0).
ENTRYPOINT ["/app/.venv/bin/hspm", "agent", "run"]
