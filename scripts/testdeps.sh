#!/usr/bin/env bash
# Installs the Debian packages the test suite drives as real peers, when
# they are missing. Runs as root on CI and on the developers' machines.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have tmux || need+=(tmux)
have openssl || need+=(openssl)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "testdeps: missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
  exit 1
fi
echo "testdeps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
