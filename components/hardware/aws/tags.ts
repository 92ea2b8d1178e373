/** Tags every AWS resource of the kit carries, so a stack's resources can be found (and billed) together. */
import * as pulumi from "@pulumi/pulumi";
import { Role } from "../../host";

export type Tags = Record<string, string>;

/** `Name` shows in the console; `swarmkit:stack` groups the stack's resources. */
export function awsTags(name: string, role?: Role): Tags {
    const stack = pulumi.getStack();
    return {
        Name: `swarmkit-${stack}-${name}`,
        "swarmkit:stack": stack,
        ...(role !== undefined ? { "swarmkit:role": role } : {}),
    };
}
