# Sourced by the kit's scripts: where the toolchain, the state and the lab live. No global side effects:
# everything Pulumi writes stays in the project's git-ignored .pulumi/ folder.
SWARMKIT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SWARMKIT_PULUMI_VERSION=3.248.0
SWARMKIT_COMMAND_VERSION=1.2.1
SWARMKIT_CACHE=${SWARMKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/swarmkit}
SWARMKIT_TOOLCHAIN="$SWARMKIT_CACHE/toolchain/pulumi-v$SWARMKIT_PULUMI_VERSION-command-v$SWARMKIT_COMMAND_VERSION"

export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-"file://$SWARMKIT_ROOT/.pulumi/state"}
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_NODEJS_TRANSPILE_ONLY=true
# The local stacks' secrets provider: a passphrase made once per checkout, unless the user brings their own.
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    export PULUMI_CONFIG_PASSPHRASE_FILE="$SWARMKIT_ROOT/.pulumi/passphrase"
fi
# A Pulumi CLI installed on the machine is used as it is (it fetches its plugins as usual). Otherwise the toolchain
# that scripts/setup.sh built: its plugins live in the project's own PULUMI_HOME and nothing is ever downloaded.
if command -v pulumi >/dev/null 2>&1 && [ "$(command -v pulumi)" != "$SWARMKIT_TOOLCHAIN/bin/pulumi" ] && [ -z "${SWARMKIT_BUILD_TOOLCHAIN:-}" ]; then
    SWARMKIT_TOOLCHAIN_KIND=system
else
    SWARMKIT_TOOLCHAIN_KIND=built
    case ":$PATH:" in *":$SWARMKIT_TOOLCHAIN/bin:"*) ;; *) export PATH="$SWARMKIT_TOOLCHAIN/bin:$PATH" ;; esac
    export PULUMI_HOME="$SWARMKIT_ROOT/.pulumi/home"
    export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
    # Our plugins sit in PULUMI_HOME at their exact versions; the toolchain bin on PATH is not a plugin source.
    export PULUMI_IGNORE_AMBIENT_PLUGINS=true
fi
export SWARMKIT_TOOLCHAIN_KIND
export SWARMKIT_ROOT SWARMKIT_TOOLCHAIN SWARMKIT_PULUMI_VERSION SWARMKIT_COMMAND_VERSION
