#!/usr/bin/env bash
# Makes helm available (pinned version, built from source with go install) and prints its path.
set -euo pipefail
exec bash "$(dirname "$0")/go-tool.sh" helm "helm.sh/helm/v3/cmd/helm@${HELM_VERSION:-v3.22.0}"
