#!/usr/bin/env bash
# The main job: installs what is missing, then `pulumi up` of a stack (default: the lab, 3 managers + 2 workers on
# lab hosts on this machine). The lab's SSH key is made once with ssh-keygen and kept in .lab/ (git-ignored);
# the private key enters the stack only as secret config.
#   npm run up [-- STACK [pulumi up flags]]
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$SWARMKIT_ROOT"
stack=${1:-lab}; shift || true
bash scripts/setup.sh
. scripts/env.sh
pulumi stack select --create "$stack" >/dev/null
provider=$(pulumi config get swarmkit:provider --stack "$stack" 2>/dev/null || echo netns)
case "$provider" in netns | multipass | kvm) local_provider=true ;; *) local_provider=false ;; esac
# Local providers take a key made here; the clouds generate one with @pulumi/tls unless one is configured.
if [ "$local_provider" = true ] && ! pulumi config get swarmkit:sshPublicKey --stack "$stack" >/dev/null 2>&1; then
    key="$SWARMKIT_ROOT/.lab/keys/$stack"
    mkdir -p "$(dirname "$key")"
    [ -f "$key" ] || ssh-keygen -q -t ed25519 -N '' -C "swarmkit-$stack" -f "$key"
    pulumi config set --stack "$stack" swarmkit:sshPublicKey "$(cat "$key.pub")"
    pulumi config set --stack "$stack" --secret swarmkit:sshPrivateKey <"$key"
fi
node --import tsx scripts/stack.ts up "$stack"
leader=$(pulumi stack output leaderAddress --stack "$stack")
echo
echo "The swarm is up. Reach it with:"
echo "  export DOCKER_HOST=$(pulumi stack output dockerHost --stack "$stack")"
if [ -f "$SWARMKIT_ROOT/.lab/keys/$stack" ]; then
    echo "  eval \$(ssh-agent) && ssh-add .lab/keys/$stack && docker node ls"
    echo "  (or: ssh -i .lab/keys/$stack root@$leader docker node ls)"
fi
