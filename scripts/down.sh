#!/usr/bin/env bash
# `pulumi destroy` of a stack (default: the lab). For the lab nothing stays behind: no namespace, bridge,
# iptables rule, daemon or mount.
#   npm run down [-- STACK]
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$SWARMKIT_ROOT"
stack=${1:-lab}; shift || true
bash scripts/setup.sh
. scripts/env.sh
node --import tsx scripts/stack.ts destroy "$stack"
