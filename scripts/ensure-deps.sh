# shellcheck shell=bash
# Sourced after ensure-node.sh: installs the npm dependencies when they are
# missing or older than package-lock.json.
if [ ! -d "$petrel_root/node_modules" ] || [ "$petrel_root/package-lock.json" -nt "$petrel_root/node_modules/.package-lock.json" ]; then
  echo "petrel: installing npm dependencies (npm install, as locked)" >&2
  (cd "$petrel_root" && npm install --no-fund --no-audit) >&2 || { return 1 2>/dev/null || exit 1; }
fi
