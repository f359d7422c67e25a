#!/usr/bin/env bash
# Makes k6 available and prints its path. Idempotent and quiet when k6 is already there:
# PATH first, then $(go env GOPATH)/bin; otherwise `go install go.k6.io/k6@v1.8.1`.
set -euo pipefail
K6_VERSION="${K6_VERSION:-v1.8.1}"

if command -v k6 >/dev/null 2>&1; then
  command -v k6
  exit 0
fi
if command -v go >/dev/null 2>&1; then
  GOBIN_DIR="$(go env GOBIN)"
  [ -n "$GOBIN_DIR" ] || GOBIN_DIR="$(go env GOPATH | cut -d: -f1)/bin"
else
  GOBIN_DIR="${GOPATH:-$HOME/go}"; GOBIN_DIR="${GOBIN_DIR%%:*}/bin"
fi
if [ -x "$GOBIN_DIR/k6" ]; then
  echo "$GOBIN_DIR/k6"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-k6: k6 is not on PATH nor in $GOBIN_DIR, and go is not installed (needed for go install)" >&2
  exit 1
fi
echo "install-k6: go install go.k6.io/k6@${K6_VERSION}" >&2
go install "go.k6.io/k6@${K6_VERSION}"
echo "$GOBIN_DIR/k6"
