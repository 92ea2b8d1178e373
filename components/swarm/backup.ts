/**
 * Backup and restore of a swarm's raft state, and recovery from lost quorum, as functions a program or a script
 * calls (the kit's `npm run backup|restore|recover` are scripts/backup.ts).
 *
 * A backup is taken from a follower manager (its engine stopped for a moment, so that the state on disk is
 * consistent; never the leader, never when stopping it would cost quorum) and sealed on this machine with
 * AES-256-GCM under a key of the caller's (the kit keeps it as the stack secret `swarmkit:backupKey`). The sealed
 * file carries the unlock key current at backup time: a restore needs it to open the node key, and rewrites that
 * key so that the restored manager starts unlocked, without a leader, ready for `docker swarm init
 * --force-new-cluster` (components/swarm/stateUnlock.ts says why this is the only way with autolock).
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { ProbeResult, ProbeTarget, probe } from "../ssh/probe";
import { Prober, parseRead } from "./observe";
import { renderRead } from "./scripts";
import { renderBackup, renderReadNodeKey, renderRestore, restoreInput } from "./backupScripts";
import { isLockedSwarmKey, unlockSwarmKey } from "./stateUnlock";

export const BACKUP_FORMAT = "swarmkit-swarm-backup/1";

/** A manager the functions may act on: how to reach it, and the address it advertises. */
export interface ManagerTarget extends ProbeTarget {
    privateAddress: string;
}

/** What a backup says about itself, in the clear (and bound to the sealed part: it cannot be changed unnoticed). */
export interface BackupHeader {
    format: typeof BACKUP_FORMAT;
    /** The manager it was taken from. */
    host: string;
    /**
     * The address that manager advertised: swarm keeps it in the raft state as the manager's address, and a restore
     * re-forms the swarm on a manager at that address only (elsewhere, joining managers would look for the leader
     * there).
     */
    address: string;
    nodeId: string;
    clusterId: string;
    createdAt: string;
    /** A label of the caller's, e.g. the stack's name. */
    label?: string;
}

/** The sealed part. Secret as a whole. */
export interface BackupPayload {
    /** The unlock key at backup time ("" without autolock). */
    unlockKey: string;
    /** certificates/swarm-node.key as it was on disk. */
    nodeKey: string;
    /** tar.gz of <DockerRootDir>/swarm. */
    archive: Buffer;
}

export class BackupError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "BackupError";
    }
}

/** A fresh backup key: 32 random bytes, base64. */
export function newBackupKey(): string {
    return randomBytes(32).toString("base64");
}

function keyBytes(key: string): Buffer {
    const bytes = Buffer.from(key, "base64");
    if (bytes.length !== 32) throw new BackupError("the backup key must be 32 bytes, base64-encoded");
    return bytes;
}

/** header line (JSON) \n iv(12) tag(16) ciphertext; the header line is the cipher's additional data. */
export function sealBackup(header: BackupHeader, payload: BackupPayload, key: string): Buffer {
    const headerLine = Buffer.from(`${JSON.stringify(header)}\n`);
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", keyBytes(key), iv);
    cipher.setAAD(headerLine);
    const plain = Buffer.from(JSON.stringify({ unlockKey: payload.unlockKey, nodeKey: payload.nodeKey, archive: payload.archive.toString("base64") }));
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([headerLine, iv, cipher.getAuthTag(), sealed]);
}

/** The header alone: readable without the key. */
export function backupHeader(file: Buffer): BackupHeader {
    const end = file.indexOf(0x0a);
    if (end < 0) throw new BackupError("not a swarmkit backup: no header");
    let header: BackupHeader;
    try {
        header = JSON.parse(file.subarray(0, end).toString()) as BackupHeader;
    } catch {
        throw new BackupError("not a swarmkit backup: its header is not JSON");
    }
    if (header.format !== BACKUP_FORMAT) throw new BackupError(`not a swarmkit backup of format ${BACKUP_FORMAT} (found ${JSON.stringify(header.format)})`);
    return header;
}

export function openBackup(file: Buffer, key: string): { header: BackupHeader; payload: BackupPayload } {
    const header = backupHeader(file);
    const end = file.indexOf(0x0a) + 1;
    const iv = file.subarray(end, end + 12);
    const tag = file.subarray(end + 12, end + 28);
    const decipher = createDecipheriv("aes-256-gcm", keyBytes(key), iv);
    decipher.setAAD(file.subarray(0, end));
    decipher.setAuthTag(tag);
    let plain: Buffer;
    try {
        plain = Buffer.concat([decipher.update(file.subarray(end + 28)), decipher.final()]);
    } catch {
        throw new BackupError("the backup does not open with this key, or it was changed after it was made");
    }
    const p = JSON.parse(plain.toString()) as { unlockKey: string; nodeKey: string; archive: string };
    return { header, payload: { unlockKey: p.unlockKey, nodeKey: p.nodeKey, archive: Buffer.from(p.archive, "base64") } };
}

