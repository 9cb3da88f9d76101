# Multi-stage build of the four service binaries into one small image.
# Each compose service runs one of them: /app/gateway, /app/orders, /app/inventory, /app/delivery.
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so source changes do not re-download them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static binaries: the runtime image has no libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/gateway ./cmd/orders ./cmd/inventory ./cmd/delivery ./cmd/orderflow

# distroless/static: no shell, no package manager, runs as the non-root user 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /app/
USER nonroot:nonroot
# Outside a container the defaults listen on loopback only; here the ports are
# published, so listen on every interface of the container.
ENV HTTP_ADDR=:8080 OPS_ADDR=:9100
EXPOSE 8080 9100
# Health checks call the binary itself (there is no curl): `/app/<service> healthcheck`.
ENTRYPOINT ["/app/orderflow"]
