#!/usr/bin/env bash
# Starts the throwaway test cluster in DIR/data on PORT with the settings the tests need.
set -euo pipefail
dir="${1:?dir}"; port="${2:?port}"
bash "$(dirname "$0")/../docker/pg-cluster.sh" start "$dir/data" "$port"
