#!/usr/bin/env bash
# Podman settings this kind of machine needs (Debian's podman 4.3): the runc
# runtime (crun fails on a hybrid cgroup layout), cgroupfs as cgroup manager
# (no systemd), and default ulimits no higher than the hard limits of the
# shell that runs podman (a container cannot raise them). Writes
# /etc/containers/containers.conf when it is missing or differs; idempotent.
# Root only. Used by .ci/run and deploy/testcontainers/run-tests.sh.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-podman: root only" >&2
  exit 1
fi
command -v podman >/dev/null || { echo "setup-podman: podman is missing (apt-get install -y podman runc debootstrap)" >&2; exit 1; }
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nofile" -gt 1048576 ] && nofile=1048576
# nproc must be set (podman's default is refused here) and below the
# machine's own: 32768 is, on this kind (hard 96365; 65536 is refused).
nproc=$(ulimit -Hu)
[ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
conf=/etc/containers/containers.conf
want=$(cat <<CONF
# Written by Petrel's deploy/image/setup-podman.sh.
[containers]
default_ulimits = [
  "nofile=$nofile:$nofile",
  "nproc=$nproc:$nproc",
]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
)
if [ -f "$conf" ] && [ "$(cat "$conf")" = "$want" ]; then
  echo "setup-podman: $conf is up to date"
  exit 0
fi
mkdir -p /etc/containers
printf '%s\n' "$want" >"$conf"
echo "setup-podman: wrote $conf (runc, cgroupfs, nofile=$nofile, nproc=$nproc)"
