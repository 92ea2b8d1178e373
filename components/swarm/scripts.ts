/**
 * Pure render functions for every remote script of the swarm bootstrap. Each returns a POSIX shell script that
 * can be unit-tested as text and run alone against a host (`ssh root@host sh -s < script`).
 *
 * Rules every script follows:
 *  - idempotent: it first reads the node's or the swarm's state and only acts on a difference;
 *  - patient: it waits for dockerd after boot instead of failing;
 *  - explicit: a failure names the host and the step on stderr;
 *  - quiet about secrets: tokens only travel on stdin, and only the `tokens` script prints one (its stdout is a
 *    Pulumi secret).
 */

export interface StepContext {
    /** Logical host name the script runs on, e.g. "manager-1". */
    host: string;
    /** Step name, e.g. "init", "join", "promote". */
    step: string;
}

/** Seconds to wait for dockerd to answer after boot. */
export const DOCKER_READY_TIMEOUT = 180;
/** Seconds to wait for a promoted manager to be reachable, or a node to be ready. */
export const NODE_READY_TIMEOUT = 120;
/** Polls per second while waiting on the swarm: promotions take about a second, so a whole-second poll wastes half. */
const POLLS_PER_SECOND = 5;

/** Single-quotes a value for the shell. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

function prelude(ctx: StepContext): string {
    return [
        "#!/bin/sh",
        "set -eu",
        `swarmkit_host=${shellQuote(ctx.host)}`,
        `swarmkit_step=${shellQuote(ctx.step)}`,
        'fail() { echo "swarmkit: host $swarmkit_host: step $swarmkit_step: $*" >&2; exit 1; }',
        'log() { echo "swarmkit: host $swarmkit_host: step $swarmkit_step: $*" >&2; }',
        // Cloud images log in as a sudo-capable user; lab hosts and DigitalOcean as root.
        'if [ "$(id -u)" != 0 ]; then docker() { sudo -n docker "$@"; }; fi',
        "command -v docker >/dev/null 2>&1 || [ -x /usr/bin/docker ] || fail 'docker is not installed'",
        "wait_docker() {",
        "  i=0",
        "  until docker info >/dev/null 2>&1; do",
        "    i=$((i + 1))",
        `    [ "$i" -lt ${DOCKER_READY_TIMEOUT} ] || fail "docker is not answering after ${DOCKER_READY_TIMEOUT} s"`,
        "    sleep 1",
        "  done",
        "}",
        "swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}'; }",
        // Node updates use optimistic concurrency: one racing the node's own first updates after a join fails with
        // "update out of sequence" and succeeds when tried again.
        'retry() { n=0; until "$@"; do n=$((n + 1)); [ "$n" -lt 10 ] || return 1; sleep 0.5; done; }',
        "wait_docker",
    ].join("\n");
}

function script(ctx: StepContext, body: string[]): string {
    return `${prelude(ctx)}\n${body.join("\n")}\n`;
}

export interface InitArgs {
    host: string;
    advertiseAddress: string;
    autolock: boolean;
}

/**
 * `docker swarm init` on the first manager, unless it already leads a swarm; then converges autolock.
 * Prints `{"nodeId": ..., "clusterId": ...}`. The unlock key that init prints goes to /dev/null: the `tokens`
 * step reads it into a secret.
 */
export function renderInit(args: InitArgs): string {
    const addr = shellQuote(args.advertiseAddress);
    return script({ host: args.host, step: "init" }, [
        "state=$(swarm_state)",
        'case "$state" in',
        "  inactive)",
        `    docker swarm init --autolock=${args.autolock} --advertise-addr ${addr} --listen-addr ${addr}:2377 >/dev/null \\`,
        `      || fail "docker swarm init --advertise-addr ${args.advertiseAddress} failed"`,
        "    ;;",
        "  active) ;;",
        '  locked) fail "the swarm is locked on this manager: unlock it with npm run unlock, then run pulumi up again" ;;',
        '  *) fail "unexpected swarm state $state" ;;',
        "esac",
        `[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] || fail "this node is in a swarm but is not a manager"`,
        `current=$(docker info --format '{{.Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers}}')`,
        `[ "$current" = ${args.autolock} ] || docker swarm update --autolock=${args.autolock} >/dev/null || fail "docker swarm update --autolock=${args.autolock} failed"`,
        `printf '{"nodeId":"%s","clusterId":"%s"}\\n' "$(docker info --format '{{.Swarm.NodeID}}')" "$(docker info --format '{{.Swarm.Cluster.ID}}')"`,
    ]);
}

export interface TokensArgs {
    host: string;
}

