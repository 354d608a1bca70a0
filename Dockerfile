# syntax=docker/dockerfile:1
#
# One image for every Herald service; the command chooses the app:
#
#   docker build -t herald .
#   docker run --rm herald                                   # ingest (the default command)
#   docker run --rm herald node dist/apps/sender/main.js     # or any dist/apps/<app>/main.js
#   docker run --rm herald node dist/apps/cli/main.js keys list
#
# The provider simulator (a test tool, not a service) needs one dev-only package, so it is a
# target of its own, built on the same runtime stage:
#
#   docker build --target provider-sim -t herald-provider-sim .
#
# Needs a Docker engine (BuildKit). See the README's "Running Herald in containers and on
# Kubernetes".

ARG NODE_BUILD_IMAGE=node:20-bookworm
ARG NODE_RUNTIME_IMAGE=node:20-bookworm-slim

# --- build: every dependency, then `npm run build` to dist/ ---------------------------------
FROM ${NODE_BUILD_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# --- production dependencies only (cached until package-lock.json changes) ------------------
FROM ${NODE_BUILD_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime: Node, production node_modules, dist/ and schemas/, as a non-root user ----------
FROM ${NODE_RUNTIME_IMAGE} AS runtime
# A container is reached through its network interface, not loopback.
ENV NODE_ENV=production \
    HERALD_HTTP_HOST=0.0.0.0
WORKDIR /app
# Owned by root and read-only to the service user: the running code cannot change itself.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The services find the Avro schemas in the nearest schemas/ above dist/apps/<app>/ (here
# /app/schemas); HERALD_SCHEMA_DIR points elsewhere. The dashboard's views/ and public/ are in
# dist/apps/dashboard/ (nest-cli copies them there at build time).
COPY schemas ./schemas
# The only writable place in the image, for state a deployment chooses to keep (the compose
# profile mounts a volume here for the simulator's throwaway key files).
RUN mkdir -p /var/lib/herald && chown 1000:1000 /var/lib/herald
# The image's `node` user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# ingest 3000, projector 3001, sender 3002, status-checker 3003, dashboard 3004, webhooks 3005
EXPOSE 3000 3001 3002 3003 3004 3005
CMD ["node", "dist/apps/ingest/main.js"]

# --- the provider simulator: the runtime plus standardwebhooks (a devDependency) ------------
FROM runtime AS provider-sim
COPY --from=build /app/node_modules/standardwebhooks ./node_modules/standardwebhooks
COPY --from=build /app/node_modules/@stablelib/base64 ./node_modules/@stablelib/base64
COPY --from=build /app/node_modules/fast-sha256 ./node_modules/fast-sha256
ENV PROVIDER_SIM_HOST=0.0.0.0
EXPOSE 4010 4011 2525
CMD ["node", "dist/tools/provider-sim/main.js"]

# --- the default target: the services' image -------------------------------------------------
FROM runtime AS herald
