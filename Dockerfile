# syntax=docker/dockerfile:1
# One image per service: `docker build --build-arg SERVICE=order-manage-data-api .`
# (order-manage-api, order-manage-data-api or order-stream-process; SERVICE can also be set at run time).

FROM node:24-slim AS deps
WORKDIR /app
# Only the manifests: this layer (the slow npm ci) is rebuilt only when dependencies change.
COPY package.json package-lock.json ./
COPY services/common/package.json services/common/
COPY services/order-manage-api/package.json services/order-manage-api/
COPY services/order-manage-data-api/package.json services/order-manage-data-api/
COPY services/order-stream-process/package.json services/order-stream-process/
# Dev dependencies stay: the services run their TypeScript through tsx, as the local stack does.
RUN npm ci --no-audit --no-fund && npm cache clean --force

FROM node:24-slim AS runtime
ARG SERVICE=order-manage-api
ENV SERVICE=${SERVICE} \
    NODE_ENV=production \
    SCARF_ANALYTICS=false
WORKDIR /app
COPY --from=deps --chown=node:node /app /app
COPY --chown=node:node tsconfig.json ./
COPY --chown=node:node services ./services
COPY --chown=node:node db ./db
USER node
EXPOSE 8080 8081 8082
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=6 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health/ready',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# exec: node is PID 1 and receives SIGTERM itself, so the service drains and exits cleanly.
CMD ["sh", "-c", "exec node --disable-warning=TimeoutNegativeWarning --import tsx services/${SERVICE}/src/main.ts"]
