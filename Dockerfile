# syntax=docker/dockerfile:1
#
# mastra-server image: a static Go binary (CGO_ENABLED=0; SQLite is the
# pure-Go modernc.org/sqlite), mastra.toml and the example Wasm plugins, on a
# distroless runtime, as the non-root user 65532, with SQLite under /data.
#
#   docker build -t mastra-server .                                  # from the repository
#   docker build -t mastra-server -f mastra-server/Dockerfile .      # from its parent directory
#   docker run -p 4000:4000 --env-file .env -v mastra-data:/data mastra-server
#
# Base images are build arguments (GO_IMAGE, NODE_IMAGE, RUNTIME_IMAGE); VERSION and
# REVISION name the build in `mastra-server version` (the build context has
# no .git: see .dockerignore).
#
# The Wasm plugins are built from source in the build stage, with the
# repository's own scripts (install-plugin-toolchains.sh, build-plugins.sh),
# so a fresh clone builds: no prebuilt .wasm is needed or used.
#
# No Docker engine runs on the machines that test this repository, so this
# file is not built by the test suite. scripts/build-image.sh assembles the
# same runtime image with buildah, without pulling a base image, and
# tests/container runs that one; keep the two in step (paths, user, env,
# port, volume, healthcheck).

ARG GO_IMAGE=golang:1.26-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

# Node.js 20, the project's one Node version (README, the scripts, the
# tests), only to build the AssemblyScript plugin: nothing of it reaches
# the runtime image. Debian 12's nodejs is 18, too old for AssemblyScript 0.28.
FROM ${NODE_IMAGE} AS node

FROM ${GO_IMAGE} AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
# Plugin toolchains: the Debian packages install-plugin-toolchains.sh wants
# (clang/lld/wasi-libc for C, wabt for WAT), in a layer of their own so
# source changes do not reinstall them.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      clang lld wasi-libc libclang-rt-14-dev-wasm32 wabt \
 && rm -rf /var/lib/apt/lists/*
COPY . /ctx
# The context is the repository, or its parent with -f mastra-server/Dockerfile.
RUN set -eu; \
    if [ -f /ctx/cmd/mastra-server/main.go ]; then mv /ctx /src; \
    elif [ -f /ctx/mastra-server/cmd/mastra-server/main.go ]; then mv /ctx/mastra-server /src && rm -rf /ctx; \
    else echo "Dockerfile: build from the repository (docker build .) or its parent (docker build -f mastra-server/Dockerfile .)" >&2; exit 1; fi
WORKDIR /src
ARG VERSION=dev
ARG REVISION=unknown
# Go's module and build caches as cache mounts. Their ids have the form
# Railway's builder requires, s/<service id>-<target path>; it refuses any
# other id. On Railway, replace the placeholder SERVICE_ID with your
# service's id (the dashboard's service settings, or the
# RAILWAY_SERVICE_ID variable) before the first deploy:
#   sed -i 's|id=s/SERVICE_ID-|id=s/<your service id>-|g' Dockerfile
# (BuildKit expands no variable there, so it must be written out.) Anywhere
# else (docker build, Render) any id works, the placeholder included.
RUN --mount=type=cache,id=s/SERVICE_ID-/go/pkg/mod,target=/go/pkg/mod \
    --mount=type=cache,id=s/SERVICE_ID-/root/.cache/go-build,target=/root/.cache/go-build \
    scripts/install-plugin-toolchains.sh \
 && scripts/build-plugins.sh \
 && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" \
      -o /out/usr/local/bin/mastra-server ./cmd/mastra-server
# The runtime tree: mastra.toml and the plugins it names, at the same
# relative paths; /data for SQLite and the plugin compile cache.
RUN mkdir -p /out/app /out/data \
 && cp mastra.toml /out/app/ \
 && find examples plugins -name '*.wasm' -not -path '*/node_modules/*' -exec cp --parents {} /out/app/ \;

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/usr/local/bin/mastra-server /usr/local/bin/mastra-server
COPY --from=build /out/app /app
# Owned by the server's user: Docker copies this into a new named volume.
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /app
# /metrics needs no token, so it is not on the API's public port: it is
# served on 9090, which is not EXPOSEd. Platforms route their public domain
# to PORT only, so 9090 is reachable from their private network (a
# Prometheus next to the service), and `docker run -p 127.0.0.1:9090:9090`
# publishes it on the host's loopback only.
ENV MASTRA_MEMORY__SQLITE_PATH=/data/mastra.db \
    MASTRA_PLUGINS__CACHE_DIR=/data/wasm-cache \
    MASTRA_SERVER__METRICS__LISTEN=:9090 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
VOLUME /data
EXPOSE 4000
STOPSIGNAL SIGTERM
# No shell or curl in the image: the binary probes itself (GET /health on
# the configured port; exit 0 on 200, else 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/mastra-server", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/mastra-server"]
CMD ["serve"]
