/** `swarmkit/multipass`: swarm hosts as Multipass VMs on this workstation. */
export { MultipassHosts, multipassArgsProblems } from "./hardware/multipass";
export type { MultipassHostsArgs } from "./hardware/multipass";
