#!/usr/bin/env bash
# The base images from Debian packages alone, for a machine that reaches no container registry:
# debootstrap bookworm (minbase) from this machine's Debian mirror, `docker import` it, and build
# on it Python 3.11, PostgreSQL 15 and Caddy 2.6 (Debian's packages). Then:
#
#   PYTHON_IMAGE=lingang-base/python:3.11 POSTGRES_IMAGE=lingang-base/postgres:15 \
#   CADDY_IMAGE=lingang-base/caddy:2.6 docker compose build        (and `up`, with the same)
#
# Each image is also tagged with a hash of its inputs (this recipe, its folder here, the image
# below it); one whose hash tag exists is not built again, so a second run takes seconds.
# Run as root (debootstrap). DEBIAN_MIRROR overrides the mirror read from /etc/apt.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
suite=bookworm
export DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}"  # the classic builder: no buildx plugin needed

debian_mirror() {
  local found
  found="$(grep -hs -m1 -oP '^URIs:\s*\Khttps?://\S+/debian/?$' /etc/apt/sources.list.d/*.sources || true)"
  [ -n "$found" ] || found="$(grep -hs -m1 -oP '^deb\s+(\[[^]]*\]\s+)?\Khttps?://\S+/debian/?(?=\s)' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true)"
  echo "${found:-http://deb.debian.org/debian}"
}
mirror="${DEBIAN_MIRROR:-$(debian_mirror)}"
mirror="${mirror%/}"

hash_of() { sha256sum | cut -c1-16; }
exists() { docker image inspect "$1" > /dev/null 2>&1; }
say() { echo "build-base: $*" >&2; }

# -- Debian bookworm, minbase ----------------------------------------------------------------
base_recipe="debootstrap --variant=minbase $suite $mirror; apt: main, updates, security; r1"
base="lingang-base/debian:$suite"
base_hashed="$base-$(printf '%s' "$base_recipe" | hash_of)"
if exists "$base_hashed"; then
  say "$base_hashed exists"
else
  say "debootstrap $suite from $mirror"
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" > "$rootfs.log" 2>&1 \
    || { tail -20 "$rootfs.log" >&2; exit 1; }
  rm -f "$rootfs.log"
  cat > "$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${mirror%/debian}/debian-security $suite-security main
SOURCES
  # As Debian's own container images: no services started by package scripts, no caches,
  # no recommended packages.
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod +x "$rootfs/usr/sbin/policy-rc.d"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    > "$rootfs/etc/apt/apt.conf.d/90container"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/tmp/* \
    "$rootfs"/var/log/*.log
  tar --numeric-owner -C "$rootfs" -c . \
    | docker import --change 'CMD ["bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        - "$base_hashed" > /dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi
docker tag "$base_hashed" "$base"

# -- Images on it, each from its folder here -------------------------------------------------
build() {  # folder, tag
  local folder="$here/$1" tag="$2" hashed
  hashed="$tag-$( (echo "$base_hashed"; cd "$folder" && find . -type f -print0 | sort -z \
    | xargs -0 sha256sum) | hash_of)"
  if exists "$hashed"; then
    say "$hashed exists"
  else
    say "building $hashed"
    docker build --quiet --build-arg "BASE_IMAGE=$base_hashed" --tag "$hashed" "$folder" > /dev/null
  fi
  docker tag "$hashed" "$tag"
}
build python lingang-base/python:3.11
build postgres lingang-base/postgres:15
build caddy lingang-base/caddy:2.6

echo "PYTHON_IMAGE=lingang-base/python:3.11"
echo "POSTGRES_IMAGE=lingang-base/postgres:15"
echo "CADDY_IMAGE=lingang-base/caddy:2.6"
