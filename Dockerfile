# microconv container image.
#
#   docker build -t microconv --build-arg VERSION=$(git describe --tags --always --dirty) .
#   docker run --rm microconv version
#
# Stage 1 builds a static binary (CGO off, no libc needed); stage 2 is
# distroless "static" running as the unprivileged user nonroot (65532), with
# nothing in it but the binary, CA certificates and tzdata.

FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0
# Modules first: this layer is reused as long as go.mod/go.sum do not change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
ARG VERSION=dev
RUN go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/microconv ./cmd/microconv \
 && /out/microconv version

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="microconv" \
      org.opencontainers.image.description="Kafka clickstream -> micro/macro-conversions -> ClickHouse" \
      org.opencontainers.image.source="https://github.com/microconv/microconv"
COPY --from=build /out/microconv /microconv
USER nonroot:nonroot
# /metrics, /healthz, /readyz (MICROCONV_HTTP_ADDR, default :9464)
EXPOSE 9464
ENTRYPOINT ["/microconv"]
CMD ["run"]
