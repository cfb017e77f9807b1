#!/usr/bin/env bash
# Makes the local debian:bookworm base image when the engine has none (no registry can be reached here):
# debootstrap --variant=minbase from deb.debian.org, with bookworm-updates and bookworm-security like the
# host, so package versions inside match the host's, then `docker import`.
#   base-image.sh            (as root; DOCKER=podman to use Podman; PGRAG_BASE_IMAGE to name another tag)
set -euo pipefail

DOCKER="${DOCKER:-docker}"
IMAGE="${PGRAG_BASE_IMAGE:-debian:bookworm}"
MIRROR="${PGRAG_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY="${PGRAG_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}"

if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then exit 0; fi
[ "$(id -u)" -eq 0 ] || { echo "base-image.sh: debootstrap needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }

root="$(mktemp -d /var/tmp/pg_rag-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "base-image.sh: debootstrap bookworm into $root (a minute or two)"
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || {
  tail -20 "$root.log" >&2
  exit 1
}
rm -f "$root.log"

# The same suites as the host (deb822), so an image's packages are the host's versions.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# Packages never start services inside an image build (no init runs there).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# No package caches or lists in layers.
echo 'Binary::apt::APT::Keep-Downloaded-Packages "false";' >"$root/etc/apt/apt.conf.d/docker-clean"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/tmp/* "$root"/var/log/*.log

tar --numeric-owner -C "$root" -c . | "$DOCKER" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' - "$IMAGE" >/dev/null
echo "base-image.sh: imported $IMAGE"
