# pummel in a container: the one binary, run as an unprivileged user.
#
#   docker build -t pummel .
#   docker run --rm pummel demo
#   docker run -d -p 7878:7878 -v pummel-data:/var/lib/pummel pummel server --listen 0.0.0.0:7878
#
# The Kubernetes manifests (deploy/kubernetes/) and the systemd units
# (deploy/systemd/) run exactly this binary with the arguments shown there.

# --- build: the release binary, with uPlot for HTML reports from npm's lockfile
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin pummel \
 && strip target/release/pummel

# --- run: glibc and CA certificates, nothing else
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 pummel \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/pummel --shell /usr/sbin/nologin pummel \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/pummel
COPY --from=build /src/target/release/pummel /usr/local/bin/pummel
ENV PUMMEL_DATA_DIR=/var/lib/pummel
VOLUME ["/var/lib/pummel"]
EXPOSE 7878
USER 10001:10001
WORKDIR /var/lib/pummel
ENTRYPOINT ["/usr/local/bin/pummel"]
CMD ["--help"]
