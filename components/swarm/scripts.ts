/**
 * Pure render functions for every remote script of the swarm bootstrap. Each returns a POSIX shell script that
 * can be unit-tested as text and run alone against a host (`ssh root@host sh -s < script`).
 *
 * Rules every script follows:
 *  - idempotent: it first reads the node's or the swarm's state and only acts on a difference;
 *  - patient: it waits for dockerd after boot instead of failing;
 *  - explicit: a failure names the host and the step on stderr (and so in the step's error);
 *  - quiet about secrets: tokens and the unlock key only travel on stdin and are never printed, except by the
 *    `tokens` script, whose stdout is a Pulumi secret. No script that can fail prints a secret.
 */
import { StepContext, shellQuote, stepPrelude } from "../ssh/shell";

export { shellQuote } from "../ssh/shell";

/** Seconds to wait for dockerd to answer after boot. */
export const DOCKER_READY_TIMEOUT = 180;
/** Seconds to wait for a promoted manager to be reachable, or a node to be ready. */
export const NODE_READY_TIMEOUT = 120;
/** Seconds a join that docker timed out on (it goes on in the background) gets to complete. */
export const JOIN_PENDING_TIMEOUT = 90;
/** Polls per second while waiting on the swarm: promotions take about a second, so a whole-second poll wastes half. */
const POLLS_PER_SECOND = 5;
const POLL = 1 / POLLS_PER_SECOND;

function prelude(ctx: StepContext): string {
    return [
        ...stepPrelude(ctx),
        // Cloud images log in as a sudo-capable user; lab hosts and DigitalOcean as root.
        'if [ "$(id -u)" != 0 ]; then docker() { sudo -n docker "$@"; }; fi',
        "command -v docker >/dev/null 2>&1 || [ -x /usr/bin/docker ] || fail 'docker is not installed'",
        "wait_docker() {",
        "  i=0",
        "  until docker info >/dev/null 2>&1; do",
        "    i=$((i + 1))",
        `    [ "$i" -lt ${DOCKER_READY_TIMEOUT * POLLS_PER_SECOND} ] || fail "docker is not answering after ${DOCKER_READY_TIMEOUT} s"`,
        `    sleep ${POLL}`,
        "  done",
        "}",
        "swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}'; }",
        // Swarm updates fail for a moment and then succeed: a node update racing the node's own first updates after
        // a join ("update out of sequence"), anything needing the leader during an election ("does not have a
        // leader", a few seconds after a manager comes back). Tried for up to 15 s.
        'retry() { n=0; until "$@"; do n=$((n + 1)); [ "$n" -lt 30 ] || return 1; sleep 0.5; done; }',
        "wait_docker",
    ].join("\n");
}

/** A step script: the prelude (strict mode, `fail`/`log`, docker as root, `wait_docker` done, `swarm_state`, `retry`), then `body`. */
export function script(ctx: StepContext, body: string[]): string {
    return `${prelude(ctx)}\n${body.join("\n")}\n`;
}

export interface InitArgs {
    host: string;
    advertiseAddress: string;
    autolock: boolean;
    /** The overlay networks' address pools (`--default-addr-pool`); absent: Docker's 10.0.0.0/8. */
    defaultAddrPool?: string[];
    /** The prefix length of each overlay network taken from the pools; absent: Docker's 24. */
    defaultAddrPoolMaskLength?: number;
    /** The VXLAN port of overlay traffic; absent: Docker's 4789. */
    dataPathPort?: number;
}

/** init's options for the swarm-wide network settings, which swarm fixes at init and never changes afterwards. */
export function networkFlags(args: Pick<InitArgs, "defaultAddrPool" | "defaultAddrPoolMaskLength" | "dataPathPort">): string {
    const flags: string[] = [];
    for (const pool of args.defaultAddrPool ?? []) flags.push(`--default-addr-pool ${shellQuote(pool)}`);
    if (args.defaultAddrPoolMaskLength !== undefined) flags.push(`--default-addr-pool-mask-length ${args.defaultAddrPoolMaskLength}`);
    if (args.dataPathPort !== undefined) flags.push(`--data-path-port ${args.dataPathPort}`);
    return flags.map((f) => ` ${f}`).join("");
}

