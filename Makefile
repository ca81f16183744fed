# The single command surface: humans, CI and hooks all run these targets.
.DEFAULT_GOAL := help
UV ?= uv
PYTEST_ARGS ?=

.PHONY: help deps up down test test-fast test-unit test-integration test-system lint fmt bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

deps: ## install everything needed (uv, Python deps, Debian packages) and start PostgreSQL/RabbitMQ
	@bash scripts/bootstrap.sh

up: deps ## run the whole marketplace with demo data; gateway on http://127.0.0.1:8080
	@$(UV) run --frozen python -m hspm.devstack up

down: ## stop what `make up` started
	@$(UV) run --frozen python -m hspm.devstack down

test: deps ## lint, then the whole test suite against real PostgreSQL and RabbitMQ
	@$(MAKE) --no-print-directory lint
	@$(UV) run --frozen pytest $(PYTEST_ARGS)

test-fast: ## the suite without system tests (no deps check, no lint)
	@$(UV) run --frozen pytest -m "not system" $(PYTEST_ARGS)

test-unit: ## pure-logic tests only: no database, broker, registry or sandbox
	@$(UV) run --frozen pytest -m unit $(PYTEST_ARGS)

test-integration: ## tests against real PostgreSQL, RabbitMQ, the registry and runc
	@$(UV) run --frozen pytest -m integration $(PYTEST_ARGS)

test-system: deps ## whole services as processes, through the gateway
	@$(UV) run --frozen pytest -m system $(PYTEST_ARGS)

lint: ## ruff (lint and format check), mypy (strict) and the import contracts
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy
	@$(UV) run --frozen lint-imports --no-cache

fmt: ## format and autofix
	@$(UV) run --frozen ruff format .
	@$(UV) run --frozen ruff check --fix .

bench: deps ## performance figures with their baselines (BENCH="validation" runs one)
	@$(UV) run --frozen python -m bench $(BENCH)

soak: deps ## flows under kills and restarts, private database and broker (SOAK_ROUNDS=100)
	@$(UV) run --frozen python -m hspm.devstack.soak

clean: ## remove local state (.hspm) and caches
	rm -rf .hspm .pytest_cache .mypy_cache .ruff_cache
