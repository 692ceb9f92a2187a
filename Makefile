# Vexa Retailer: everyday commands. `make setup-retailer` is the one-step start.
COMPOSE ?= docker compose

.PHONY: setup-retailer up down logs ps test bench

## Copy env-example.retailer to .env (only if .env is absent) and start the stack.
setup-retailer:
	@if [ ! -f .env ]; then cp env-example.retailer .env && sed -i.bak -e "s/^ADMIN_API_TOKEN=change-me.*/ADMIN_API_TOKEN=$$(openssl rand -hex 32)/" -e "s/^WHOLESALER_WEBHOOK_SECRET=change-me.*/WHOLESALER_WEBHOOK_SECRET=$$(openssl rand -hex 32)/" .env && rm -f .env.bak && echo "Created .env from env-example.retailer (with a new ADMIN_API_TOKEN and WHOLESALER_WEBHOOK_SECRET)"; else echo ".env exists; leaving it alone"; fi
	$(COMPOSE) up -d --build
	@echo "Retailer started: API http://localhost:8056 (docs at /docs), admin http://localhost:8057."
	@echo "It runs against the sandbox wholesaler until you set VEXA_INFRA_API_URL and VEXA_INFRA_API_KEY in .env."

## Start (or update) the stack in the background.
up:
	$(COMPOSE) up -d

## Stop and remove the stack's containers (the postgres volume is kept).
down:
	$(COMPOSE) down

## Follow the logs of every service.
logs:
	$(COMPOSE) logs -f --tail=200

ps:
	$(COMPOSE) ps

## Run the test suite (PGlite, plus PostgreSQL on 127.0.0.1:5432 when one answers).
test:
	npm test

## Run the benchmarks against the sandbox wholesaler.
bench:
	npm run bench
