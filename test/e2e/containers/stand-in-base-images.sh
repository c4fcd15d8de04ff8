#!/usr/bin/env bash
# Stand-ins for the base images deploy/Dockerfile starts FROM, built into the Docker engine at
# $DOCKER_HOST, with the names its FROM lines give (e.g. node:20.20.2-bookworm, the build stage:
# Debian bookworm, Node.js, npm and node's headers, python3, make and g++ for better-sqlite3;
# and node:20.20.2-bookworm-slim, the runtime: Debian bookworm, Node.js and npm).
#
# Why stand-ins: the test machines reach the npm registry and Debian's mirror but no container
# registry, so `FROM node:20.20.2-bookworm` cannot be pulled. Images with exactly those names,
# built here from Debian packages (debootstrap) and this machine's own Node.js, let the real
# Dockerfile build unchanged. The machine's Node.js is also what the in-process reference run
# uses, so the container's weights can be compared with it bit for bit.
#
# The two Debian root filesystems are cached as tarballs in $GRADWIRE_BASE_IMAGE_CACHE
# (default /tmp/gradwire-base-images), named by a hash of how they were made; delete the
# folder to make them again. A fresh machine builds them in about 45 s.
#
# Usage: DOCKER_HOST=unix:///path/docker.sock stand-in-base-images.sh
# Environment: DOCKER (client, default /usr/bin/docker), NODE (default: node on PATH),
#              GRADWIRE_BASE_IMAGE_CACHE. Needs root, debootstrap, chroot, tar.
set -euo pipefail

docker=${DOCKER:-/usr/bin/docker}
node=$(readlink -f "${NODE:-$(command -v node)}")
cache=${GRADWIRE_BASE_IMAGE_CACHE:-/tmp/gradwire-base-images}
suite=bookworm
mirror=http://deb.debian.org/debian
build_tools=(python3 make g++)

: "${DOCKER_HOST:?DOCKER_HOST must name the engine to build into}"
# the names the Dockerfile builds FROM: the build stage's image and the runtime's (…-slim)
dockerfile=$(dirname "$(readlink -f "$0")")/../../../deploy/Dockerfile
build_image=$(sed -n 's/^FROM \([^ ]*\) AS build.*/\1/p' "$dockerfile")
slim_image=$(sed -n 's/^FROM \([^ ]*-slim\)\( .*\)\{0,1\}$/\1/p' "$dockerfile")
[ -n "$build_image" ] && [ -n "$slim_image" ] || { echo "stand-in-base-images.sh: no FROM … AS build and FROM …-slim in $dockerfile" >&2; exit 1; }
# the stand-ins carry this machine's Node.js: say so when the Dockerfile pins another release
want=$(printf '%s' "$build_image" | sed -n 's/^node:\([0-9.]*\)-.*/\1/p')
have=$("$node" --version | sed 's/^v//')
[ -z "$want" ] || [ "$want" = "$have" ] || echo "note: the Dockerfile pins Node.js $want, the stand-ins carry this machine's $have"
[ "$(id -u)" = 0 ] || { echo "stand-in-base-images.sh: needs root (debootstrap, chroot)" >&2; exit 1; }

t0=$(date +%s.%N)
phase() { # print a phase's duration since the previous phase
  local now; now=$(date +%s.%N)
  awk -v a="$t0" -v b="$now" -v what="$1" 'BEGIN { printf "phase %-36s %6.1f s\n", what, b - a }'
  t0=$now
}