/** A step's failure as the script said it (it names the host and the step), or how SSH failed. */
function stepFailure(target: ManagerTarget, step: string, r: ProbeResult): string {
    if (r.kind === "hostKeyMismatch") return `${target.name}: its SSH host key changed (pinned ${r.expected}, presents ${r.presented}): nothing was sent to it`;
    if (r.kind === "unreachable") return `${target.name}: ${step}: unreachable over SSH (${r.error})`;
    return (r.stderr ?? "").trim().split("\n").filter((l) => l.startsWith("swarmkit:")).pop() ?? `${target.name}: ${step} exited ${r.code}: ${(r.stderr ?? "").trim()}`;
}

interface ManagerView {
    target: ManagerTarget;
    /** SSH answered (docker may not have: a manager without a leader can take longer than a read allows). */
    reachable: boolean;
    state?: string;
    nodeId?: string;
    clusterId?: string;
    controlAvailable?: boolean;
    nodes?: { id: string; managerStatus: string; status: string }[];
}

async function look(managers: ManagerTarget[], prober: Prober): Promise<ManagerView[]> {
    return Promise.all(
        managers.map(async (target) => {
            const r = await prober(target, renderRead(true));
            if (r.kind !== "ok") return { target, reachable: false };
            const { local, nodes } = parseRead(r.stdout);
            return { target, reachable: true, state: local.state, nodeId: local.nodeId, clusterId: local.clusterId, controlAvailable: local.controlAvailable, nodes };
        }),
    );
}

const STEP_TIMEOUT_MS = 5 * 60 * 1000;

/**
 * Takes a backup from a follower manager (the last one in the list that is a Ready, Reachable follower), sealed with
 * `key`. Throws a BackupError naming the host and the reason when no manager may be stopped.
 */
export async function backupSwarm(args: { managers: ManagerTarget[]; unlockKey: string; key: string; label?: string; prober?: Prober }): Promise<{ header: BackupHeader; file: Buffer }> {
    const prober = args.prober ?? probe;
    const views = await look(args.managers, prober);
    const lister = views.find((v) => v.controlAvailable && v.nodes);
    if (!lister?.nodes) throw new BackupError("no manager can list the swarm's nodes: a backup needs a swarm with a leader (restore is for one without)");
    const entry = (v: ManagerView) => lister.nodes?.find((n) => n.id === v.nodeId);
    const followers = views.filter((v) => v.state === "active" && entry(v)?.managerStatus === "Reachable" && entry(v)?.status === "Ready");
    const chosen = followers[followers.length - 1];
    if (!chosen) throw new BackupError(`no follower manager to take the backup from (${views.map((v) => `${v.target.name}: ${entry(v)?.managerStatus ?? v.state ?? "unreachable"}`).join(", ")})`);
    const r = await prober(chosen.target, renderBackup(chosen.target.name), `${args.unlockKey}\n`, { commandTimeoutMs: STEP_TIMEOUT_MS });
    if (r.kind !== "ok" || r.code !== 0) throw new BackupError(stepFailure(chosen.target, "backup", r));
    const line = (prefix: string) => r.stdout.split("\n").find((l) => l.startsWith(`${prefix} `))?.slice(prefix.length + 1);
    const address = line("ADDR") ?? "";
    const nodeKey = line("KEY");
    const archive = line("ARCHIVE");
    if (!nodeKey || !archive) throw new BackupError(`${chosen.target.name}: backup: the script printed no archive`);
    const header: BackupHeader = {
        format: BACKUP_FORMAT,
        host: chosen.target.name,
        address,
        nodeId: chosen.nodeId ?? "",
        clusterId: lister.clusterId ?? "",
        createdAt: new Date().toISOString(),
        ...(args.label ? { label: args.label } : {}),
    };
    const payload = { unlockKey: args.unlockKey, nodeKey: Buffer.from(nodeKey, "base64").toString(), archive: Buffer.from(archive, "base64") };
    return { header, file: sealBackup(header, payload, args.key) };
}

/** How long a leader that lost its peers may still answer before it steps down (raft's election timeout, and more). */
const STEP_DOWN_SECONDS = 30;

/**
 * The managers as they are once no leader answers; refuses when one still does after STEP_DOWN_SECONDS: restore
 * and recovery would split a swarm that has its quorum.
 */
