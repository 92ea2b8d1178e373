#!/usr/bin/env bash
# The watcher of the rolling-replacement e2e test, run beside `pulumi up` until OUT.stop exists:
#   roll-watch.sh watch KEY OUT SERVICE ADDRESS...
#       every 0.5 s, asks the first of ADDRESS (the managers' old and new addresses) whose docker answers for the
#       node list and the service's running tasks, and appends one line to OUT:
#       "<unix time> <address> <managers Reachable or Leader> <running tasks>", or "<unix time> none" when no manager
#       answered (quorum lost, or every manager being replaced).
set -uo pipefail
action=$1 key=$2 out=$3
shift 3
ssh_to() { local a=$1; shift; ssh -i "$key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=1 -o BatchMode=yes "root@$a" "$@"; }
case "$action" in
watch)
    service=$1; shift
    while [ ! -e "$out.stop" ]; do
        now=$(date +%s.%N)
        line="$now none"
        for a in "$@"; do
            if reply=$(ssh_to "$a" "docker node ls --format '{{.ManagerStatus}}' && echo --- && docker service ps $service --filter desired-state=running --format '{{.CurrentState}}'" 2>/dev/null); then
                managers=$(printf '%s\n' "$reply" | sed '/^---$/,$d' | grep -cE '^(Leader|Reachable)$')
                running=$(printf '%s\n' "$reply" | sed '1,/^---$/d' | grep -c '^Running')
                line="$now $a $managers $running"
                break
            fi
        done
        echo "$line" >>"$out"
        sleep 0.5
    done
    ;;
*) echo "roll-watch.sh: unknown action $action" >&2; exit 2 ;;
esac