/**
 * Founds the swarm: `docker swarm init` on the first manager, unless it already is in one. It runs when the stack
 * is created and again only when no manager holds the swarm any more (every manager's machine lost its disk).
 * Prints `{"nodeId": ..., "clusterId": ...}`. The unlock key that init prints goes to /dev/null: the `tokens` step
 * reads it into a secret.
 */
export function renderInit(args: InitArgs): string {
    const addr = shellQuote(args.advertiseAddress);
    return script({ host: args.host, step: "init" }, [
        "state=$(swarm_state)",
        'case "$state" in',
        "  inactive)",
        `    docker swarm init --autolock=${args.autolock} --advertise-addr ${addr} --listen-addr ${addr}:2377${networkFlags(args)} >/dev/null \\`,
        `      || fail "docker swarm init --advertise-addr ${args.advertiseAddress} failed"`,
        "    ;;",
        "  active) ;;",
        '  locked) fail "the swarm is locked on this manager and no other manager holds it: unlock it (docker swarm unlock, with the stack\'s unlockKey output), then run pulumi up again" ;;',
        '  *) fail "unexpected swarm state $state" ;;',
        "esac",
        `[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] || fail "this node is in a swarm but is not a manager"`,
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

/**
 * Run when the cluster is destroyed on machines that outlive it (your own hosts): the node leaves the swarm, so the
 * machine is as it was before the kit. Idempotent: a node that is in no swarm is left alone. A locked manager
 * leaves too (`--force` needs no unlock).
 */
export function renderLeave(args: { host: string }): string {
    return script({ host: args.host, step: "leave" }, [
        "state=$(swarm_state)",
        'if [ "$state" != inactive ]; then',
        '  out=$(docker swarm leave --force 2>&1) || fail "docker swarm leave failed: $out"',
        "fi",
        'log "out of the swarm"',
    ]);
}

/** Rotates both join tokens (old ones stop working; joined nodes are not affected). Prints nothing. */
export function renderRotateTokens(args: TokensArgs): string {
    return script({ host: args.host, step: "rotate tokens" }, [
        'docker swarm join-token --rotate -q worker >/dev/null || fail "cannot rotate the worker join token"',
        'docker swarm join-token --rotate -q manager >/dev/null || fail "cannot rotate the manager join token"',
    ]);
}

/**
 * Rotates the unlock key: managers re-encrypt their keys with the new one, so a manager restarted afterwards
 * unlocks with the new key only. The `tokens` step reads the new key into the stack's secret. Prints nothing.
 */
export function renderRotateUnlockKey(args: TokensArgs): string {
    return script({ host: args.host, step: "rotate unlock key" }, [
        'docker swarm unlock-key --rotate -q >/dev/null || fail "cannot rotate the unlock key (is autolock on?)"',
    ]);
}

/** Seconds `docker swarm ca --rotate` is given to reach every node. */
export const CA_ROTATION_TIMEOUT = 300;

/**
 * Rotates the swarm's root CA and waits until every node holds a certificate of the new one (a node that is down
 * would keep it waiting: it gives up after CA_ROTATION_TIMEOUT s, naming the nodes still on the old CA). Prints
 * nothing.
 */
export function renderRotateCa(args: TokensArgs): string {
    return script({ host: args.host, step: "rotate CA" }, [
        `if ! out=$(timeout ${CA_ROTATION_TIMEOUT} docker swarm ca --rotate --detach=false -q 2>&1 >/dev/null); then`,
        `  behind=$(docker node ls --format '{{.Hostname}} {{.TLSStatus}}' 2>/dev/null | awk '$2 != "Ready" {print $1}' | tr '\n' ' ')`,
        '  fail "the root CA rotation did not finish within ' + CA_ROTATION_TIMEOUT + ' s (nodes still on the old CA: ${behind:-none}): $out"',
        "fi",
    ]);
}

export interface NodeStepArgs {
    host: string;
    advertiseAddress: string;
}

/** What the node step reads on stdin, one item per line. Secret as a whole: it carries the token and the key. */
export interface NodeStepInput {
    /** The worker token, or the manager token for a manager that replaces another in a roll (it joins as a manager). */
    joinToken: string;
    /** Empty when autolock is off. */
    unlockKey: string;
    /** Leave whatever swarm the node is in first: the swarm it knew is gone and a new one was formed. */
    leaveFirst: boolean;
    /** Private addresses of the managers to join through, the operating manager first. */
    managerAddresses: string[];
}

export function nodeStepInput(input: NodeStepInput): string {
    return [input.joinToken, input.unlockKey, input.leaveFirst ? "leave" : "stay", input.managerAddresses.join(" ")].join("\n") + "\n";
}

/**
 * Brings one node into the swarm, whatever state it is in: a manager that came back locked (autolock) is unlocked
 * with the stack's key; a node in another swarm, stuck pending, or told the old swarm is gone leaves first; a node
 * that is not in the swarm joins with the token it is given: the worker token (managers are promoted afterwards, one
 * at a time, by the members step), or in a roll a manager's the manager token. A node already in this swarm is left
 * alone. Reads NodeStepInput on stdin; prints the node ID.
 */
export function renderNodeStep(args: NodeStepArgs): string {
    return script({ host: args.host, step: "join" }, [
        // Token and key arrive on stdin so that they never appear in a command line, the state's script or a log.
        "IFS= read -r token || true",
        "IFS= read -r unlock_key || true",
        "IFS= read -r flags || true",
        "IFS= read -r managers || true",
        '[ -n "$token" ] || fail "no join token on stdin"',
        '[ -n "$managers" ] || fail "no manager addresses on stdin"',
        'ours=""',
        'for m in $managers; do ours="$ours $m:2377"; done',
        "in_our_swarm() {",
        `  for remote in $(docker info --format '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}'); do`,
        '    case "$ours " in *" $remote "*) return 0 ;; esac',
        "  done",
        "  return 1",
        "}",
        "state=$(swarm_state)",
        'if [ "$state" = locked ]; then',
        '  [ -n "$unlock_key" ] || fail "this manager is locked and the stack has no unlock key"',
        // printf is a shell builtin: the key goes through a pipe, never a process's arguments.
        "  printf '%s\\n' \"$unlock_key\" | docker swarm unlock >/dev/null 2>&1 || fail \"docker swarm unlock failed: the stack's unlock key does not open this manager\"",
        "  i=0",
        `  while [ "$(swarm_state)" = locked ] && [ "$i" -lt ${30 * POLLS_PER_SECOND} ]; do i=$((i + 1)); sleep ${POLL}; done`,
        "  state=$(swarm_state)",
        '  log "unlocked with the stack\'s unlock key"',
        "fi",
        'if [ "$state" = pending ]; then',
        // A join that timed out goes on in the background; give it a chance before starting over.
        "  i=0",
        `  while [ "$(swarm_state)" = pending ] && [ "$i" -lt ${30 * POLLS_PER_SECOND} ]; do i=$((i + 1)); sleep ${POLL}; done`,
        "  state=$(swarm_state)",
        "fi",
        'if [ "$flags" = leave ] && [ "$state" != inactive ]; then',
        '  log "leaving the swarm it was in: that swarm is gone"',
        '  docker swarm leave --force >/dev/null 2>&1 || fail "docker swarm leave failed"',
        "  state=inactive",
        "fi",
        'if [ "$state" = active ] && ! in_our_swarm; then',
        '  log "member of another swarm: leaving it"',
        '  docker swarm leave --force >/dev/null 2>&1 || fail "docker swarm leave failed"',
        "  state=inactive",
        "fi",
        'if [ "$state" = pending ] || [ "$state" = error ]; then',
        "  docker swarm leave --force >/dev/null 2>&1 || true",
        "  state=inactive",
        "fi",
        'if [ "$state" = inactive ]; then',
        "  joined=false",
        "  refused=''",
        "  for remote in $ours; do",
        `    if out=$(docker swarm join --token "$token" --advertise-addr ${shellQuote(args.advertiseAddress)} "$remote" 2>&1); then joined=true; break; fi`,
        // Many nodes joining at once: docker gives up waiting after a while ("Timeout was reached before node
        // joined") but the join goes on in the background. Wait for it rather than fail or start over elsewhere.
        '    if [ "$(swarm_state)" = pending ]; then',
        "      i=0",
        `      while [ "$(swarm_state)" = pending ] && [ "$i" -lt ${JOIN_PENDING_TIMEOUT * POLLS_PER_SECOND} ]; do i=$((i + 1)); sleep ${POLL}; done`,
        '      if [ "$(swarm_state)" = active ]; then joined=true; break; fi',
        "      docker swarm leave --force >/dev/null 2>&1 || true",
        "    fi",
        '    refused="$refused; $remote: $out"',
        "  done",
        `  [ "$joined" = true ] || fail "every manager refused the join (is 2377/tcp open between the nodes?)$refused"`,
        'elif [ "$state" != active ]; then',
        '  fail "unexpected swarm state $state"',
        "fi",
        "docker info --format '{{.Swarm.NodeID}}'",
    ]);
}

/**
 * `remove_entry ID WHAT MANAGER_STATUS`: takes a swarm entry out, demoting it first when it is a manager (and waiting
 * until it is one no more), so the raft group shrinks before the entry goes. WHAT names it in a failure. Shared by
 * the members step (stale and removed nodes) and the settle step (a replaced machine's entry).
 */
const REMOVE_ENTRY = [
    "remove_entry() {",
    '  if [ -n "$3" ]; then',
    '    retry docker node demote "$1" >/dev/null || fail "docker node demote $2 failed"',
    "    i=0",
    `    while docker node inspect --format '{{if .ManagerStatus}}manager{{end}}' "$1" 2>/dev/null | grep -q manager; do`,
    `      i=$((i + 1)); [ "$i" -lt ${60 * POLLS_PER_SECOND} ] || break; sleep ${POLL}`,
    "    done",
    "  fi",
    '  retry docker node rm --force "$1" >/dev/null || fail "docker node rm $2 failed"',
    "}",
];

export interface MemberNode {
    name: string;
    role: "manager" | "worker";
    /** Swarm node ID, printed by the node's join step. */
    nodeId: string;
    availability: "active" | "drain";
    /** The node labels the kit keeps on it (its own `swarmkit.*` ones and the config's). */
    labels?: Record<string, string>;
}

/** The label that lists the keys the kit set on a node, so that a key dropped from the config is removed again. */
export const MANAGED_LABELS = "swarmkit.managed";

/** Node updates the members step runs at once: enough to overlap their round trips, few enough for a small leader. */
export const NODE_UPDATES_AT_ONCE = 8;

/**
 * One `docker node inspect` of every configured node, read into `$state`: a `node ID ROLE AVAILABILITY` line per
 * node and a `label ID KEY=VALUE` line per label (label values are one line: config refuses others). The helpers
 * answer from it, so the per-node checks below cost no docker call.
 */
function memberState(ids: string[]): string[] {
    const format = "node {{.ID}} {{.Spec.Role}} {{.Spec.Availability}}{{println}}{{range $k, $v := .Spec.Labels}}label {{$.ID}} {{$k}}={{$v}}{{println}}{{end}}";
    return [
        `state=$(retry docker node inspect --format ${shellQuote(format)} ${ids.map(shellQuote).join(" ")}) || fail "cannot inspect the swarm's nodes"`,
        `field_of() { printf '%s\\n' "$state" | awk -v id="$1" -v f="$2" '$1 == "node" && $2 == id { print $f }'; }`,
        `has_label() { printf '%s\\n' "$state" | grep -qxF -- "label $1 $2"; }`,
        `has_key() { printf '%s\\n' "$state" | awk -v p="label $1 $2=" 'index($0, p) == 1 { found = 1 } END { exit !found }'; }`,
        `managed_of() { printf '%s\\n' "$state" | awk -v p="label $1 ${MANAGED_LABELS}=" 'index($0, p) == 1 { print substr($0, length(p) + 1) }' | tr ',' ' '; }`,
    ];
}

/**
 * `update_node ID NAME FLAG...`: one `docker node update` carrying every change a node needs, started in the
 * background, NODE_UPDATES_AT_ONCE at a time; `wait_updates` waits for them and collects the names of nodes whose
 * update failed in `$failed`.
 */
const NODE_UPDATES = [
    "pending_updates=''; updates_running=0; failed=''",
    "wait_updates() {",
    '  for job in $pending_updates; do wait "${job%%:*}" || failed="$failed ${job#*:}"; done',
    "  pending_updates=''; updates_running=0",
    "}",
    "update_node() {",
    "  node_id=$1; node_name=$2; shift 2",
    '  { retry docker node update "$@" "$node_id" >/dev/null || fail "cannot update $node_name: docker node update $* failed"; } &',
    '  pending_updates="$pending_updates $!:$node_name"',
    "  updates_running=$((updates_running + 1))",
    `  [ "$updates_running" -lt ${NODE_UPDATES_AT_ONCE} ] || wait_updates`,
    "}",
];

/**
 * Lines that gather, in the positional parameters, the `docker node update` flags that make a node match: its
 * availability; each wanted label missing or different; each key the kit set before (listed in MANAGED_LABELS) that
 * is no longer wanted; the managed list itself. Labels set by hand under other keys stay. Then one update if any.
 */
function nodeUpdate(node: MemberNode): string[] {
    const id = shellQuote(node.nodeId);
    const lines = ["set --", `[ "$(field_of ${id} 4)" = ${node.availability} ] || set -- "$@" --availability ${node.availability}`];
    if (node.labels) {
        const labels = node.labels;
        const keys = Object.keys(labels).sort();
        const add = (pair: string) => `has_label ${id} ${pair} || set -- "$@" --label-add ${pair}`;
        lines.push(
            ...keys.map((k) => add(shellQuote(`${k}=${labels[k]}`))),
            `for k in $(managed_of ${id}); do`,
            `  case ${shellQuote(` ${keys.join(" ")} `)} in *" $k "*) continue ;; esac`,
            `  has_key ${id} "$k" || continue`,
            '  set -- "$@" --label-rm "$k"',
            "done",
            add(shellQuote(`${MANAGED_LABELS}=${keys.join(",")}`)),
        );
    }
    lines.push(`[ "$#" -eq 0 ] || update_node ${id} ${shellQuote(node.name)} "$@"`);
    return lines;
}

/** Polls `test` until it holds, failing with `failure` after NODE_READY_TIMEOUT s; lines indented by `indent`. */
export function waitUntil(test: string, failure: string, indent = ""): string[] {
    return [
        "i=0",
        `until ${test}; do`,
        "  i=$((i + 1))",
        `  [ "$i" -lt ${NODE_READY_TIMEOUT * POLLS_PER_SECOND} ] || fail "${failure} after ${NODE_READY_TIMEOUT} s"`,
        `  sleep ${POLL}`,
        "done",
    ].map((line) => indent + line);
}

export interface MembersArgs {
    /** The manager that runs the script. */
    operator: string;
    /** Every configured node, managers in their order first. */
    nodes: MemberNode[];
    autolock: boolean;
}

/**
 * On the operating manager, after every node ran its join step: makes the swarm's member list match the config.
 *  1. autolock as configured;
 *  2. entries no configured host owns go: an earlier machine's entry under a reused name, a host removed from the
 *     config, any Down entry. A manager among them is demoted first, so the raft group shrinks before it goes.
 *     Ready nodes that do not carry one of the kit's names are left alone (and named on stderr);
 *  3. managers that are not managers yet are promoted one at a time, each waiting until it is Reachable (a manager
 *     that is down is left to the live check after `up`: waiting on it would stall the swarm's repair);
 *  4. a configured worker that is a manager is demoted;
 *  5. availability and labels: one `docker node update` per node that differs, several nodes at once.
 * Every check reads one `docker node inspect` of all the nodes, so a node already as configured costs no docker call.
 * Prints {"removed": [...]} naming what it removed.
 */
export function renderMembers(args: MembersArgs): string {
    const ids = args.nodes.map((n) => n.nodeId);
    const waitFor = (test: string, what: string, name: string) => waitUntil(test, `${name} is not ${what}`, "  ");
    const body = [
        "read -r self current <<SWARMKIT_INFO",
        "$(docker info --format '{{.Swarm.NodeID}} {{.Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers}}')",
        "SWARMKIT_INFO",
        `[ "$current" = ${args.autolock} ] || retry docker swarm update --autolock=${args.autolock} >/dev/null || fail "docker swarm update --autolock=${args.autolock} failed"`,
        `wanted=' ${ids.join(" ")} '`,
        ...REMOVE_ENTRY,
        "removed=''",
        "entries=$(retry docker node ls --format '{{.ID}} {{.Hostname}} {{.Status}} {{.ManagerStatus}}') || fail \"cannot list the swarm's nodes\"",
        "present=' '",
        "while read -r id hostname status manager_status; do",
        '  [ -n "$id" ] || continue',
        '  present="$present$id "',
        '  case "$wanted" in *" $id "*) continue ;; esac',
        '  [ "$id" != "$self" ] || continue',
        '  case "$status:$hostname" in',
        "    Down:*|*:manager-[0-9]*|*:worker-[0-9]*) ;;",
        '    *) log "leaving $hostname ($id) alone: it is not a node of this stack"; continue ;;',
        "  esac",
        '  remove_entry "$id" "$hostname ($id)" "$manager_status"',
        '  removed="$removed${removed:+,}\\"$hostname $id $status\\""',
        "done <<SWARMKIT_ENTRIES",
        "$entries",
        "SWARMKIT_ENTRIES",
    ];
    for (const n of args.nodes) {
        body.push(`case "$present" in *" ${n.nodeId} "*) ;; *) fail "node ${n.nodeId} (${n.name}) is not in the swarm" ;; esac`);
    }
    body.push(...memberState(ids));
    for (const n of args.nodes) {
        const id = shellQuote(n.nodeId);
        if (n.role === "manager") {
            body.push(
                `if [ "$(field_of ${id} 3)" != manager ]; then`,
                `  retry docker node promote ${id} >/dev/null || fail "docker node promote ${n.name} failed"`,
                ...waitFor(
                    `[ "$(docker node inspect --format '{{if .ManagerStatus}}{{.ManagerStatus.Reachability}}{{end}}' ${id})" = reachable ]`,
                    "a reachable manager",
                    n.name,
                ),
                "fi",
            );
        } else {
            body.push(
                `if [ "$(field_of ${id} 3)" = manager ]; then`,
                `  retry docker node demote ${id} >/dev/null || fail "docker node demote ${n.name} failed"`,
                "fi",
            );
        }
    }
    body.push(...NODE_UPDATES);
    for (const n of args.nodes) body.push(...nodeUpdate(n));
    body.push("wait_updates", '[ -z "$failed" ] || fail "the update of these nodes failed:$failed"');
    body.push(`printf '{"removed":[%s]}\\n' "$removed"`);
    return script({ host: args.operator, step: "members" }, body);
}

export interface SettleArgs {
    /** The node settled: the host name its entries carry. */
    host: string;
    role: "manager" | "worker";
    availability: "active" | "drain";
    /**
     * Its node ID, when the script runs on another node (a worker's settle runs on the operator). Absent: the script
     * runs on the node itself, a manager, and settles its own entry.
     */
    nodeId?: string;
    /** Where it runs: the node itself, or the operator's name. */
    runsOn: string;
}

/** Seconds the settle step gives the swarm to run the tasks of a drained entry elsewhere. */
export const TASKS_MOVED_TIMEOUT = 120;

/**
 * After a node's join step: makes its entry the one that stands for the host. A manager first waits until it is a
 * reachable manager. Every other entry under the host's name (the machine it replaces, still running, or one
 * already gone) is retired: drained when it still runs tasks, waiting until the swarm's services have their
 * replicas running again elsewhere; demoted when it is a manager, so the raft group shrinks back while every other
 * manager answers; then removed. Last, the node's own availability. Prints {"removed": [...]}.
 *
 * Run between two machines of a rolling replacement, it is what keeps the swarm whole: the next machine is only
 * made once this step is done.
 */
export function renderSettle(args: SettleArgs): string {
    const self = args.nodeId === undefined;
    const id = self ? '"$self"' : shellQuote(args.nodeId as string);
    const host = shellQuote(args.host);
    const body: string[] = [];
    if (self) {
        body.push(
            "self=$(docker info --format '{{.Swarm.NodeID}}')",
            `[ -n "$self" ] && [ "$(swarm_state)" = active ] || fail "${args.host} is not in the swarm"`,
        );
    } else {
        body.push(`docker node inspect ${id} >/dev/null 2>&1 || fail "node ${args.nodeId} (${args.host}) is not in the swarm"`);
    }
    // Ready first: a node the scheduler does not count as ready yet gets none of the tasks a drained predecessor
    // hands on, and they would all pile onto the next node to be replaced.
    body.push(...waitUntil(`[ "$(docker node inspect --format '{{.Status.State}}' ${id} 2>/dev/null)" = ready ]`, `${args.host} is not ready`));
    if (args.role === "manager") {
        body.push(
            ...waitUntil(
                `[ "$(docker node inspect --format '{{if .ManagerStatus}}{{.ManagerStatus.Reachability}}{{end}}' ${id} 2>/dev/null)" = reachable ]`,
                `${args.host} is not a reachable manager`,
            ),
        );
    }
    body.push(
        // Replicated services with fewer tasks running than wanted, counting only tasks meant to run (a drained
        // node's tasks are meant to stop): while any, a drained entry's tasks have not found their new node yet.
        "unconverged() {",
        "  n=0",
        "  for s in $(docker service ls --filter mode=replicated -q 2>/dev/null); do",
        `    want=$(docker service inspect --format '{{.Spec.Mode.Replicated.Replicas}}' "$s" 2>/dev/null) || continue`,
        `    have=$(docker service ps "$s" --filter desired-state=running --format '{{.CurrentState}}' 2>/dev/null | grep -c '^Running' || true)`,
        '    [ "$have" -ge "$want" ] || n=$((n + 1))',
        "  done",
        '  echo "$n"',
        "}",
        // Tasks of the entry still running: drained, they stop a moment later.
        `still_running() { docker node ps "$1" --format '{{.CurrentState}}' 2>/dev/null | grep -q '^Running'; }`,
        ...REMOVE_ENTRY,
        "removed=''",
        "entries=$(retry docker node ls --format '{{.ID}} {{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}') || fail \"cannot list the swarm's nodes\"",
        "while read -r old hostname status availability manager_status; do",
        `  [ "$hostname" = ${host} ] && [ "$old" != ${id} ] || continue`,
        '  if [ "$status" = Ready ] && [ "$availability" != Drain ]; then',
        '    retry docker node update --availability drain "$old" >/dev/null || fail "cannot drain the old entry $old"',
        "    i=0",
        `    while still_running "$old" || [ "$(unconverged)" != 0 ]; do`,
        `      i=$((i + 1)); [ "$i" -lt ${TASKS_MOVED_TIMEOUT * POLLS_PER_SECOND} ] || { log "the tasks of the old entry $old did not all run elsewhere within ${TASKS_MOVED_TIMEOUT} s"; break; }`,
        `      sleep ${POLL}`,
        "    done",
        "  fi",
        '  remove_entry "$old" "of the old entry $old" "$manager_status"',
        '  log "retired the old entry $old ($status)"',
        '  removed="$removed${removed:+,}\\"$old $status\\""',
        "done <<SWARMKIT_ENTRIES",
        "$entries",
        "SWARMKIT_ENTRIES",
        `[ "$(docker node inspect --format '{{.Spec.Availability}}' ${id})" = ${args.availability} ] || ` +
            `retry docker node update --availability ${args.availability} ${id} >/dev/null || fail "cannot set ${args.host} to ${args.availability}"`,
        `printf '{"removed":[%s]}\n' "$removed"`,
    );
    return script({ host: args.runsOn, step: `settle ${args.host}` }, body);
}

/** Seconds a read gives docker: a manager cut off from the leader would otherwise hang `docker node ls`. */
const READ_TIMEOUT = 10;

/**
 * The observation's read (components/swarm/observe.ts): one line `SWARM <json of docker info's .Swarm>` ("SWARM
 * null" when docker does not answer), then, with `listNodes` and on a manager that can act for the swarm,
 * `NODE <json>` per node. Read-only, and bounded in time.
 */
export function renderRead(listNodes = true): string {
    return [
        "#!/bin/sh",
        'if [ "$(id -u)" = 0 ]; then docker() { timeout ' + READ_TIMEOUT + ' docker "$@"; }; else docker() { sudo -n timeout ' + READ_TIMEOUT + ' docker "$@"; }; fi',
        "info=$(docker info --format '{{json .Swarm}}' 2>/dev/null) || info=null",
        'echo "SWARM $info"',
        ...(listNodes
            ? ['case "$info" in', `  *'"ControlAvailable":true'*) docker node ls --format 'NODE {{json .}}' 2>/dev/null || true ;;`, "esac"]
            : []),
        "",
    ].join("\n");
}
