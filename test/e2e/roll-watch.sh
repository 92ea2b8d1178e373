#!/usr/bin/env bash
# The watcher of the rolling-replacement e2e test, run beside `pulumi up` until OUT.stop exists:
#   roll-watch.sh watch KEY OUT SERVICE ADDRESS...
#       every 0.5 s, asks the first of ADDRESS (the managers' old and new addresses) whose docker answers for the
#       node list and the service's running tasks, and appends one line to OUT:
#       "<unix time> <address> <managers Reachable or Leader> <running tasks> <live tasks: desired/current@node>...",
#       "<unix time> <address> <managers> ? <docker's error>" when the manager answered but its task list failed
#       (seen once in CI, mid-roll, with 4 managers listed; docker's message was not kept then), or
#       "<unix time> none" when no manager answered (quorum lost, or every manager being replaced).
set -uo pipefail
action=$1 key=$2 out=$3
shift 3
# One shared connection per manager (made on the first poll that reaches it), so that a poll costs a command, not a
# handshake, and the watcher keeps to its 0.5 s.
control=$(mktemp -d "${TMPDIR:-/tmp}/swarmkit-watch-XXXXXX")
trap 'for s in "$control"/*; do [ -e "$s" ] && ssh -o ControlPath="$s" -O exit x 2>/dev/null; done; rm -rf "$control"' EXIT
ssh_to() {
    local a=$1; shift
    ssh -i "$key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=1 -o BatchMode=yes \
        -o ControlMaster=auto -o ControlPath="$control/%h" -o ControlPersist=120 -o ServerAliveInterval=1 -o ServerAliveCountMax=2 "root@$a" "$@"
}
case "$action" in
watch)
    service=$1; shift
    last=""
    while [ ! -e "$out.stop" ]; do
        now=$(date +%s.%N)
        line="$now none"
        # The manager that answered last first: a machine that is gone costs a connect timeout.
        for a in $last "$@"; do
            # The task list's own exit status travels as the last line: through a pipe, its failure would read as an
            # empty list, that is, as no running task.
            if reply=$(ssh_to "$a" "docker node ls --format '{{.ManagerStatus}}' && echo --- && { docker service ps $service --format '{{.DesiredState}}/{{.CurrentState}}@{{.Node}}' 2>&1; echo \"rc=\$?\"; }" 2>/dev/null); then
                managers=$(printf '%s\n' "$reply" | sed '/^---$/,$d' | grep -cE '^(Leader|Reachable)$')
                tasks=$(printf '%s\n' "$reply" | sed '1,/^---$/d' | sed '$d' | tr ' ' _)
                if [ "$(printf '%s\n' "$reply" | tail -n 1)" != "rc=0" ]; then
                    line="$now $a $managers ? $(printf '%s\n' "$tasks" | tr '\n' ' ')"
                else
                    running=$(printf '%s\n' "$tasks" | grep -c '^Running/Running')
                    line="$now $a $managers $running $(printf '%s\n' "$tasks" | grep -v '/Shutdown\|/Rejected\|/Failed\|/Complete\|/Orphaned' | tr '\n' ' ')"
                fi
                last=$a
                break
            fi
        done
        echo "$line" >>"$out"
        sleep 0.5
    done
    ;;
*) echo "roll-watch.sh: unknown action $action" >&2; exit 2 ;;
esac
