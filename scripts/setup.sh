#!/usr/bin/env bash
# Installs what the kit needs on this machine, and only what is missing:
#  - the lab's OS packages (root on Linux): docker.io, openssh-server, iproute2, iptables, tini, busybox-static;
#  - the npm packages (npm ci);
#  - the Pulumi toolchain: a Pulumi CLI already on PATH is used as it is; otherwise the CLI (pinned Go module) and
#    the kit's own build of the command provider (scripts/toolchain/cli) are built and cached by version in
#    $SWARMKIT_CACHE, so that a second run takes seconds;
#  - the project's local state: a file backend in .pulumi/state and a passphrase for the secrets provider.
# Nothing is downloaded but packages from the package registries.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$SWARMKIT_ROOT"
say() { printf 'swarmkit setup: %s\n' "$*" >&2; }

install_os_packages() {
    [ "$(uname -s)" = Linux ] || return 0
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
    command -v ip >/dev/null || missing+=(iproute2)
    command -v iptables >/dev/null || missing+=(iptables)
    command -v tini >/dev/null || missing+=(tini)
    [ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || missing+=(busybox-static)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then say "missing OS packages (${missing[*]}); run as root to install them"; return 0; fi
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --vm: what the real-VM tests and `npm run vm-image` need besides: libvirt, QEMU, virt-install, mmdebstrap, tcpdump.
install_vm_packages() {
    [ "$(uname -s)" = Linux ] || return 0
    local missing=()
    command -v libvirtd >/dev/null || missing+=(libvirt-daemon-system)
    command -v virsh >/dev/null || missing+=(libvirt-clients)
    command -v virt-install >/dev/null || missing+=(virtinst)
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    command -v qemu-img >/dev/null || missing+=(qemu-utils)
    command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
    command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
    command -v dnsmasq >/dev/null || missing+=(dnsmasq-base)
    command -v tcpdump >/dev/null || missing+=(tcpdump)
    command -v xorrisofs >/dev/null || missing+=(xorriso)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then say "missing OS packages for VMs (${missing[*]}); run as root to install them"; return 0; fi
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_npm_packages() {
    if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then return 0; fi
    say "npm ci"
    # Provider packages' install scripts would try to download plugins; the toolchain brings its own.
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
}

go_build() { # MODULE_DIR OUT PACKAGE LDFLAGS
    (cd "$1" && CGO_ENABLED=0 go build -trimpath -tags osusergo,grpcnotrace -ldflags "$4" -o "$2" "$3")
}

# The kit's command provider is cached by a hash of its sources, so a change to it is built on the next setup.
provider_sources_hash() {
    (cd "$SWARMKIT_ROOT/scripts/toolchain/cli" && cat go.mod go.sum cmd/pulumi-resource-command/*.go | sha256sum | cut -c1-16)
}

build_toolchain() {
    local bin="$SWARMKIT_TOOLCHAIN/bin" tc="$SWARMKIT_ROOT/scripts/toolchain/cli" hash
    hash=$(provider_sources_hash)
    if [ ! -x "$bin/pulumi" ]; then
        command -v go >/dev/null || { say "no Pulumi CLI on PATH and no Go to build one: install Pulumi or Go"; exit 1; }
        say "building the Pulumi CLI into $bin (first time only; a few minutes)"
        rm -rf "$bin.partial" && mkdir -p "$bin.partial"
        go_build "$tc" "$bin.partial/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
            "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$SWARMKIT_PULUMI_VERSION"
        rm -rf "$bin" && mv "$bin.partial" "$bin"
    fi
    if [ "$(cat "$bin/pulumi-resource-command.sources" 2>/dev/null)" != "$hash" ]; then
        command -v go >/dev/null || { say "no Go to build the command provider: install Go"; exit 1; }
        say "building the kit's command provider ($hash)"
        # The module proxy serves neither pulumi-language-nodejs nor the upstream command provider: programs run
        # inline through the Automation API (no language host needed), and the kit builds its own command provider.
        go_build "$tc" "$bin/pulumi-resource-command.partial" ./cmd/pulumi-resource-command \
            "-s -w -X main.Version=$SWARMKIT_COMMAND_VERSION"
        mv "$bin/pulumi-resource-command.partial" "$bin/pulumi-resource-command"
        echo "$hash" >"$bin/pulumi-resource-command.sources"
    fi
}

link_nodejs_helpers() {
    # Dynamic providers and policy packs are run through scripts that ship with the SDK's npm package.
    local bin="$SWARMKIT_TOOLCHAIN/bin" sdk="$SWARMKIT_ROOT/node_modules/@pulumi/pulumi"
    for helper in pulumi-resource-pulumi-nodejs pulumi-analyzer-policy; do
        [ -f "$sdk/$helper" ] && install -m 0755 "$sdk/$helper" "$bin/$helper"
    done
    return 0
}

install_plugins() {
    local want="$PULUMI_HOME/plugins/resource-command-v$SWARMKIT_COMMAND_VERSION"
    cmp -s "$want/pulumi-resource-command" "$SWARMKIT_TOOLCHAIN/bin/pulumi-resource-command" && return 0
    rm -rf "$want" "$want.lock"
    pulumi plugin install resource command "$SWARMKIT_COMMAND_VERSION" --file "$SWARMKIT_TOOLCHAIN/bin/pulumi-resource-command" >/dev/null
}

prepare_state() {
    mkdir -p "$SWARMKIT_ROOT/.pulumi/state"
    if [ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ] && [ ! -s "$PULUMI_CONFIG_PASSPHRASE_FILE" ]; then
        (umask 077 && head -c 24 /dev/urandom | base64 >"$PULUMI_CONFIG_PASSPHRASE_FILE")
    fi
}

install_os_packages
[ "${1:-}" != --vm ] || install_vm_packages
install_npm_packages
if [ "$SWARMKIT_TOOLCHAIN_KIND" = built ]; then
    build_toolchain
    link_nodejs_helpers
    install_plugins
fi
prepare_state
say "ready: $(pulumi version) ($SWARMKIT_TOOLCHAIN_KIND toolchain), state in ${PULUMI_BACKEND_URL}"
