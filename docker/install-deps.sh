#!/usr/bin/env bash
# Installs everything pg_rag needs to build, test and run, from Debian 12's own packages.
# Idempotent: when every package is already installed it does not touch apt at all.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ca-certificates
  postgresql-15 postgresql-server-dev-15
  libcurl4-openssl-dev libopenblas-dev nlohmann-json3-dev libcpp-httplib-dev libpq-dev
  libssl-dev openssl         # JWT signatures in the server; the openssl command cross-checks them in the tests
  libxml2-dev libpoppler-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev curl
  clang libclang-rt-14-dev   # libFuzzer, ASan and UBSan runtimes for the fuzz targets (make fuzz)
  clang-format               # make test checks the C++ against .clang-format
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "pg_rag: missing packages: ${missing[*]}" >&2
  echo "pg_rag: run as root (or install them with apt-get) and try again" >&2
  exit 1
fi
echo "pg_rag: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
