#!/usr/bin/env bash
# Builds Citus 13.2.2 from ../shared/anchors into the PostgreSQL that pg_config names, when that
# PostgreSQL has no Citus yet. Exit 0: installed (or already there); 3: anchors absent (caller skips).
#   build-citus.sh [ANCHORS_DIR]      (PG_CONFIG=... picks the PostgreSQL; default: pg_config on PATH)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# ../shared/anchors next to the checkout (or next to the worktrees' folder, for a git worktree).
anchors="${1:-${PGRAG_ANCHORS:-}}"
if [ -z "$anchors" ]; then
  anchors="$repo/../shared/anchors"; [ -d "$anchors" ] || anchors="$repo/../../shared/anchors"
fi
pg_config="${PG_CONFIG:-$(command -v pg_config)}"
libdir="$("$pg_config" --pkglibdir)"
sharedir="$("$pg_config" --sharedir)"
if [ -f "$libdir/citus.so" ] && [ -f "$sharedir/extension/citus.control" ]; then exit 0; fi
tarball="$anchors/citus-13.2.2.tar.gz"
if [ ! -f "$tarball" ]; then echo "citus source not found at $tarball" >&2; exit 3; fi
# Citus' configure needs these headers; install them only when missing (Debian).
missing=""
for h in lz4.h zstd.h krb5.h curl/curl.h; do [ -f "/usr/include/$h" ] || missing=1; done
if [ -n "$missing" ] && command -v apt-get >/dev/null; then
  apt-get install -y liblz4-dev libzstd-dev libkrb5-dev libcurl4-openssl-dev >/dev/null ||
    { apt-get update >/dev/null && apt-get install -y liblz4-dev libzstd-dev libkrb5-dev libcurl4-openssl-dev >/dev/null; }
fi
work="$(mktemp -d /tmp/citus-build.XXXXXX)"
trap 'rm -rf "$work"' EXIT
tar xzf "$tarball" -C "$work"
src="$(echo "$work"/citus-*)"
# Debian's 15.19+ headers changed a few server APIs Citus 13.2.2 still used.
[ -f "$anchors/citus-13.2.2-pg15.20.patch" ] && (cd "$src" && patch -p1 -s <"$anchors/citus-13.2.2-pg15.20.patch")
cd "$src"
# The machine is shared: two jobs, low priority.
nice ./configure PG_CONFIG="$pg_config" >"$work/configure.log" 2>&1 || { tail -30 "$work/configure.log" >&2; exit 1; }
# No LLVM bitcode for JIT inlining: it would double the build time for nothing the tests use.
nice make -j2 with_llvm=no >"$work/make.log" 2>&1 || { tail -40 "$work/make.log" >&2; exit 1; }
make install with_llvm=no >"$work/install.log" 2>&1 || { tail -20 "$work/install.log" >&2; exit 1; }
echo "citus installed into $libdir"
