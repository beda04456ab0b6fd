# syntax=docker/dockerfile:1
#
# The `nessie` CLI as an image. From the repository root:
#   docker build -t nessie .
#   docker run --rm -e RELEASE_COOKIE=… nessie --name nessie@IP --query app.internal --status-port 4000
# The entrypoint is `nessie start`: the container's arguments are its flags (or use the
# environment: RELEASE_NODE, RELEASE_COOKIE, DNS_CLUSTER_QUERY, POD_IP, FLY_PRIVATE_IP).
# Recipes that use it: examples/kubernetes/, examples/fly/ (docs/deployment.md).
#
# Not built by the test suite (the development machines have no Docker engine);
# test/deploy/recipes.test.ts checks it by reading: the COPY sources exist, the files
# the build script names are copied, the last stage runs as a non-root user, and the
# entrypoint is the package's bin.

ARG NODE_VERSION=20

# Build: the dev dependencies (TypeScript) only live here. --ignore-scripts: nothing
# runs at install time; the build is the one explicit step below.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

# Run: Node and the compiled package, no node_modules (nessie-cluster has no runtime
# dependencies), as the image's unprivileged `node` user (uid 1000).
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/dist ./dist
RUN chmod 0755 /app/dist/cli/main.js && ln -s /app/dist/cli/main.js /usr/local/bin/nessie
USER node
# 4369 EPMD (an embedded one starts when none answers), 9100 the distribution port the
# recipes fix with --port, 4000 the status server the recipes set with --status-port.
EXPOSE 4369 9100 4000
ENTRYPOINT ["nessie", "start"]
