# The single command surface: humans, CI and hooks all run these targets.
.DEFAULT_GOAL := help
UV ?= uv
PYTEST_ARGS ?=

.PHONY: help deps up down test test-fast lint fmt bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

deps: ## install everything needed (uv, Python deps, Debian packages) and start PostgreSQL/RabbitMQ
	@bash scripts/bootstrap.sh

up: deps ## run the whole marketplace with demo data; gateway on http://127.0.0.1:8080
	@$(UV) run --frozen python -m hspm.devstack up

down: ## stop what `make up` started
	@$(UV) run --frozen python -m hspm.devstack down

test: deps ## the whole test suite against real PostgreSQL and RabbitMQ
	@$(UV) run --frozen pytest $(PYTEST_ARGS)

test-fast: ## the suite without system tests (no deps check)
	@$(UV) run --frozen pytest -m "not system" $(PYTEST_ARGS)

lint: ## ruff and mypy
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy

fmt: ## format and autofix
	@$(UV) run --frozen ruff format .
	@$(UV) run --frozen ruff check --fix .

bench: deps ## performance figures with their baselines (BENCH="validation" runs one)
	@$(UV) run --frozen python -m bench $(BENCH)

clean: ## remove local state (.hspm) and caches
	rm -rf .hspm .pytest_cache .mypy_cache .ruff_cache
