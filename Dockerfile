# The pause image: one static file, nothing else. Build the binaries first
# (`make build`); `make image` builds this for the local Docker, and
# `docker buildx build --platform linux/arm64,...` picks each architecture's
# binary through TARGETARCH (linux/loong64 too). Not linux/arm/v6: TARGETARCH
# is `arm` for v6 and v7 alike, so it would take the ARMv7 binary, which dies
# of SIGILL on an ARMv6 core; the ARMv6 image is in `make oci`'s archive.
# The title and description below are also the labels of bin/pause-oci.tar's
# images: `cargo xtask oci` reads them from this file (one source for both).
# The source label is added only as a URL (`--label
# org.opencontainers.image.source=https://...`, which `make image SOURCE=` passes).
FROM scratch
ARG TARGETARCH=amd64
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="pause" \
      org.opencontainers.image.description="Pod sandbox (pause) container: holds a pod's namespaces, reaps its zombies, exits 0 on SIGINT/SIGTERM" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY bin/pause-linux-${TARGETARCH} /pause
USER 65535:65535
ENTRYPOINT ["/pause"]
