/**
 * Shared Pulumi mocks for unit tests: records every resource the program declares, answers the few provider
 * functions the kit calls, and resolves outputs (including secretness) for assertions.
 */
import * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
    type: string;
    name: string;
    inputs: Record<string, any>;
    id: string;
}

export const resources: RecordedResource[] = [];

/** Fake outputs per resource type, computed from the inputs (e.g. a remote command's stdout). */
export type OutputFaker = (args: pulumi.runtime.MockResourceArgs) => Record<string, any> | undefined;
const fakers: OutputFaker[] = [];
export function addOutputFaker(faker: OutputFaker): void {
    fakers.push(faker);
}

export type CallFaker = (args: pulumi.runtime.MockCallArgs) => Record<string, any> | undefined;
const callFakers: CallFaker[] = [];
export function addCallFaker(faker: CallFaker): void {
    callFakers.push(faker);
}

/** Remote commands answer like the kit's scripts would: init prints ids, tokens prints JSON, join a node id. */
export function swarmStepFaker(tokens: { worker: string; manager: string; unlockKey: string }): OutputFaker {
    return (args) => {
        if (args.type !== "command:remote:Command") return undefined;
        const create = String(args.inputs.create ?? "");
        const host = /swarmkit_host='([^']+)'/.exec(create)?.[1] ?? "?";
        if (create.includes("swarmkit_step='init'")) return { stdout: JSON.stringify({ nodeId: `id-${host}`, clusterId: "cluster-1" }) };
        if (create.includes("swarmkit_step='tokens'")) return { stdout: JSON.stringify(tokens) };
        if (create.includes("swarmkit_step='join'")) return { stdout: `id-${host}\n` };
        return { stdout: "" };
    };
}

let counter = 0;

/** What a mocked tls.PrivateKey "generates": recognisably fake, different per resource. */
export function fakeKeyPair(name: string): { publicKeyOpenssh: string; privateKeyOpenssh: string; privateKeyPem: string } {
    const tag = Buffer.from(name).toString("base64").replace(/=+$/, "");
    const privateKey = `-----BEGIN FAKE TEST KEY-----\nfake-${tag}\n-----END FAKE TEST KEY-----\n`;
    return { publicKeyOpenssh: `ssh-ed25519 AAAAFakeKey${tag}\n`, privateKeyOpenssh: privateKey, privateKeyPem: privateKey };
}
export async function installMocks(config: Record<string, string> = {}): Promise<void> {
    pulumi.runtime.setAllConfig(config);
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const id = `${args.name}-id-${++counter}`;
                resources.push({ type: args.type, name: args.name, inputs: args.inputs, id });
                let outputs: Record<string, any> = { ...args.inputs };
                // Generated keys (the stack key, cloud host keys): a fake pair per resource, never a real key.
                if (args.type === "tls:index/privateKey:PrivateKey") outputs = { ...outputs, ...fakeKeyPair(args.name) };
                for (const faker of fakers) outputs = { ...outputs, ...(faker(args) ?? {}) };
                return { id, state: outputs };
            },
            call(args) {
                for (const faker of callFakers) {
                    const result = faker(args);
                    if (result) return result;
                }
                return args.inputs;
            },
        },
        "swarmkit",
        "unit",
        false,
    );
}

/** Resolves an output to its value and whether it is secret. */
export async function unwrap<T>(output: pulumi.Output<T> | pulumi.Input<T>): Promise<{ value: T; secret: boolean }> {
    const o = pulumi.output(output) as pulumi.Output<T>;
    const value = await new Promise<T>((resolve) => o.apply((v) => resolve(v as T)));
    const secret = await pulumi.isSecret(o);
    return { value, secret };
}

export function byType(type: string): RecordedResource[] {
    return resources.filter((r) => r.type === type);
}

export function byName(name: string): RecordedResource {
    const found = resources.find((r) => r.name === name);
    if (!found) throw new Error(`no resource named ${name}; have ${resources.map((r) => r.name).join(", ")}`);
    return found;
}

/** Lets pending registrations settle. */
export function settle(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, 50));
}

/** dependsOn of every child, by resource name, recorded through a transformation passed to a component. */
export const dependencies = new Map<string, string[]>();
/** Options and raw props of every child, by resource name, from the same transformation. */
export const childOptions = new Map<string, pulumi.CustomResourceOptions>();
export const childProps = new Map<string, Record<string, any>>();
const names = new WeakMap<pulumi.Resource, string>();
/** dependsOn as given, which may be a promise (a machine waiting its turn in a roll). */
const rawDependsOn = new Map<string, unknown>();

/** The names of what a child depends on, once a promised dependsOn has resolved. */
export async function resolvedDependencies(name: string): Promise<string[]> {
    const given = rawDependsOn.get(name);
    // The SDK hands a promised dependsOn to transformations as an Output.
    const deps = pulumi.Output.isInstance(given) ? await new Promise((resolve) => (given as pulumi.Output<unknown>).apply(resolve)) : await given;
    const list = (Array.isArray(deps) ? deps : deps ? [deps] : []) as pulumi.Resource[];
    return (await Promise.all(list.map(async (r) => await r))).map((r) => names.get(r) ?? "?");
}
export const recordDependencies: pulumi.ResourceTransformation = (args) => {
    names.set(args.resource, args.name);
    childOptions.set(args.name, args.opts);
    childProps.set(args.name, args.props);
    const deps = args.opts.dependsOn;
    rawDependsOn.set(args.name, deps);
    const list = (Array.isArray(deps) ? deps : deps ? [deps] : []) as pulumi.Resource[];
    dependencies.set(
        args.name,
        list.map((r) => names.get(r) ?? "?"),
    );
    return undefined;
};

/** Mocks hand inputs over with secrets still wrapped in Pulumi's secret signature. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export function isSecretValue(value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** The plain value of a mock input, secrets unwrapped (recursively). */
export function reveal(value: any): any {
    if (isSecretValue(value)) return reveal(value.value);
    if (Array.isArray(value)) return value.map(reveal);
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
    }
    return value;
}
