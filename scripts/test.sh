#!/usr/bin/env bash
# The kit's tests: unit tests (mocks, no CLI) and, as root on Linux, the end-to-end lab tests against the real
# Pulumi CLI. Installs what is missing first (scripts/setup.sh; quick once warm).
#   scripts/test.sh          unit + e2e
#   scripts/test.sh unit     unit only
#   scripts/test.sh e2e      e2e only
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$SWARMKIT_ROOT"
bash scripts/setup.sh
. scripts/env.sh
files=()
case "${1:-all}" in
unit) files=(test/unit/*.test.ts) ;;
e2e) files=(test/e2e/*.test.ts) ;;
all) files=(test/unit/*.test.ts test/e2e/*.test.ts) ;;
*) echo "usage: scripts/test.sh [unit|e2e|all]" >&2; exit 2 ;;
esac
# The kit's own command provider keeps to the upstream provider's contract (docs/command-provider.md).
if [ "${1:-all}" != e2e ] && command -v go >/dev/null; then
    (cd scripts/toolchain/cli && go test ./cmd/pulumi-resource-command/)
fi
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
