#!/usr/bin/env bash
# Idempotent set-up behind `npm start` and `npm test`: Debian packages, the mediasoup worker
# (built offline, cached outside the clone), npm packages, then the build. Quiet when nothing is
# missing; each phase announced when it has work to do.
#   scripts/setup.sh start   server needs: build tools, ffmpeg
#   scripts/setup.sh test    also chromium for the browser tests, redis-server and PostgreSQL
#                            for the cluster tests
#   scripts/setup.sh cluster server needs plus redis-server and PostgreSQL (npm run cluster)
set -euo pipefail
MODE="${1:-start}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '[setup] %s\n' "$*" >&2; }

PKGS=(g++ make pkg-config python3 meson ninja-build libssl-dev libuv1-dev libsrtp2-dev libabsl-dev
      flatbuffers-compiler libflatbuffers-dev libusrsctp-dev ffmpeg)
[[ "$MODE" == test || "$MODE" == cluster ]] && PKGS+=(redis-server postgresql)
[[ "$MODE" == test ]] && PKGS+=(chromium fonts-dejavu-core)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} )); then
  SUDO=(); [[ $(id -u) -eq 0 ]] || SUDO=(sudo -n)
  export DEBIAN_FRONTEND=noninteractive
  say "installing Debian packages (a minute or two): ${missing[*]}"
  if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/media-infra-apt.log 2>&1; then
    say "refreshing the package lists and retrying"
    "${SUDO[@]}" apt-get update -q >>/tmp/media-infra-apt.log 2>&1
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/media-infra-apt.log 2>&1 \
      || { tail -n 30 /tmp/media-infra-apt.log >&2; say "apt-get install failed"; exit 1; }
  fi
fi

MEDIASOUP_WORKER_BIN="$(bash scripts/build-mediasoup-worker.sh)"
export MEDIASOUP_WORKER_BIN

# npm packages: reinstalled only when the lock file changed (mediasoup's postinstall reads
# MEDIASOUP_WORKER_BIN and then skips its download).
STAMP=node_modules/.media-infra-installed
# Only what npm installs from counts: editing a script in package.json reinstalls nothing.
deps_hash() {
  { node -e 'const p = require("./package.json"); console.log(JSON.stringify([p.dependencies, p.devDependencies, p.optionalDependencies, p.overrides]))'
    cat package-lock.json 2>/dev/null || true; } | sha256sum | cut -d' ' -f1
}
WANT="$(deps_hash) $MEDIASOUP_WORKER_BIN"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
  say "installing npm packages (better-sqlite3 compiles from source: about a minute)"
  if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund --loglevel=error >&2
  else npm install --no-audit --no-fund --loglevel=error >&2; fi
  WANT="$(deps_hash) $MEDIASOUP_WORKER_BIN"
  echo "$WANT" >"$STAMP"
fi

node build.mjs --quiet
