#!/usr/bin/env bash
# Installs what `make up` and `make test` need on a fresh machine, and starts PostgreSQL
# and RabbitMQ if they are not running. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# Debian packages: wrk and nginx (the edge variant of the gateway hop) for benchmarks,
# node/npm for the dev OpenID Connect provider (a node that came another way is fine),
# the database and broker if absent, and the
# validator's toolchain: the local OCI registry, skopeo + umoci to pull and unpack,
# runc for the sandbox, busybox-static for the sample images; podman, slirp4netns and
# uidmap for the Platform Agent's podman driver; chromium for the web UI's browser tests
# (Playwright drives Debian's build; it never downloads a browser of its own).
missing=()
need() { dpkg -s "$1" >/dev/null 2>&1 || missing+=("$1"); }
need wrk
need nginx
for pkg in docker-registry skopeo umoci runc busybox-static podman slirp4netns uidmap chromium; do need "$pkg"; done
command -v node >/dev/null || need nodejs
command -v npm >/dev/null || need npm
command -v pg_ctlcluster >/dev/null || command -v postgres >/dev/null || need postgresql
command -v rabbitmq-server >/dev/null || need rabbitmq-server
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v uv >/dev/null; then
  say "installing uv"
  python3 -m pip install -q --disable-pip-version-check "uv==0.13.9"
fi

say "syncing Python dependencies (uv.lock)"
uv sync --frozen --quiet

if [ ! -d tools/oidc-provider/node_modules ]; then
  say "installing the dev OpenID Connect provider (npm ci)"
  npm ci --prefix tools/oidc-provider --silent --no-audit --no-fund
fi

wait_port() { # host port seconds
  for _ in $(seq 1 "$3"); do (echo >"/dev/tcp/$1/$2") 2>/dev/null && return 0; sleep 1; done; return 1
}

if ! (echo >/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  say "starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  else
    service postgresql start
  fi
  wait_port 127.0.0.1 5432 30 || { echo "PostgreSQL did not start" >&2; exit 1; }
fi
if ! (echo >/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  say "starting RabbitMQ"
  rabbitmq-server -detached
  wait_port 127.0.0.1 5672 60 || { echo "RabbitMQ did not start" >&2; exit 1; }
fi
