#!/usr/bin/env bash
# npm run verify -- STACK: the live check alone — does the swarm of a stack that is up match its config?
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$SWARMKIT_ROOT"
bash scripts/setup.sh
. scripts/env.sh
exec node --import tsx scripts/stack.ts verify "${1:-lab}"
