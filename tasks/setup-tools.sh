#!/usr/bin/env bash
# Installs the system tools bm's tests drive for real (git, kubectl, script, tmux, and chromium for
# the console's browser tests) when they are missing, and Node 22 when the machine's node is
# older. Safe to re-run: it does nothing when everything is present. Needs root or sudo for the
# system tools.
set -euo pipefail

# Node 22 from the npm registry into .tools/node when needed (see tasks/setup-node.sh).
node_bin="$(bash "$(dirname "$0")/setup-node.sh")"
case ":$PATH:" in
  *":$node_bin:"*) ;;
  *) echo "setup-tools: Node 22 is in $node_bin; put it first on PATH: export PATH=\"$node_bin:\$PATH\"" >&2 ;;
esac

missing=()
command -v git >/dev/null 2>&1 || missing+=(git)
command -v kubectl >/dev/null 2>&1 || missing+=(kubectl)
command -v script >/dev/null 2>&1 || missing+=(script)
# `bm start --tmux` and `bm attach` (tmux 3.2 or newer; Debian 12 has 3.3).
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
# Debian's Chromium (about 2 minutes to install): playwright-core drives it, as it cannot fetch
# a browser of its own here.
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup-tools: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq >/dev/null
packages=()
for tool in "${missing[@]}"; do
  case "$tool" in
    git) packages+=(git) ;;
    script) packages+=(bsdutils) ;;
    tmux) packages+=(tmux) ;;
    chromium) packages+=(chromium) ;;
    # The Google Cloud SDK's `kubectl` package (a dispatcher over kubectl 1.27-1.33) where its apt
    # source is enabled; Debian's own kubernetes-client (kubectl 1.20) is too old for the k8s
    # tests, which then skip their kubectl-driven cases with a message saying so.
    kubectl)
      if apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then packages+=(kubectl); else packages+=(kubernetes-client); fi ;;
  esac
done
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${packages[@]}" >/dev/null
