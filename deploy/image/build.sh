#!/usr/bin/env bash
# Builds Petrel's image with podman from deploy/Dockerfile, tagged
# petrel:<version> (root package.json's version), with the OCI labels'
# version, revision (git) and source. Builds the base stand-in first when the
# official base image cannot be had (deploy/image/build-base.sh skips when it
# is there). Root only on this machine (rootful podman).
#   deploy/image/build.sh [extra podman build args]
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json | head -1)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || revision="$revision-dirty"
source_url=$(git remote get-url origin 2>/dev/null || echo https://github.com/petrel-relay/petrel)
image=${PETREL_IMAGE:-petrel:$version}
bash deploy/image/build-base.sh
started=$(date +%s)
# Where TLS to the registry is intercepted, the CA Node is told of
# (NODE_EXTRA_CA_CERTS) is mounted for the build stages only.
extra=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  extra=(--volume "$NODE_EXTRA_CA_CERTS:/run/petrel-extra-ca.pem:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/petrel-extra-ca.pem)
fi
# --network host: the build stages fetch from the npm registry through the
# host's own route (no container network is needed for that).
podman build --network host -f deploy/Dockerfile -t "$image" \
  --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg SOURCE="$source_url" \
  "${extra[@]}" "$@" .
echo "build: built $image in $(($(date +%s) - started)) s"
