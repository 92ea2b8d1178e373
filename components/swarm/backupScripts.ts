/**
 * The remote scripts of backup, restore and recovery (components/swarm/backup.ts runs them over SSH). Pure render
 * functions, like the bootstrap's (scripts.ts): each one can be unit-tested as text and run alone against a host.
 * Secrets (the unlock key, the restored node key) arrive on stdin only.
 */
import { script as stepScript, waitUntil } from "./scripts";

/**
 * The engine service, whatever runs it: systemd (cloud images; its socket too, or the first docker call would start
 * the engine again), else the SysV script (Debian without systemd, lab hosts). Stopping and starting the engine is
 * what these scripts add to the bootstrap's prelude (scripts.ts), which they share.
 */
const ENGINE = [
    "engine() {",
    "  if command -v systemctl >/dev/null 2>&1 && systemctl list-unit-files docker.service >/dev/null 2>&1 && [ -d /run/systemd/system ]; then",
    '    if [ "$1" = stop ]; then as_root systemctl stop docker.socket docker.service; else as_root systemctl start docker.service; fi',
    "  elif [ -x /etc/init.d/docker ]; then",
    '    as_root /etc/init.d/docker "$1" >/dev/null',
    "  else",
    '    fail "cannot $1 the Docker engine: neither systemd nor /etc/init.d/docker runs it"',
    "  fi",
    "}",
];

function script(host: string, step: string, body: string[]): string {
    return stepScript({ host, step }, [...ENGINE, ...body]);
}

/**
 * On a follower manager: checks that it may be stopped (an active manager, not the leader, and with it stopped the
 * other managers still hold a majority), stops its engine so that the raft state on disk is consistent, archives
 * `<DockerRootDir>/swarm`, starts the engine again and unlocks it with the key on stdin (autolock), waits until it is
 * a reachable manager again, then prints `ADDR <its swarm address>`, `KEY <base64 of certificates/swarm-node.key>` and `ARCHIVE <base64 of the
 * tar.gz>`. The engine is started again whatever happens after it was stopped.
 */
export function renderBackup(host: string): string {
    return script(host, "backup", [
        "IFS= read -r unlock_key || true",
        `[ "$(swarm_state)" = active ] && [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] || fail "not an active manager"`,
        "self=$(docker info --format '{{.Swarm.NodeID}}')",
        `[ "$(docker node inspect --format '{{.ManagerStatus.Leader}}' "$self")" != true ] || fail "it is the leader: a backup is taken from a follower, so that the swarm keeps its leader"`,
        "managers=$(docker node ls --filter role=manager --format '{{.ManagerStatus}}') || fail \"cannot list the managers\"",
        "total=$(printf '%s\\n' \"$managers\" | grep -c .)",
        "reachable=$(printf '%s\\n' \"$managers\" | grep -cE '^(Leader|Reachable)$' || true)",
        'need=$((total / 2 + 1))',
        '[ $((reachable - 1)) -ge "$need" ] || fail "stopping it would cost the swarm its quorum: $reachable of $total managers are reachable and $need are needed (a backup needs 3 or more managers, all reachable but at most one)"',
        "root=$(docker info --format '{{.DockerRootDir}}')",
        '[ -d "$root/swarm" ] || fail "no swarm state in $root/swarm"',
        'work=$(mktemp -d) || fail "cannot make a working directory"',
        'started=false',
        'restart() { [ "$started" = true ] || { started=true; engine start; }; }',
        "trap 'restart; rm -rf \"$work\"' EXIT",
        "engine stop",
        'as_root tar -C "$root" -czf "$work/swarm.tar.gz" swarm || fail "cannot archive $root/swarm"',
        'as_root cat "$root/swarm/certificates/swarm-node.key" >"$work/node.key" || fail "cannot read the node key"',
        "restart",
        "wait_docker",
        'if [ "$(swarm_state)" = locked ]; then',
        '  [ -n "$unlock_key" ] || fail "the manager came back locked and no unlock key was given"',
        "  printf '%s\\n' \"$unlock_key\" | docker swarm unlock >/dev/null 2>&1 || fail \"docker swarm unlock failed after the backup\"",
        "fi",
        ...waitUntil(`[ "$(docker node inspect --format '{{.ManagerStatus.Reachability}}' "$self" 2>/dev/null)" = reachable ]`, "the manager is not reachable again"),
        "printf 'ADDR %s\\n' \"$(docker info --format '{{.Swarm.NodeAddr}}')\"",
        "printf 'KEY %s\\n' \"$(base64 -w0 \"$work/node.key\")\"",
        "printf 'ARCHIVE %s\\n' \"$(base64 -w0 \"$work/swarm.tar.gz\")\"",
    ]);
}

