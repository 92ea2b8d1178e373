/** `swarmkit/hosts`: your own machines that already run Docker, reached over SSH; destroy leaves them as they were. */
export { ExistingHosts, existingHostsProblems } from "./hardware/existing";
export type { ExistingHost, ExistingHostsArgs } from "./hardware/existing";
