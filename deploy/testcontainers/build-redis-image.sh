#!/usr/bin/env bash
# A local stand-in for the `redis:7` image the test harness's testcontainers
# path starts (libs/testing redis-container.ts), for machines where no
# registry can be reached: Debian bookworm minbase with Debian's redis-server
# (7.0), imported into podman under the official name, docker.io/library/redis:7.
# Where the registry answers, the official image is used and this is not needed.
# Skips the build when the image is there. Root only (debootstrap, podman).
set -euo pipefail
image=docker.io/library/redis:7
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if podman image exists "$image"; then
  echo "build-redis-image: $image is there"
  exit 0
fi
root=$(mktemp -d /var/tmp/petrel-redis-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
started=$(date +%s)
debootstrap --variant=minbase --include=redis-server bookworm "$root" "$mirror" >&2
# As the official image: data in /data, owned by the redis user, and an
# entrypoint that turns protected mode off for `redis-server ...` (the port is
# reached through the container network, not loopback).
mkdir -p "$root/data"
chroot "$root" chown redis:redis /data
cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'ENTRY'
#!/bin/sh
if [ "${1:-}" = redis-server ]; then set -- "$@" --protected-mode no; fi
exec "$@"
ENTRY
chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | podman import \
  --change 'WORKDIR /data' \
  --change 'USER redis' \
  --change 'EXPOSE 6379' \
  --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
  --change 'CMD ["redis-server"]' \
  - "$image" >/dev/null
echo "build-redis-image: built $image in $(($(date +%s) - started)) s"
