# syntax=docker/dockerfile:1
# Production image of Garrison: build the built-in plugins, the browser bundle and the release
# binary (which embeds both), then copy the one binary into a small runtime image. (No registry is reachable where this was written, so
# it was checked by reading; keep it in step with scripts/build-ui.sh.)

FROM rust:1.95-bookworm AS build
WORKDIR /src
RUN rustup target add wasm32-unknown-unknown wasm32-wasip2
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
RUN WBG=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock) \
 && cargo install wasm-bindgen-cli --version "$WBG"
COPY . .
RUN bash scripts/build-plugins.sh \
 && bash scripts/build-ui.sh \
 && cargo build --release -p garrison \
 && install -D target/release/garrison /out/garrison

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 1000 --home-dir /data garrison \
 && mkdir -p /data && chown garrison /data
COPY --from=build /out/garrison /usr/local/bin/garrison
USER garrison
ENV GARRISON_DATA_DIR=/data \
    GARRISON_PLUGIN_CACHE_DIR=/data/plugin-cache \
    GARRISON_LISTEN=0.0.0.0:9000 \
    GARRISON_METRICS_LISTEN=0.0.0.0:9300
VOLUME ["/data"]
EXPOSE 9000 9300
STOPSIGNAL SIGTERM
ENTRYPOINT ["garrison"]
CMD ["serve"]
