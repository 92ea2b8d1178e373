/** `swarmkit/lab`: swarm hosts made of Linux network namespaces on this machine (root; no VM, no cloud). */
export { LabHosts, labArgsProblems, defaultLabName } from "./hardware/netns";
export type { LabHostsArgs } from "./hardware/netns";
