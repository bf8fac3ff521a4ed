#!/usr/bin/env bash
# Builds mediasoup's C++ worker offline, from the sources inside the mediasoup npm tarball,
# against Debian's libraries, and caches it outside the clone keyed by version and recipe.
#
# Why: `npm install mediasoup` downloads a prebuilt worker from GitHub or pip-installs meson and
# lets it download subprojects. Neither is reachable on a registry-only network, so every meson
# subproject is replaced by a stub that points at the Debian package (pkg-config), and two source
# patches make 3.19 work with Debian:
#   1. libsrtp: mediasoup >= 3.15 is written for libsrtp 3; Debian ships 2.5. A shim <srtp.h>
#      maps the size_t / separate-buffer API of v3 onto the in-place API of v2.
#   2. DTLS: the BIO callback answers 1 to every control query unless operationType is exactly
#      BIO_CB_RETURN. Debian's OpenSSL has kTLS, asks BIO_get_ktls_send(), hears "yes", skips its
#      DTLS write buffer and the worker SIGSEGVs on the first flight. `==` must be `&`.
#
# Output: the absolute path of the binary on stdout; progress on stderr.
# Env: MEDIASOUP_VERSION_PIN (default from package.json), MEDIA_INFRA_CACHE (default ~/.cache/media-infra),
#      MEDIASOUP_WORKER_FORCE=1 to rebuild.
set -euo pipefail
{
exec 3>&1 1>&2

RECIPE="debian12-stubs-srtp2shim-biofix-1"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSION="${MEDIASOUP_VERSION_PIN:-$(node -p "require('$HERE/../package.json').dependencies.mediasoup")}"
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "[worker] mediasoup must be pinned exactly, got '$VERSION'"; exit 1; }
CACHE="${MEDIA_INFRA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/media-infra}/mediasoup-worker/$VERSION"
BIN="$CACHE/mediasoup-worker"
STAMP="$CACHE/recipe"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] worker build failed: %s\n' "$*"; exit 1; }

# A binary is reused only if this recipe built it and it starts: exit 41 is the worker refusing to
# run outside mediasoup's Node code, which proves it and its shared libraries load.
usable() {
  [[ -z "${MEDIASOUP_WORKER_FORCE:-}" && -x "$BIN" && -f "$STAMP" ]] || return 1
  [[ "$(cat "$STAMP")" == "$RECIPE $(sha256sum "$BIN" | cut -d' ' -f1)" ]] || return 1
  local rc=0; env -u MEDIASOUP_VERSION "$BIN" >/dev/null 2>&1 || rc=$?
  [[ $rc -eq 41 ]]
}

if usable; then echo "$BIN" >&3; exit 0; fi
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 3600 9 || die "another build holds $CACHE/.lock"
if usable; then echo "$BIN" >&3; exit 0; fi

for t in meson ninja flatc pkg-config g++; do
  command -v "$t" >/dev/null || die "'$t' missing (scripts/setup.sh installs the Debian build packages)"
done

START=$(date +%s)
say "building the mediasoup $VERSION worker from source: takes about 3 minutes on 2 cores (once; cached in $CACHE)"
WORK="$(mktemp -d "$CACHE/build.XXXXXX")"
trap 'rc=$?; [[ $rc -eq 0 ]] && rm -rf "$WORK" || echo "[setup] build dir kept: $WORK"; exit $rc' EXIT

( cd "$WORK" && npm pack "mediasoup@$VERSION" --silent >/dev/null ) || die "npm pack mediasoup@$VERSION"
tar -xzf "$WORK"/mediasoup-*.tgz -C "$WORK"
W="$WORK/package/worker"
[[ -f "$W/meson.build" ]] || die "no worker/meson.build in the tarball"

