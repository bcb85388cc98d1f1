# campaign-bot as a container service.
# Build:  docker build -t campaign-bot .
# Run:    see compose.yaml and docs/operations.md ("Running in a container").

# ---- build stage: the official Rust image, pinned --------------------------
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when
# Cargo.toml or Cargo.lock change, not at every source edit.
# Cargo.toml names a bench: it gets a stub too (benches/ is not copied).
COPY Cargo.toml Cargo.lock ./
RUN mkdir src benches \
    && echo 'fn main() {}' > src/main.rs \
    && echo 'fn main() {}' > benches/engagement_budget.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src

COPY build.rs ./
COPY config ./config
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && mkdir -p /out/data /out/posts

# ---- runtime stage: distroless with the C runtime, CA certificates and a
# non-root user; no shell, no package manager, no curl. ----------------------
FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /app
COPY --from=build /src/target/release/campaign-bot /usr/local/bin/campaign-bot
COPY --from=build /src/config/default.toml /app/config/default.toml
# The data volume starts owned by the bot's user; posts/ is mounted read-only.
COPY --from=build --chown=65532:65532 /out/data /app/data
COPY --from=build /out/posts /app/posts

ENV LOG_FORMAT=json
VOLUME ["/app/data"]
USER 65532:65532
STOPSIGNAL SIGTERM
# The optional HTTP endpoint, when server.listen is set (compose.yaml).
EXPOSE 9184
HEALTHCHECK --interval=60s --timeout=10s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/campaign-bot", "status", "--health"]
ENTRYPOINT ["/usr/local/bin/campaign-bot"]
CMD ["run"]
