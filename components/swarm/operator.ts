/**
 * Picks the manager that runs the leader-side steps (tokens, promotions, registrations, availability): the first
 * manager, unless it cannot act for the swarm right now (its dockerd stopped, its machine gone), in which case the
 * first manager that can. So a lost leader does not block the next `pulumi up`; when all is well the choice is
 * the first manager and nothing in the plan changes.
 */
import { Client } from "ssh2";

export interface ProbeTarget {
    host: string;
    port: number;
    user: string;
    privateKey: string;
}

/** Answers whether a manager can act for the swarm now. Injected in tests. */
export type ManagerProbe = (target: ProbeTarget) => Promise<boolean>;

const PROBE = "docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'";

/** Probes over SSH (ssh2, in-process): `docker info` must say "active true". */
export const sshManagerProbe: ManagerProbe = (target) =>
    new Promise((resolve) => {
        const client = new Client();
        let output = "";
        const done = (ok: boolean) => {
            client.end();
            resolve(ok);
        };
        const timer = setTimeout(() => done(false), 8000);
        client
            .on("ready", () => {
                const command = target.user === "root" ? PROBE : `sudo -n ${PROBE}`;
                client.exec(command, (err, stream) => {
                    if (err) return done(false);
                    stream.on("data", (d: Buffer) => (output += d.toString()));
                    stream.stderr.on("data", () => undefined);
                    stream.on("close", () => {
                        clearTimeout(timer);
                        done(output.trim() === "active true");
                    });
                });
            })
            .on("error", () => {
                clearTimeout(timer);
                done(false);
            })
            .connect({ host: target.host, port: target.port, username: target.user, privateKey: target.privateKey, readyTimeout: 5000 });
    });

/**
 * Index of the manager to operate through: the first that the probe accepts, tried in order (usually only the
 * first is asked). When none answers (a new swarm not initialised yet, or all down) it is the first manager,
 * whose steps then fail naming it.
 */
export async function chooseOperator(targets: ProbeTarget[], probe: ManagerProbe): Promise<number> {
    for (let i = 0; i < targets.length; i++) {
        if (await probe(targets[i])) return i;
    }
    return 0;
}
