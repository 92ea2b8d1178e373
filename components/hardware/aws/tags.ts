/** Tags every AWS resource of the kit carries, so a stack's resources can be found (and billed) together. */
import * as pulumi from "@pulumi/pulumi";
import { Role } from "../../host";

export type Tags = Record<string, string>;

export type Tagger = (name: string, role?: Role) => Tags;

/**
 * `Name` shows in the console, under the hosts component's stem (unique per stack and component); `swarmkit:stack`
 * groups the stack's resources.
 */
export function awsTagger(stem: string): Tagger {
    const stack = pulumi.getStack();
    return (name, role) => ({
        Name: `swarmkit-${stem}-${name}`,
        "swarmkit:stack": stack,
        ...(role !== undefined ? { "swarmkit:role": role } : {}),
    });
}
