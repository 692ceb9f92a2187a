# syntax=docker/dockerfile:1
# One image for every role: ROLE (or --role) picks api-gateway, admin-api, bot-manager or all (default).

# --- build: full dependencies, compile TypeScript to dist/ ---
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
RUN npm run build

# --- runtime: production dependencies only, non-root ---
FROM node:24-slim AS runtime
# MALLOC_ARENA_MAX and the node flags in CMD are `npm start`'s (package.json): measured by `npm run bench` to keep
# the resident memory flat under bursts (README, "Performance").
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    DATA_DIR=/app/data \
    MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
# The embedded PGlite database (used only when no Postgres is configured) lives here.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8056 8057 8058
# /health on the port of this container's role (see src/healthcheck.ts).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/healthcheck.js"]
STOPSIGNAL SIGTERM
CMD ["node", "--max-semi-space-size=1", "--heap-growing-percent=25", "dist/main.js"]
