#!/usr/bin/env bash
# Builds the module with PGXS (in a scratch copy of the sources) and checks it exports exactly the
# SQL-callable symbols of the CMake build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
scratch="$BUILD/pgxs"
rm -rf "$scratch" && mkdir -p "$scratch"
cp -r Makefile.pgxs pg_rag.control sql extension "$scratch/"
make -C "$scratch" -f Makefile.pgxs -j2 -s >"$BUILD/pgxs-build.log" 2>&1 || { tail -30 "$BUILD/pgxs-build.log"; exit 1; }
sql_symbols() { nm -D --defined-only "$1" | awk '$2 == "T" {print $3}' | grep -E '^pg_finfo_' | sort; }
if diff <(sql_symbols "$scratch/pg_rag.so") <(sql_symbols "$BUILD/pg_rag.so"); then
  echo "PGXS and CMake modules export the same $(sql_symbols "$BUILD/pg_rag.so" | wc -l) SQL functions"
else
  echo "PGXS and CMake modules differ" >&2
  exit 1
fi