async function leaderless(managers: ManagerTarget[], prober: Prober, what: string): Promise<ManagerView[]> {
    const end = Date.now() + STEP_DOWN_SECONDS * 1000;
    for (;;) {
        const views = await look(managers, prober);
        const led = views.find((v) => v.controlAvailable && v.nodes);
        if (!led) return views;
        if (Date.now() >= end) throw new BackupError(`${led.target.name} is a manager of a swarm with a leader: ${what} is for a swarm that lost its quorum (nothing was changed)`);
        await new Promise((r) => setTimeout(r, 2000));
    }
}

/**
 * Restores a backup onto one manager and re-forms the swarm around it (`--force-new-cluster`): the named `host`,
 * else the backup's own host if it answers, else the first manager whose engine answers. Afterwards the other
 * managers rejoin with the kit's normal `pulumi up`. Returns the host and its node ID.
 */
export async function restoreSwarm(args: { managers: ManagerTarget[]; file: Buffer; key: string; host?: string; autolock: boolean; prober?: Prober }): Promise<{ host: string; nodeId: string }> {
    const prober = args.prober ?? probe;
    const { header, payload } = openBackup(args.file, args.key);
    const views = await leaderless(args.managers, prober, "a restore");
    // The manager at the backup's address (see BackupHeader.address): its own host, or a machine made at its address.
    const chosen = args.host ? views.find((v) => v.target.name === args.host) : views.find((v) => v.target.privateAddress === header.address);
    if (args.host && !chosen) throw new BackupError(`no manager is named ${args.host}`);
    if (!chosen || chosen.target.privateAddress !== header.address) {
        throw new BackupError(
            `the backup was taken on ${header.host} at ${header.address}, and ${chosen ? `${chosen.target.name} is at ${chosen.target.privateAddress}` : "no manager is at that address now"}: ` +
                `swarm keeps each manager's address in its raft state, so a backup re-forms the swarm only on a manager at the address it was taken at ` +
                `(make one there, or run npm run recover on a surviving manager). Nothing was changed.`,
        );
    }
    if (!chosen.reachable) throw new BackupError(`${chosen.target.name} does not answer over SSH: nothing was changed`);
    const nodeKey = isLockedSwarmKey(payload.nodeKey) ? unlockSwarmKey(payload.nodeKey, payload.unlockKey) : payload.nodeKey;
    const input = restoreInput({ advertiseAddress: chosen.target.privateAddress, autolock: args.autolock, nodeKey, archive: payload.archive });
    const r = await prober(chosen.target, renderRestore(chosen.target.name), input, { commandTimeoutMs: STEP_TIMEOUT_MS });
    if (r.kind !== "ok" || r.code !== 0) throw new BackupError(stepFailure(chosen.target, "restore", r));
    return { host: chosen.target.name, nodeId: r.stdout.trim().split("\n").pop() ?? "" };
}

/**
 * Without a backup: re-forms the swarm around a surviving manager from its own state (the named `host`, else the
 * first active manager). Its node key is opened with `unlockKey` on this machine first (autolock: see
 * renderRestore). Returns the host and its node ID.
 */
export async function recoverSwarm(args: { managers: ManagerTarget[]; unlockKey: string; host?: string; autolock: boolean; prober?: Prober }): Promise<{ host: string; nodeId: string }> {
    const prober = args.prober ?? probe;
    const views = await leaderless(args.managers, prober, "a recovery");
    const chosen = args.host
        ? views.find((v) => v.target.name === args.host)
        : views.find((v) => v.state === "active" && v.controlAvailable) ?? views.find((v) => v.reachable && v.state === "engine-down");
    if (!chosen) throw new BackupError(args.host ? `no manager is named ${args.host}` : `no surviving manager holds the swarm's state (${views.map((v) => `${v.target.name}: ${v.state ?? "unreachable"}`).join(", ")}): restore a backup instead`);
    const read = await prober(chosen.target, renderReadNodeKey(chosen.target.name));
    const key = read.kind === "ok" && read.code === 0 ? read.stdout.split("\n").find((l) => l.startsWith("KEY "))?.slice(4) : undefined;
    if (!key) throw new BackupError(stepFailure(chosen.target, "recover", read));
    const pem = Buffer.from(key, "base64").toString();
    const nodeKey = isLockedSwarmKey(pem) ? unlockSwarmKey(pem, args.unlockKey) : pem;
    const input = restoreInput({ advertiseAddress: chosen.target.privateAddress, autolock: args.autolock, nodeKey });
    const r = await prober(chosen.target, renderRestore(chosen.target.name, "recover"), input, { commandTimeoutMs: STEP_TIMEOUT_MS });
    if (r.kind !== "ok" || r.code !== 0) throw new BackupError(stepFailure(chosen.target, "recover", r));
    return { host: chosen.target.name, nodeId: r.stdout.trim().split("\n").pop() ?? "" };
}
