#!/usr/bin/env bash
# build-skaffold.sh: builds skaffold (pinned) into $LOCALKUBE_HOME/bin and prints its path.
# Idempotent: an existing binary of the pinned version is reused.
#
# Why not `go install .../cmd/skaffold@VERSION`: go install looks the module's version list up
# for deprecation notices and the module proxy here refuses that list (it serves the exact
# version). And skaffold's go.mod pins six dependencies with replace directives, which go
# install ignores (the build then fails on mergo's module path). A throwaway module that requires
# the exact version and copies those version-only replace lines builds the same sources.
set -euo pipefail
SKAFFOLD_VERSION="${SKAFFOLD_VERSION:-v2.16.1}"
home="${LOCALKUBE_HOME:-$HOME/.cache/session-auth/localkube}"
bin="$home/bin"
mod="$home/build/skaffold-$SKAFFOLD_VERSION"
mkdir -p "$bin" "$mod"
if [ -x "$bin/skaffold" ] && [ "$(cat "$bin/.skaffold.version" 2>/dev/null)" = "$SKAFFOLD_VERSION" ]; then
  echo "$bin/skaffold"
  exit 0
fi
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
upstream="$(cd "$mod" && go mod download -json "github.com/GoogleContainerTools/skaffold/v2@$SKAFFOLD_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
{
  printf 'module localkube.invalid/skaffold\n\ngo %s\n\nrequire github.com/GoogleContainerTools/skaffold/v2 %s\n\n' \
    "$(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')" "$SKAFFOLD_VERSION"
  # Only replaces that pin a version (none of skaffold's point at local paths).
  grep -E '^replace [^ ]+ => [^ .][^ ]* v' "$upstream"
} > "$mod/go.mod"
echo "[localkube] building skaffold $SKAFFOLD_VERSION (about 4 min on 2 cores with a cold Go cache)" >&2
(cd "$mod" && go build -trimpath \
  -ldflags "-s -w -X github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/version.version=$SKAFFOLD_VERSION" \
  -o "$bin/skaffold" github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold)
echo "$SKAFFOLD_VERSION" > "$bin/.skaffold.version"
echo "$bin/skaffold"