/** Prints the join tokens and the unlock key as JSON. Its stdout must be a secret and its logging off. */
export function renderTokens(args: TokensArgs): string {
    return script({ host: args.host, step: "tokens" }, [
        'worker=$(docker swarm join-token -q worker) || fail "cannot read the worker join token"',
        'manager=$(docker swarm join-token -q manager) || fail "cannot read the manager join token"',
        // Empty when autolock is off: unlock-key then fails with "no unlock key is set".
        "unlock=$(docker swarm unlock-key -q 2>/dev/null || true)",
        `printf '{"worker":"%s","manager":"%s","unlockKey":"%s"}\\n' "$worker" "$manager" "$unlock"`,
    ]);
}

/** Rotates both join tokens (old ones stop working; joined nodes are not affected). Prints nothing. */
export function renderRotateTokens(args: TokensArgs): string {
    return script({ host: args.host, step: "rotate tokens" }, [
        'docker swarm join-token --rotate -q worker >/dev/null || fail "cannot rotate the worker join token"',
        'docker swarm join-token --rotate -q manager >/dev/null || fail "cannot rotate the manager join token"',
    ]);
}

export interface JoinArgs {
    host: string;
    advertiseAddress: string;
    /** Private addresses of the managers to join through, first the leader. */
    managerAddresses: string[];
}

/**
 * Joins the node as a worker (managers are promoted afterwards, one at a time) with the token read from stdin.
 * A node already in this swarm is left alone; one in another swarm, or stuck pending, leaves it first.
 * Prints the node ID.
 */
export function renderJoin(args: JoinArgs): string {
    const remotes = args.managerAddresses.map((a) => `${a}:2377`).join(" ");
    return script({ host: args.host, step: "join" }, [
        // The token arrives on stdin so that it never appears in the command line, the state's script or a log.
        "token=$(cat)",
        '[ -n "$token" ] || fail "no join token on stdin"',
        `ours=${shellQuote(remotes)}`,
        "in_our_swarm() {",
        `  for remote in $(docker info --format '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}'); do`,
        '    case " $ours " in *" $remote "*) return 0 ;; esac',
        "  done",
        "  return 1",
        "}",
        "state=$(swarm_state)",
        'if [ "$state" = pending ]; then',
        // A join that timed out goes on in the background; give it a chance before starting over.
        "  i=0",
        `  while [ "$(swarm_state)" = pending ] && [ "$i" -lt 30 ]; do i=$((i + 1)); sleep 1; done`,
        "  state=$(swarm_state)",
        "fi",
        'if [ "$state" = active ] && ! in_our_swarm; then',
        '  log "member of another swarm: leaving it"',
        '  docker swarm leave --force >/dev/null || fail "docker swarm leave failed"',
        "  state=inactive",
        "fi",
        'if [ "$state" = pending ] || [ "$state" = error ]; then',
        '  docker swarm leave --force >/dev/null 2>&1 || true',
        "  state=inactive",
        "fi",
        'if [ "$state" = inactive ]; then',
        "  joined=false",
        `  for remote in $ours; do`,
        `    if out=$(docker swarm join --token "$token" --advertise-addr ${shellQuote(args.advertiseAddress)} "$remote" 2>&1); then joined=true; break; fi`,
        '    log "join through $remote refused: $out"',
        "  done",
        `  [ "$joined" = true ] || fail "every manager refused the join (${remotes}); is 2377/tcp open between the nodes?"`,
        'elif [ "$state" = locked ]; then',
        '  fail "this node is locked: unlock it with npm run unlock, then run pulumi up again"',
        "fi",
        "docker info --format '{{.Swarm.NodeID}}'",
    ]);
}

/**
 * On the node itself when it is removed from the config, after the leader removed its entry: leaves the swarm.
 * A node whose entry is already gone may time out leaving (its raft peers are gone); that is retried, then
 * reported and accepted, since the join step clears any stale swarm state before a node joins again.
 */
export function renderLeave(args: { host: string }): string {
    return script({ host: args.host, step: "leave" }, [
        '[ "$(swarm_state)" != inactive ] || exit 0',
        "for attempt in 1 2 3; do",
        "  docker swarm leave --force >/dev/null 2>&1 && exit 0",
        '  [ "$(swarm_state)" = inactive ] && exit 0',
        "  sleep 2",
        "done",
        'log "docker swarm leave did not finish; the leader already removed this node, its local swarm state stays until the next join"',
    ]);
}

export interface MemberArgs {
    /** Host whose manager runs the script (the leader). */
    leader: string;
    /** The node being registered. */
    host: string;
    role: "manager" | "worker";
    /** Swarm node ID, printed by the join step. */
    nodeId: string;
}

/**
 * On the leader, after a node joined: promotes a manager and waits until it is Reachable, or waits until a
 * worker is Ready; then removes stale entries of earlier machines of the same host name that are Down.
 */
