#!/usr/bin/env bash
# Makes k6 available (pinned version, built from source with go install) and prints its path.
set -euo pipefail
exec bash "$(dirname "$0")/go-tool.sh" k6 "go.k6.io/k6@${K6_VERSION:-v1.8.1}"