# --- subprojects: stubs over Debian packages (static where Debian ships archives) ---
SP="$W/subprojects"
rm -f "$SP"/*.wrap
sub() { mkdir -p "$SP/$1"; : >"$SP/$1/stub.c"; cat >"$SP/$1/meson.build"; }
sub openssl <<'EOF'
project('openssl', 'c')
openssl_dep = dependency('openssl', version: '>=3.0.0', static: true)
libcrypto_lib = static_library('stub_crypto', 'stub.c')
libssl_lib = static_library('stub_ssl', 'stub.c')
EOF
sub libuv <<'EOF'
project('libuv', 'c')
libuv_dep = dependency('libuv-static', version: '>=1.44.0')
libuv = static_library('stub_uv', 'stub.c')
EOF
sub libsrtp3 <<'EOF'
project('libsrtp3', 'c')
libsrtp3_dep = declare_dependency(include_directories: include_directories('include'),
  dependencies: dependency('libsrtp2', version: '>=2.4.0'))
libsrtp3 = static_library('stub_srtp', 'stub.c')
EOF
sub usrsctp <<'EOF'
project('usrsctp', 'c')
usrsctp_dep = dependency('usrsctp', static: true)
usrsctp = static_library('stub_sctp', 'stub.c')
EOF
sub abseil-cpp <<'EOF'
project('abseil-cpp', 'c', 'cpp')
deps = []
foreach m : ['absl_flat_hash_map', 'absl_flat_hash_set', 'absl_btree', 'absl_optional',
             'absl_strings', 'absl_memory', 'absl_span', 'absl_variant']
  deps += dependency(m, static: true)
endforeach
absl_container_dep = declare_dependency(dependencies: deps)
absl_strings_dep = declare_dependency(dependencies: deps)
absl_types_dep = declare_dependency(dependencies: deps)
absl_container_lib = static_library('stub_absl', 'stub.c')
EOF
sub flatbuffers <<'EOF'
project('flatbuffers', 'c', 'cpp')
flatbuffers_dep = dependency('flatbuffers', static: true)
flatbuffers_lib = static_library('stub_fb', 'stub.c')
EOF
sub catch2 <<'EOF'
project('catch2', 'c')
catch2_dep = declare_dependency()
catch2_with_main_dep = declare_dependency()
EOF
# meson.build passes default_options to subprojects; each stub must declare them.
OPTS=$(grep -rhoE "'[A-Za-z][A-Za-z0-9_-]*=[^']*'" "$W/meson.build" "$W/deps/libwebrtc/meson.build" \
  | sed -E "s/^'([^=]+)=.*/\1/" | sort -u \
  | grep -vxE 'warning_level|cpp_std|c_std|default_library|buildtype|optimization|debug|werror|strip|b_.*' || true)
