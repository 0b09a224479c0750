#!/usr/bin/env bash
# Installs the system tools bm's tests drive for real (git, kubectl) when they are missing.
# Safe to re-run: it does nothing when everything is present. Needs root (or sudo) to install.
set -euo pipefail

missing=()
command -v git >/dev/null 2>&1 || missing+=(git)
command -v kubectl >/dev/null 2>&1 || missing+=(kubectl)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup-tools: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
packages=()
for tool in "${missing[@]}"; do
  case "$tool" in
    git) packages+=(git) ;;
    # Debian's kubectl; the Google Cloud SDK's kubectl, where present, is preferred for being newer.
    kubectl) packages+=(kubernetes-client) ;;
  esac
done
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${packages[@]}" >/dev/null
