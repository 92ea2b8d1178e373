#!/usr/bin/env bash
# npm run unlock -- STACK: unlocks the stack's locked managers with its secret unlock key (never printed).
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$SWARMKIT_ROOT"
bash scripts/setup.sh
. scripts/env.sh
exec node --import tsx scripts/unlock.ts "${1:-lab}"
