#!/usr/bin/env bash
# Makes helm available and prints its path. Idempotent and quiet when helm is already there:
# PATH first, then $(go env GOPATH)/bin; otherwise `go install helm.sh/helm/v3/cmd/helm@v3.22.0`.
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v3.22.0}"

if command -v helm >/dev/null 2>&1; then
  command -v helm
  exit 0
fi
if command -v go >/dev/null 2>&1; then
  GOBIN_DIR="$(go env GOBIN)"
  [ -n "$GOBIN_DIR" ] || GOBIN_DIR="$(go env GOPATH | cut -d: -f1)/bin"
else
  GOBIN_DIR="${GOPATH:-$HOME/go}"; GOBIN_DIR="${GOBIN_DIR%%:*}/bin"
fi
if [ -x "$GOBIN_DIR/helm" ]; then
  echo "$GOBIN_DIR/helm"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-helm: helm is not on PATH nor in $GOBIN_DIR, and go is not installed (needed for go install)" >&2
  exit 1
fi
echo "install-helm: go install helm.sh/helm/v3/cmd/helm@${HELM_VERSION}" >&2
go install "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
echo "$GOBIN_DIR/helm"
