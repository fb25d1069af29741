# Build a static crier binary, then run it on a small Debian base as an unprivileged user.
# Base images are pinned to a release; bump them deliberately (and rebuild for security
# updates of the Debian base).
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/crierhq/crier/internal/cli.version=${VERSION}" -o /out/crier ./cmd/crier

FROM debian:12.11-slim
# poppler-utils: pdftoppm draws the leaflet previews.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata poppler-utils \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/crier --create-home crier
COPY --from=build /out/crier /usr/local/bin/crier
USER crier
ENV CRIER_HTTP_ADDR=0.0.0.0:8080 CRIER_DATA_DIR=/var/lib/crier
# The data directory holds the link key when CRIER_LINK_KEY is not set (every
# unsubscribe and preference link already sent depends on it) and the private
# PostgreSQL when DATABASE_URL is not set: keep it on a volume, and back it up.
VOLUME /var/lib/crier
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["crier", "healthcheck"]
ENTRYPOINT ["crier"]
CMD ["serve"]