/** What the restore script reads on stdin, one item per line. Secret: it carries the node's private key. */
export function restoreInput(args: { advertiseAddress: string; autolock: boolean; nodeKey: string; archive?: Buffer }): string {
    const archive = args.archive ? args.archive.toString("base64") : "-";
    return [args.advertiseAddress, args.autolock ? "autolock" : "no-autolock", Buffer.from(args.nodeKey).toString("base64"), archive].join("\n") + "\n";
}

/** Prints the node key of this manager (encrypted with the unlock key under autolock) as base64, for a recovery. */
export function renderReadNodeKey(host: string): string {
    return script(host, "recover", [
        "root=$(docker info --format '{{.DockerRootDir}}')",
        'as_root test -f "$root/swarm/certificates/swarm-node.key" || fail "no swarm state on this machine ($root/swarm)"',
        `printf 'KEY %s\\n' "$(as_root base64 -w0 "$root/swarm/certificates/swarm-node.key")"`,
    ]);
}

/** Refuses when the swarm this node belongs to still has a leader: restore and recovery are for a swarm without one. */
const NO_LEADER = [
    `if [ "$(swarm_state)" = active ] && [ "$(docker info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null)" = true ] && docker node ls -q >/dev/null 2>&1; then`,
    '  fail "the swarm has a leader (docker node ls works here): restore and recovery are for a swarm that lost its quorum"',
    "fi",
];

/** The swarm re-formed around this node alone: waits until it leads, prints its node ID. */
const FORCE_NEW_CLUSTER = [
    'flags=""',
    '[ "$autolock" = autolock ] && flags="--autolock"',
    // The unlock key init prints goes nowhere: with --autolock it is the swarm's existing one.
    'out=$(docker swarm init --force-new-cluster $flags --advertise-addr "$advertise" --listen-addr "$advertise:2377" 2>&1 >/dev/null) || fail "docker swarm init --force-new-cluster failed: $out"',
    ...waitUntil("docker node ls -q >/dev/null 2>&1", "the re-formed swarm has no leader"),
    "docker info --format '{{.Swarm.NodeID}}'",
];

/**
 * Puts a backup onto this manager and re-forms the swarm around it: refuses if the swarm still has a leader; stops
 * the engine; keeps the current state as `swarm.before-restore.<time>`; extracts the backup and puts the node key
 * (rewritten by the kit so that it needs no unlock key) in place; starts the engine; `docker swarm init
 * --force-new-cluster` (services, secrets, configs and networks come from the backup). Prints the node ID.
 * Without an archive ("-"), the manager's own state stays and only its node key is put in place: a recovery.
 * Autolocked, a manager cannot be re-formed otherwise: init stops the running manager and starts it again without
 * the unlock key, which an encrypted node key needs.
 */
export function renderRestore(host: string, step: "restore" | "recover" = "restore"): string {
    return script(host, step, [
        "IFS= read -r advertise || true",
        "IFS= read -r autolock || true",
        "IFS= read -r node_key || true",
        "IFS= read -r archive || true",
        '[ -n "$advertise" ] && [ -n "$node_key" ] && [ -n "$archive" ] || fail "incomplete input on stdin"',
        ...NO_LEADER,
        "root=$(docker info --format '{{.DockerRootDir}}')",
        "engine stop",
        'if [ "$archive" != - ]; then',
        '  if [ -d "$root/swarm" ]; then as_root mv "$root/swarm" "$root/swarm.before-restore.$(date +%Y%m%dT%H%M%S)" || fail "cannot move the current swarm state aside"; fi',
        `  printf '%s' "$archive" | base64 -d | as_root tar -C "$root" -xzf - || { engine start; fail "cannot extract the backup into $root"; }`,
        "else",
        '  as_root cp -p "$root/swarm/certificates/swarm-node.key" "$root/swarm/certificates/swarm-node.key.before-recover"',
        "fi",
        `printf '%s' "$node_key" | base64 -d | as_root tee "$root/swarm/certificates/swarm-node.key" >/dev/null || { engine start; fail "cannot write the node key"; }`,
        'as_root chmod 600 "$root/swarm/certificates/swarm-node.key"',
        "engine start",
        "wait_docker",
        `state=$(swarm_state); case "$state" in active|pending) ;; *) fail "the restored state does not start as a manager (swarm state $state)" ;; esac`,
        ...FORCE_NEW_CLUSTER,
    ]);
}
