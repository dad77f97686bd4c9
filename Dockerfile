# syntax=docker/dockerfile:1
# One image per service: `docker build --build-arg SERVICE=order-manage-data-api .`
# (order-manage-api, order-manage-data-api or order-stream-process; SERVICE can also be set at run time).
# The image runs the service's esbuild bundle (`npm run build`: dist/<service>/main.js) on the
# production dependencies alone; it also holds the database CLI's bundle (dist/db/cli.js) for the
# migrate and seed jobs.

FROM node:24-slim AS manifests
WORKDIR /app
# Only the manifests: the installs below are rebuilt only when dependencies change.
COPY package.json package-lock.json ./
COPY services/common/package.json services/common/
COPY services/order-manage-api/package.json services/order-manage-api/
COPY services/order-manage-data-api/package.json services/order-manage-data-api/
COPY services/order-stream-process/package.json services/order-stream-process/
# npm ci's postinstall applies them (patch-package): see README, "Patched dependencies".
COPY patches ./patches

FROM manifests AS deps
# Every dependency, dev ones included: the build needs esbuild (and tsx to run stack/build.ts).
RUN npm ci --no-audit --no-fund && npm cache clean --force

FROM deps AS build
COPY tsconfig.json ./
COPY stack ./stack
COPY services ./services
COPY db ./db
RUN npm run build

FROM manifests AS prod-deps
# The workspaces' dependencies only: what the bundles import (typeorm stays nested under the
# data-api's workspace, where dist/db/cli.js imports it from).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-slim AS runtime
ARG SERVICE=order-manage-api
ENV SERVICE=${SERVICE} \
    NODE_ENV=production \
    SCARF_ANALYTICS=false
WORKDIR /app
COPY --from=prod-deps --chown=node:node /app /app
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 8080 8081 8082
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=6 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health/ready',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# exec: node is PID 1 and receives SIGTERM itself, so the service drains and exits cleanly.
CMD ["sh", "-c", "exec node --max-semi-space-size=8 --heap-growing-percent=25 --enable-source-maps dist/${SERVICE}/main.js"]