for d in "$SP"/*/; do
  : >"$d/meson_options.txt"
  for o in $OPTS; do echo "option('$o', type: 'string', value: '')" >>"$d/meson_options.txt"; done
done

# --- patch 1: libsrtp 3 API over libsrtp 2 ---
mkdir -p "$SP/libsrtp3/include"
cat >"$SP/libsrtp3/include/srtp.h" <<'EOF'
// libsrtp 3 calls used by mediasoup, implemented over Debian's libsrtp 2 (in place, int lengths).
#ifndef MEDIA_INFRA_SRTP3_SHIM
#define MEDIA_INFRA_SRTP3_SHIM
#include <srtp2/srtp.h>
#ifdef __cplusplus
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
static constexpr srtp_err_status_t srtp_err_status_buffer_small = static_cast<srtp_err_status_t>(28);
static constexpr srtp_err_status_t srtp_err_status_cryptex_err = static_cast<srtp_err_status_t>(29);
namespace media_infra_srtp {
inline srtp_err_status_t seal(bool rtcp, srtp_t s, const uint8_t* in, size_t inLen, uint8_t* out, size_t* outLen, size_t mki) {
  // v2 writes the auth tag (and the SRTCP index) after the payload, in place.
  const size_t room = inLen + SRTP_MAX_TRAILER_LEN + (rtcp ? 4u : 0u);
  if (inLen > static_cast<size_t>(INT_MAX) - 64u || *outLen < room) return srtp_err_status_buffer_small;
  if (out != in) std::memmove(out, in, inLen);
  int len = static_cast<int>(inLen);
  srtp_err_status_t e;
  if (mki == 0) e = rtcp ? ::srtp_protect_rtcp(s, out, &len) : ::srtp_protect(s, out, &len);
  else e = rtcp ? ::srtp_protect_rtcp_mki(s, out, &len, 1, static_cast<unsigned>(mki))
                : ::srtp_protect_mki(s, out, &len, 1, static_cast<unsigned>(mki));
  if (e == srtp_err_status_ok) *outLen = static_cast<size_t>(len);
  return e;
}
inline srtp_err_status_t open(bool rtcp, srtp_t s, const uint8_t* in, size_t inLen, uint8_t* out, size_t* outLen) {
  if (inLen > static_cast<size_t>(INT_MAX) || *outLen < inLen) return srtp_err_status_buffer_small;
  if (out != in) std::memmove(out, in, inLen);
  int len = static_cast<int>(inLen);
  srtp_err_status_t e = rtcp ? ::srtp_unprotect_rtcp(s, out, &len) : ::srtp_unprotect(s, out, &len);
  if (e == srtp_err_status_ok) *outLen = static_cast<size_t>(len);
  return e;
}
}
inline srtp_err_status_t srtp_protect(srtp_t s, const uint8_t* a, size_t n, uint8_t* b, size_t* m, size_t k) { return media_infra_srtp::seal(false, s, a, n, b, m, k); }
inline srtp_err_status_t srtp_protect_rtcp(srtp_t s, const uint8_t* a, size_t n, uint8_t* b, size_t* m, size_t k) { return media_infra_srtp::seal(true, s, a, n, b, m, k); }
inline srtp_err_status_t srtp_unprotect(srtp_t s, const uint8_t* a, size_t n, uint8_t* b, size_t* m) { return media_infra_srtp::open(false, s, a, n, b, m); }
inline srtp_err_status_t srtp_unprotect_rtcp(srtp_t s, const uint8_t* a, size_t n, uint8_t* b, size_t* m) { return media_infra_srtp::open(true, s, a, n, b, m); }
inline srtp_err_status_t srtp_stream_remove(srtp_t s, uint32_t ssrc) { return ::srtp_remove_stream(s, ssrc); }
#endif
#endif
EOF

# --- patch 2: DTLS BIO callback with kTLS-enabled OpenSSL ---
DTLS="$W/src/RTC/DtlsTransport.cpp"
if grep -q '(operationType == BIO_CB_RETURN)' "$DTLS"; then
  sed -i 's/(operationType == BIO_CB_RETURN)/(operationType \& BIO_CB_RETURN)/' "$DTLS"
elif ! grep -q '(operationType & BIO_CB_RETURN)' "$DTLS"; then
  die "DtlsTransport.cpp BIO callback changed upstream; review the kTLS patch"
fi

# Debian 12 has meson 1.0.1; the worker asks for a newer one but builds with it.
MV="$(meson --version)"
sed -i -E "s/meson_version:[[:space:]]*'>=[[:space:]]*[0-9.]+'/meson_version: '>= $MV'/" "$W/meson.build"

JOBS="$(nproc)"
LOG="$WORK/build.log"
step() { "$@" >>"$LOG" 2>&1 3>&- 9>&- || { tail -n 40 "$LOG"; die "$* (log: $LOG)"; }; }
OPTS=(--buildtype=release -Db_ndebug=true --wrap-mode=nodownload)
grep -q "'ms_disable_liburing'" "$W/meson_options.txt" && OPTS+=(-Dms_disable_liburing=true)
say "worker: configuring (meson $MV)"
step meson setup "${OPTS[@]}" "$W" "$WORK/build"
say "worker: generating FlatBuffers code"
step meson compile -C "$WORK/build" -j "$JOBS" flatbuffers-generator
say "worker: compiling ($JOBS jobs)"
step meson compile -C "$WORK/build" -j "$JOBS" mediasoup-worker

NEW="$WORK/build/mediasoup-worker"
rc=0; env -u MEDIASOUP_VERSION "$NEW" >/dev/null 2>&1 || rc=$?
[[ $rc -eq 41 ]] || die "built worker does not start (exit $rc)"
cp "$NEW" "$BIN.tmp" && chmod 755 "$BIN.tmp" && mv -f "$BIN.tmp" "$BIN"
echo "$RECIPE $(sha256sum "$BIN" | cut -d' ' -f1)" >"$STAMP"
say "worker: built in $(( $(date +%s) - START )) s"
echo "$BIN" >&3
}
