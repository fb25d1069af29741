# Build a static crier binary, then run it on a small Debian base as an unprivileged user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/crierhq/crier/internal/cli.version=${VERSION}" -o /out/crier ./cmd/crier

FROM debian:bookworm-slim
# poppler-utils: pdftoppm draws the leaflet previews.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata poppler-utils \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/crier --create-home crier
COPY --from=build /out/crier /usr/local/bin/crier
USER crier
ENV CRIER_HTTP_ADDR=0.0.0.0:8080 CRIER_DATA_DIR=/var/lib/crier
EXPOSE 8080
ENTRYPOINT ["crier"]
CMD ["serve"]
