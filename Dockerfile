# syntax=docker/dockerfile:1
#
# Metiva as one container: `metiva serve` (dashboard :3000, login service
# :3001, metrics :9464 when enabled) against an external PostgreSQL over
# TLS. See README.md, "Deploy".
#
#   docker build -t metiva .                                # full build
#   docker run --rm --env-file … metiva migrate             # one-off
#   docker run --init --read-only -v metiva-data:/data … metiva
#
# Stages: `chef` (the toolchain), `planner` and `builder` (cargo-chef
# caches the dependency layers, then cargo-leptos builds the binary and the
# site), `dist-build` (what the runtime needs, in /dist), and `runtime`.
#
# The runtime stage is the only one CI builds here (no registry reachable):
# it can take /dist from the build context instead, holding a binary and
# site built on the host (glibc matches bookworm):
#
#   docker build --target runtime --build-arg DIST=dist-context \
#       --build-arg BASE=localhost/debian:bookworm-slim -f Dockerfile CONTEXT
#
# where CONTEXT/dist holds `metiva`, `site/` and `asn/` (`cargo xtask test`
# does exactly this; see xtask/src/container.rs).

ARG RUST_IMAGE=rust:1.95-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim
ARG BASE=debian:bookworm-slim
# Where the runtime's /dist comes from: `dist-build` (built here) or
# `dist-context` (the build context's dist/ directory).
ARG DIST=dist-build

# ---------------------------------------------------------------------------
# Node 20 (Tailwind v4 needs it; bookworm's own nodejs is 18).
FROM ${NODE_IMAGE} AS node

# The toolchain, as `cargo xtask install` sets it up (xtask/src/tools.rs):
# the wasm target, cargo-leptos 0.3.10, the wasm-bindgen CLI at the version
# Cargo.lock pins, and cargo-chef for the dependency layers. Tailwind and
# wasm-opt come from npm (package.json) in the builder.
FROM ${RUST_IMAGE} AS chef
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && rustup target add wasm32-unknown-unknown \
 && cargo install cargo-chef --version 0.1.78 --locked \
 && cargo install cargo-leptos --version 0.3.10 --locked
COPY Cargo.lock /tmp/Cargo.lock
# The CLI must equal the wasm-bindgen crate in Cargo.lock. Without --locked:
# its lockfile pins a crate the registry does not serve (as tools.rs).
RUN v="$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' /tmp/Cargo.lock)" \
 && test -n "$v" \
 && cargo install wasm-bindgen-cli --version "$v"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only, with the features and profiles cargo-leptos uses
# (Cargo.toml, [[workspace.metadata.leptos]]): this layer is rebuilt only
# when Cargo.lock or a manifest changes.
RUN cargo chef cook --release --recipe-path recipe.json \
        -p server --no-default-features --features ssr \
 && cargo chef cook --profile wasm-release --target wasm32-unknown-unknown \
        --recipe-path recipe.json -p frontend --no-default-features --features hydrate
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ARG METIVA_GIT_SHA=
ENV METIVA_GIT_SHA=${METIVA_GIT_SHA}
RUN cargo leptos build --release

# What the runtime needs, in one directory: the stripped binary, the site
# and the IP-to-ASN dataset (the two files it loads, with its licences).
FROM builder AS dist-build
RUN set -eu; mkdir -p /dist/asn \
 && cp target/release/metiva /dist/metiva \
 && strip /dist/metiva \
 && cp -r target/site /dist/site \
 && cd node_modules/@ip-location-db/asn \
 && cp asn-ipv4-num.csv asn-ipv6-num.csv package.json README.md *LICENSE* MODIFICATIONS /dist/asn/

# The same layout, taken from the build context's dist/ directory.
FROM scratch AS dist-context
COPY dist/ /dist/

FROM ${DIST} AS dist

# ---------------------------------------------------------------------------
# The runtime: slim Debian, the binary, site/ and the ASN dataset, run as a
# non-root user on a read-only root filesystem.
FROM ${BASE} AS runtime
# ca-certificates: the OS bundle for `sslrootcert=system`. The user owns
# nothing but /data: the binary, site and dataset belong to root and are
# read-only for it, so a compromised process cannot change its own code.
RUN set -eu; export DEBIAN_FRONTEND=noninteractive \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
    /var/log/apt /var/log/dpkg.log \
 && groupadd --gid 10001 metiva \
 && useradd --no-log-init --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin metiva \
 && install -d -o 10001 -g 10001 -m 0700 /data
COPY --from=dist /dist/metiva /usr/local/bin/metiva
COPY --from=dist /dist/site /opt/metiva/site
COPY --from=dist /dist/asn /opt/metiva/asn
# Defaults only; secrets never belong here (pass them as variables or as
# *_FILE paths to mounted secrets, see README "Deploy"). Production is the
# default, so a container without DATABASE_URL refuses to start rather
# than running an embedded database inside a read-only image.
ENV METIVA_ENV=production \
    METIVA_APP_ADDR=0.0.0.0:3000 \
    METIVA_LOGIN_ADDR=0.0.0.0:3001 \
    METIVA_DATA_DIR=/data \
    LEPTOS_SITE_ROOT=/opt/metiva/site \
    METIVA_ASN_DIR=/opt/metiva/asn
WORKDIR /opt/metiva
USER 10001:10001
VOLUME ["/data"]
# Dashboard, login service, metrics (METIVA_METRICS_ADDR, off unless set).
EXPOSE 3000 3001 9464
# /readyz asks the database. The image has no curl: bash's /dev/tcp sends
# the request to the dashboard's port (from METIVA_APP_ADDR) on loopback.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${METIVA_APP_ADDR##*:} && printf 'GET /readyz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r -t 4 _ code _ <&3 && [ \"$code\" = 200 ]"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/metiva"]
CMD ["serve"]
