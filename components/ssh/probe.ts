/**
 * The kit's own SSH reads at plan time (in-process, ssh2): a handshake that checks the host key, or a handshake plus
 * one read-only command. Every connection verifies the host against its pinned key and negotiates only that key's
 * type, so a host that offers another key type cannot slip past the check.
 */
import { createHash } from "node:crypto";
import { Client } from "ssh2";

export interface ProbeTarget {
    /** Logical host name, for messages. */
    name: string;
    host: string;
    port: number;
    user: string;
    /** Secret. */
    privateKey: string;
    /** The pinned host key, an authorized_keys line ("ssh-ed25519 AAAA..."). */
    hostKey: string;
}

export type ProbeResult =
    | { kind: "ok"; stdout: string; stderr?: string; code?: number }
    | { kind: "unreachable"; error: string }
    | { kind: "hostKeyMismatch"; expected: string; presented: string };

/** OpenSSH's fingerprint of a key blob: SHA256:<base64 without padding>. */
export function fingerprint(blob: Buffer): string {
    return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

export function parseAuthorizedKey(line: string): { type: string; blob: Buffer } {
    const [type, data] = line.trim().split(/\s+/);
    if (!type || !data) throw new Error(`not an OpenSSH public key line: ${JSON.stringify(line)}`);
    return { type, blob: Buffer.from(data, "base64") };
}

const CONNECT_TIMEOUT_MS = 10000;
const COMMAND_TIMEOUT_MS = 15000;

/**
 * Connects, checks the host key, and runs `command` (or, without one, stops after the key check). `stdin` is
 * written to the command's standard input: a secret goes there, never into the command line. A handshake that
 * times out (a busy machine, not a refused one) is tried once more.
 */
export async function probe(target: ProbeTarget, command?: string, stdin?: string, options: ProbeOptions = {}): Promise<ProbeResult> {
    const first = await probeOnce(target, command, stdin, options);
    if (first.kind === "unreachable" && /timed out|no answer/i.test(first.error)) return probeOnce(target, command, stdin, options);
    return first;
}

export interface ProbeOptions {
    /** How long the command may take once connected (default 15 s: a read). Steps such as a backup take longer. */
    commandTimeoutMs?: number;
}

function probeOnce(target: ProbeTarget, command: string | undefined, stdin: string | undefined, options: ProbeOptions): Promise<ProbeResult> {
    const commandTimeoutMs = options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
    const pinned = parseAuthorizedKey(target.hostKey);
    return new Promise((resolve) => {
        const client = new Client();
        let settled = false;
        let presented: Buffer | undefined;
        const finish = (result: ProbeResult) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            client.end();
            resolve(result);
        };
        let connected = false;
        const timer = setTimeout(
            () => finish({ kind: "unreachable", error: connected ? `connected, but the command did not finish within ${commandTimeoutMs / 1000} s` : "no answer" }),
            CONNECT_TIMEOUT_MS + commandTimeoutMs,
        );
        client.on("ready", () => {
            connected = true;
            if (command === undefined) return finish({ kind: "ok", stdout: "" });
            client.exec(command, (err, stream) => {
                if (err) return finish({ kind: "unreachable", error: err.message });
                let stdout = "";
                let stderr = "";
                let code: number | undefined;
                stream.on("data", (d: Buffer) => (stdout += d.toString()));
                stream.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
                stream.on("exit", (c: number | null) => (code = c ?? undefined));
                stream.on("close", () => finish({ kind: "ok", stdout, stderr, code }));
                stream.end(stdin ?? "");
            });
        });
        client.on("error", (err: Error) => {
            if (presented && !presented.equals(pinned.blob)) {
                return finish({ kind: "hostKeyMismatch", expected: fingerprint(pinned.blob), presented: fingerprint(presented) });
            }
            finish({ kind: "unreachable", error: err.message });
        });
        client.connect({
            host: target.host,
            port: target.port,
            username: target.user,
            privateKey: target.privateKey,
            readyTimeout: CONNECT_TIMEOUT_MS,
            algorithms: { serverHostKey: [pinned.type as never] },
            hostVerifier: (key: Buffer) => {
                presented = key;
                return key.equals(pinned.blob);
            },
        });
        // Small packets each way: without this, delayed ACKs hold every exchange back by tens of milliseconds.
        client.setNoDelay(true);
    });
}
