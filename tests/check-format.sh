#!/usr/bin/env bash
# Checks that every C++ file follows the checked-in .clang-format (fix with: clang-format -i FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.inc' 2>/dev/null || find extension server tests bench -name '*.[ch]pp' -o -name '*.inc')
if clang-format --dry-run -Werror "${files[@]}" 2>"${TMPDIR:-/tmp}/pg_rag_format.log"; then
  echo "clang-format: ${#files[@]} files formatted"
else
  grep -m20 'warning\|error' "${TMPDIR:-/tmp}/pg_rag_format.log" >&2
  echo "clang-format: files differ from .clang-format (run: clang-format -i <file>)" >&2
  exit 1
fi
