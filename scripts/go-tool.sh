#!/usr/bin/env bash
# go-tool.sh NAME MODULE@VERSION: makes a Go-built tool available and prints its path. Idempotent
# and quiet when the tool is already there: PATH first, then the Go bin dir; otherwise
# `go install MODULE@VERSION` (from the Go module proxy, no prebuilt download).
set -euo pipefail
name="$1"
module="$2"

if command -v "$name" >/dev/null 2>&1; then
  command -v "$name"
  exit 0
fi
if command -v go >/dev/null 2>&1; then
  bin_dir="$(go env GOBIN)"
  [ -n "$bin_dir" ] || bin_dir="$(go env GOPATH | cut -d: -f1)/bin"
else
  bin_dir="${GOPATH:-$HOME/go}"
  bin_dir="${bin_dir%%:*}/bin"
fi
if [ -x "$bin_dir/$name" ]; then
  echo "$bin_dir/$name"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "go-tool: $name is not on PATH nor in $bin_dir, and go is not installed (needed for go install)" >&2
  exit 1
fi
echo "go-tool: go install $module" >&2
go install "$module"
echo "$bin_dir/$name"
