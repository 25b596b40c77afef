# One image, three commands: the gateway (default), the worker and the controller.
#   docker build -t infergraph .
#   docker run -p 8080:8080 infergraph                                   # gateway, example graphs
#   docker run infergraph dist/apps/worker/src/main.js                   # worker
#   docker run -e CLUSTER_TOKEN=... -e ADMIN_TOKEN=... infergraph dist/apps/controller/src/main.js
# test/integration/dockerfile.test.ts replays the runtime stage (no Docker engine in CI).
ARG NODE_IMAGE=node:20.19-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# .npmrc first: onnxruntime-node must not download CUDA binaries during `npm ci`.
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json ./
COPY scripts/build.mjs scripts/build.mjs
COPY libs libs
COPY apps apps
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    STATE_DIR=/var/lib/infergraph/controller
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev && npm cache clean --force \
    && mkdir -p /var/lib/infergraph && chown 10001:10001 /var/lib/infergraph
COPY --from=build /src/dist/apps ./dist/apps
COPY --from=build /src/dist/libs ./dist/libs
# The example graphs and models: served by default, replaced by a volume (Kubernetes: a PVC at /models).
COPY graphs ./graphs
COPY models ./models
USER 10001:10001
EXPOSE 8080 8081 8090 9000 9001 9101
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/v2/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node"]
CMD ["dist/apps/gateway/src/main.js"]