work=$(mktemp -d /tmp/gradwire-stand-in.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$cache"

debootstrap_args=(--variant=minbase "$suite")
slim_key=$(printf '%s\n' "${debootstrap_args[@]}" "$mirror" | sha256sum | cut -c1-16)
build_key=$(printf '%s\n' "$slim_key" "${build_tools[@]}" | sha256sum | cut -c1-16)
slim_tar=$cache/$suite-minbase-$slim_key.tar
build_tar=$cache/$suite-minbase-build-$build_key.tar

# a root filesystem without apt's downloads and lists, nor this machine's resolver and name
strip_rootfs() {
  chroot "$1" apt-get clean
  rm -rf "$1"/var/lib/apt/lists/* "$1"/etc/hostname
  : > "$1"/etc/resolv.conf
}

# write a tarball of a root filesystem into the cache (atomically: concurrent runs may share it)
cache_rootfs() { # dir, tarball
  tar --numeric-owner -C "$1" -cf "$2.$$.tmp" .
  mv -f "$2.$$.tmp" "$2"
}

if [ ! -s "$slim_tar" ]; then
  debootstrap "${debootstrap_args[@]}" "$work/slim" "$mirror" > "$work/debootstrap.log" 2>&1 \
    || { tail -30 "$work/debootstrap.log" >&2; exit 1; }
  strip_rootfs "$work/slim"
  cache_rootfs "$work/slim" "$slim_tar"
  phase "debootstrap $suite minbase"
fi

if [ ! -s "$build_tar" ]; then
  # the build stage's tools installed into a copy of the minbase root (≈ 12 s; debootstrap
  # --include=python3,make,g++ takes ≈ 50 s instead of ≈ 30 s)
  if [ -d "$work/slim" ]; then
    cp -a "$work/slim" "$work/build"
  else
    mkdir "$work/build"
    tar -C "$work/build" -xf "$slim_tar"
  fi
  cp /etc/resolv.conf "$work/build/etc/resolv.conf"
  chroot "$work/build" /usr/bin/env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends ${build_tools[*]}" > "$work/apt.log" 2>&1 \
    || { tail -30 "$work/apt.log" >&2; exit 1; }
  strip_rootfs "$work/build"
  cache_rootfs "$work/build" "$build_tar"
  phase "apt-get install ${build_tools[*]}"
fi

# this machine's Node.js, npm and node's headers, at the same paths as here
prefix=$(dirname "$(dirname "$node")")
node_root=$work/node
mkdir -p "$node_root$prefix/bin" "$node_root$prefix/lib/node_modules" "$node_root$prefix/include" "$node_root$prefix/etc"
cp "$node" "$node_root$prefix/bin/node"
cp -a "$prefix/lib/node_modules/npm" "$node_root$prefix/lib/node_modules/"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$node_root$prefix/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$node_root$prefix/bin/npx"
cp -a "$prefix/include/node" "$node_root$prefix/include/"
# npm's global config as here (e.g. cafile: the registry may be reached through a proxy with
# its own CA), plus nodedir so that node-gyp compiles against these headers instead of
# downloading them
npmrc=$prefix/etc/npmrc
if [ -f "$npmrc" ]; then grep -v '^nodedir=' "$npmrc" > "$node_root$npmrc" || true; fi
echo "nodedir=$prefix" >> "$node_root$npmrc"
cafile=$(sed -n 's/^cafile *= *//p' "$node_root$npmrc" | tail -1)
cafile=${cafile:-/etc/ssl/certs/ca-certificates.crt}
if [ -f "$cafile" ]; then
  mkdir -p "$node_root$(dirname "$cafile")"
  cp -L "$cafile" "$node_root$cafile"
fi
phase "copy Node.js $("$node" --version) and npm"

# each image: its Debian root with the Node.js files appended, imported as one layer
# (files and links only: the engine refuses a path twice, and makes missing folders itself)
(cd "$node_root" && find . ! -type d | sort > "$work/node.files")
stand_in() { # cached root tarball, image name
  local tarball=$work/image.tar
  cp "$1" "$tarball"
  # a file the root already has (e.g. a CA bundle) is replaced by this machine's
  tar -tf "$tarball" | sort | comm -12 - "$work/node.files" > "$work/replaced.files"
  if [ -s "$work/replaced.files" ]; then tar --delete -f "$tarball" -T "$work/replaced.files"; fi
  (cd "$node_root" && tar --numeric-owner --owner=0 --group=0 --no-recursion -rf "$tarball" -T "$work/node.files")
  "$docker" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' \
    "$tarball" "$2" > /dev/null
  rm -f "$tarball"
}
stand_in "$slim_tar" "$slim_image"
stand_in "$build_tar" "$build_image"
phase "docker import $build_image, $slim_image"
