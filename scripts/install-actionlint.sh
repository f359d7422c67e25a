#!/usr/bin/env bash
# Makes actionlint available (pinned version, built from source with go install) and prints its path.
set -euo pipefail
exec bash "$(dirname "$0")/go-tool.sh" actionlint "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION:-v1.7.12}"
