#!/usr/bin/env bash
# npm run backup|restore|recover -- STACK ...: see scripts/backup.ts.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$SWARMKIT_ROOT"
bash scripts/setup.sh >/dev/null
. scripts/env.sh
exec node --import tsx scripts/backup.ts "$@"