export function renderMember(args: MemberArgs): string {
    const id = shellQuote(args.nodeId);
    const body = [
        `id=${id}`,
        `docker node inspect "$id" >/dev/null 2>&1 || fail "node $id (${args.host}) is not in the swarm"`,
        "hostname=$(docker node inspect --format '{{.Description.Hostname}}' \"$id\")",
    ];
    if (args.role === "manager") {
        body.push(
            `if [ "$(docker node inspect --format '{{.Spec.Role}}' "$id")" != manager ]; then`,
            `  retry docker node promote "$id" >/dev/null || fail "docker node promote ${args.host} failed"`,
            "fi",
            "i=0",
            `until [ "$(docker node inspect --format '{{if .ManagerStatus}}{{.ManagerStatus.Reachability}}{{end}}' "$id")" = reachable ]; do`,
            "  i=$((i + 1))",
            `  [ "$i" -lt ${NODE_READY_TIMEOUT * POLLS_PER_SECOND} ] || fail "${args.host} is not a reachable manager after ${NODE_READY_TIMEOUT} s"`,
            `  sleep ${1 / POLLS_PER_SECOND}`,
            "done",
        );
    } else {
        body.push(
            `if [ "$(docker node inspect --format '{{.Spec.Role}}' "$id")" = manager ]; then`,
            `  retry docker node demote "$id" >/dev/null || fail "docker node demote ${args.host} failed"`,
            "fi",
            "i=0",
            `until [ "$(docker node inspect --format '{{.Status.State}}' "$id")" = ready ]; do`,
            "  i=$((i + 1))",
            `  [ "$i" -lt ${NODE_READY_TIMEOUT * POLLS_PER_SECOND} ] || fail "${args.host} is not ready after ${NODE_READY_TIMEOUT} s"`,
            `  sleep ${1 / POLLS_PER_SECOND}`,
            "done",
        );
    }
    body.push(
        // A machine replaced under the same name leaves its old entry Down: remove it, never the live one.
        `for stale in $(docker node ls --filter "name=$hostname" --format '{{.ID}} {{.Hostname}} {{.Status}}' | awk -v h="$hostname" -v id="$id" '$2 == h && $3 == "Down" && $1 != id { print $1 }'); do`,
        '  log "removing stale node entry $stale of $hostname"',
        '  docker node demote "$stale" >/dev/null 2>&1 || true',
        '  docker node rm --force "$stale" >/dev/null || fail "docker node rm $stale failed"',
        "done",
    );
    return script({ host: args.leader, step: `register ${args.host}` }, body);
}

/**
 * On the leader when a node goes: a manager is demoted first (so quorum is recomputed before it leaves), then
 * the entry is removed, so no Down ghost stays behind.
 */
export function renderRemoveMember(args: MemberArgs): string {
    return script({ host: args.leader, step: `remove ${args.host}` }, [
        `id=${shellQuote(args.nodeId)}`,
        'docker node inspect "$id" >/dev/null 2>&1 || exit 0',
        // The manager the kit operates through never demotes itself (it would lose the control socket half-way);
        // it goes last, when the whole swarm is destroyed, by leaving.
        `if [ "$(docker info --format '{{.Swarm.NodeID}}')" = "$id" ]; then log "${args.host} runs this step itself: it leaves with its own leave step"; exit 0; fi`,
        `if [ "$(docker node inspect --format '{{.Spec.Role}}' "$id")" = manager ]; then`,
        `  retry docker node demote "$id" >/dev/null || fail "docker node demote ${args.host} failed"`,
        "  i=0",
        `  while docker node inspect --format '{{if .ManagerStatus}}manager{{end}}' "$id" | grep -q manager; do`,
        `    i=$((i + 1)); [ "$i" -lt ${60 * POLLS_PER_SECOND} ] || break; sleep ${1 / POLLS_PER_SECOND}`,
        "  done",
        "fi",
        `docker node rm --force "$id" >/dev/null || fail "docker node rm ${args.host} failed"`,
    ]);
}

export interface AvailabilityArgs {
    leader: string;
    /** Node IDs and the availability each should have. */
    nodes: { name: string; nodeId: string; availability: "active" | "drain" }[];
}

/** On the leader: sets each node's availability (managers drained so tasks run on workers only). */
export function renderAvailability(args: AvailabilityArgs): string {
    return script({ host: args.leader, step: "availability" }, [
        ...args.nodes.map(
            (n) =>
                `[ "$(docker node inspect --format '{{.Spec.Availability}}' ${shellQuote(n.nodeId)})" = ${n.availability} ] || ` +
                `retry docker node update --availability ${n.availability} ${shellQuote(n.nodeId)} >/dev/null || fail "cannot set ${n.name} to ${n.availability}"`,
        ),
    ]);
}
