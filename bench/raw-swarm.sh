#!/usr/bin/env bash
# The baselines of `npm run bench`: the same swarm the kit builds, with plain docker commands over SSH, on the same
# kind of lab hosts, behind the same host firewall the kit renders.
#   bench/raw-swarm.sh LAB SUBNET MANAGERS WORKERS KEYFILE [serial|parallel]
# serial (the default) is what hand-written guides do, one command after another: init, join-token, join each
# node, promote each manager, drain the managers. parallel is the floor of the same work: init with autolock, the
# tokens, every node joining at once, the promotions one at a time each waiting until the manager is Reachable (as
# the kit does: a majority must stay reachable), the managers drained at once.
# KEYFILE is a private key with KEYFILE.pub next to it. Prints `hosts_ms=N` (network + lab hosts, created in
# parallel as the kit's engine does) and `swarm_ms=N` (the docker commands, up to every node Ready and every
# manager Reachable: the point where the kit's `pulumi up` returns too) on stdout. Always tears the lab down.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lab=${1:?lab}; subnet=${2:?subnet}; managers=${3:?managers}; workers=${4:?workers}; key=${5:?keyfile}; mode=${6:-serial}
case "$mode" in serial | parallel) ;; *) echo "mode $mode: serial or parallel" >&2; exit 2 ;; esac
[[ "$subnet" =~ ^([0-9]+\.[0-9]+\.[0-9]+)\.0/24$ ]] || { echo "bad subnet $subnet" >&2; exit 2; }
prefix=${BASH_REMATCH[1]}
gateway="$prefix.1"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Same names and addresses as components/hardware/netns: managers from .11, workers from .101.
names=(); addrs=()
for i in $(seq 1 "$managers"); do names+=("manager-$i"); addrs+=("$prefix.$((10 + i))"); done
for i in $(seq 1 "$workers"); do names+=("worker-$i"); addrs+=("$prefix.$((100 + i))"); done
leader=${addrs[0]}

teardown() {
    local n
    for n in "${names[@]}"; do bash "$root/scripts/lab/host.sh" down "$lab" "$n" >/dev/null 2>&1 || true; done
    bash "$root/scripts/lab/network.sh" down "$lab" >/dev/null 2>&1 || true
}
trap teardown EXIT

# The host firewall exactly as the kit renders it for a lab (adminCidr defaults to the lab subnet there, the
# Pulumi host stands in for the load balancer; no published ports, as the bench's kit stacks).
SWARMKIT_LAB_FIREWALL=$(cd "$root" && node --import tsx -e '
const { renderHostFirewall } = require("./components/firewall/hostFirewall");
const [subnet, gateway] = process.argv.slice(1);
process.stdout.write(renderHostFirewall({ nodes: [subnet], admin: [subnet], loadBalancer: [`${gateway}/32`], publishedPorts: [] }));
' "$subnet" "$gateway")
SWARMKIT_LAB_PUBLIC_KEY=$(cat "$key.pub")
export SWARMKIT_LAB_FIREWALL SWARMKIT_LAB_PUBLIC_KEY

t0=$(now_ms)
bash "$root/scripts/lab/network.sh" up "$lab" "$subnet" >/dev/null
pids=()
for i in "${!names[@]}"; do
    bash "$root/scripts/lab/host.sh" up "$lab" "${names[$i]}" "${addrs[$i]}/24" "$gateway" >/dev/null &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
t1=$(now_ms)

ssh_to() {
    local addr=$1; shift
    ssh -i "$key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 \
        -o BatchMode=yes "root@$addr" "$@"
}
# dockerd of a fresh host is still starting: wait as a guide's "make sure docker is running" step would.
wait_docker() { ssh_to "$1" 'until docker info >/dev/null 2>&1; do sleep 0.2; done'; }

join() { # INDEX
    wait_docker "${addrs[$1]}"
    ssh_to "${addrs[$1]}" "docker swarm join --token $token --advertise-addr ${addrs[$1]} $leader:2377" >/dev/null
}

wait_docker "$leader"
ssh_to "$leader" "docker swarm init --autolock=true --advertise-addr $leader --listen-addr $leader:2377" >/dev/null
token=$(ssh_to "$leader" docker swarm join-token -q worker)
ssh_to "$leader" docker swarm unlock-key -q >/dev/null
if [ "$mode" = serial ]; then
    for i in "${!names[@]}"; do [ "$i" = 0 ] || join "$i"; done
    for i in $(seq 2 "$managers"); do ssh_to "$leader" docker node promote "manager-$i" >/dev/null; done
    if [ "$workers" -gt 0 ]; then
        for i in $(seq 1 "$managers"); do ssh_to "$leader" docker node update --availability drain "manager-$i" >/dev/null; done
    fi
else
    pids=()
    for i in "${!names[@]}"; do [ "$i" = 0 ] || { join "$i" & pids+=($!); }; done
    for p in "${pids[@]}"; do wait "$p"; done
    # One SSH session on the leader for the rest: each promotion waits for Reachable before the next.
    ssh_to "$leader" "
        set -e
        for i in \$(seq 2 $managers); do
            docker node promote manager-\$i >/dev/null
            n=0
            until [ \"\$(docker node inspect manager-\$i --format '{{.ManagerStatus.Reachability}}' 2>/dev/null)\" = reachable ]; do
                n=\$((n + 1)); [ \$n -lt 600 ] || { echo \"manager-\$i not reachable after 120 s\" >&2; exit 1; }
                sleep 0.2
            done
        done
        if [ $workers -gt 0 ]; then
            for i in \$(seq 1 $managers); do docker node update --availability drain manager-\$i >/dev/null & done
            wait
        fi"
fi
# Ready: every node Ready, every manager Reachable or Leader (what the kit's register/promote steps wait for).
expected=$((managers + workers))
ssh_to "$leader" "
    i=0
    until [ \"\$(docker node ls --format '{{.Status}} {{.ManagerStatus}}' | awk '\$1 == \"Ready\" && (NR > 0)' | wc -l)\" = $expected ] &&
          [ \"\$(docker node ls --format '{{.ManagerStatus}}' | grep -cE 'Leader|Reachable')\" = $managers ]; do
        i=\$((i + 1)); [ \$i -lt 600 ] || { echo 'swarm not ready after 120 s' >&2; exit 1; }
        sleep 0.2
    done"
t2=$(now_ms)

echo "hosts_ms=$((t1 - t0))"
echo "swarm_ms=$((t2 - t1))"
