/** `swarmkit/digitalocean`: swarm hosts on DigitalOcean droplets (loads @pulumi/digitalocean). */
export { DigitalOceanHosts, digitalOceanArgsProblems } from "./hardware/digitalocean";
export type { DigitalOceanHostsArgs } from "./hardware/digitalocean";
