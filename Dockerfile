# syntax=docker/dockerfile:1
#
# nocontact: one static binary in a distroless image, running as non-root.
#
#   docker build -t nocontact:dev --build-arg VERSION=$(git describe --always --dirty) .
#   docker run --rm -p 127.0.0.1:8080:8080 -v nocontact-data:/data nocontact:dev
#
# The default command runs every service with an embedded NATS server and
# its data in /data. To run a subset against a NATS cluster, override the
# command or set NOCONTACT_* variables (see deploy/README.md).
# Needs BuildKit (the default builder of Docker 23+) for the cache mounts.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
# Dependencies first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/nocontact ./services/nocontact \
 && mkdir -p /out/data

# distroless/static: CA certificates, tzdata and /etc/passwd with the
# "nonroot" user (65532), no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/nocontact /usr/local/bin/nocontact
# /data belongs to the runtime user, so a fresh named volume mounted there is
# writable (Docker copies the image directory's owner into a new volume).
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# Defaults for any command line (e.g. `serve --only tagger`); flags win.
ENV NOCONTACT_HTTP=0.0.0.0:8080 \
    NOCONTACT_DATA=/data
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["nocontact"]
CMD ["serve", "--http", "0.0.0.0:8080", "--data", "/data"]
