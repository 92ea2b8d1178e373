#!/usr/bin/env bash
# `npm run bench`: the kit against hand-written docker commands on throwaway lab hosts (see bench/run.ts).
#   npm run bench -- [--runs 3] [--sizes 3+2,5+5,5+20]
# Needs root on Linux, like the e2e tests. Never part of `npm test`.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$SWARMKIT_ROOT"
bash scripts/setup.sh
. scripts/env.sh
exec node --import tsx bench/run.ts "$@"
