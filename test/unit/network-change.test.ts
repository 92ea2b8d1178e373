/** A live swarm is never rolled into another network: the change is refused before anything is declared (pure). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../components/config";
import { machineNetwork, networkChange } from "../../components/networkChange";
import { previousDeployment } from "./roll";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUnitTestKeyNotARealOne unit";
const digitalocean = (extra: Record<string, string> = {}) => {
    const raw: Record<string, string> = {
        "swarmkit:provider": "digitalocean",
        "swarmkit:region": "fra1",
        "swarmkit:adminCidr": "198.51.100.0/24",
        "swarmkit:sshPublicKey": KEY,
        "swarmkit:sshPrivateKey": "not a key",
        ...extra,
    };
    return parseConfig((k) => raw[k]);
};
const deployedIn = (network: string) => previousDeployment([{ name: "manager-1", role: "manager", machineSpec: JSON.stringify({ network, size: "s-1vcpu-2gb" }) }]);

describe("a change of the machines' network", () => {
    it("is refused on a live stack, naming both networks and what to do", () => {
        const message = networkChange(digitalocean({ "swarmkit:vpcCidr": "10.44.0.0/20" }), deployedIn("fra1 10.43.0.0/20"));
        assert.match(message ?? "", /network would change from fra1 10\.43\.0\.0\/20 to fra1 10\.44\.0\.0\/20: a live swarm cannot be moved/);
        assert.match(message ?? "", /pulumi destroy and then pulumi up/);
        assert.match(networkChange(digitalocean({ "swarmkit:vpcId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" }), deployedIn("fra1 10.43.0.0/20")) ?? "", /to fra1 0f1e2d3c/);
    });

    it("passes when the network stays, on a new stack, and for stacks whose specs predate networks", () => {
        assert.equal(networkChange(digitalocean(), deployedIn("fra1 10.43.0.0/20")), undefined);
        assert.equal(networkChange(digitalocean({ "swarmkit:vpcCidr": "10.44.0.0/20" }), undefined), undefined);
        const old = previousDeployment([{ name: "manager-1", role: "manager", machineSpec: '{"size":"s-1vcpu-2gb"}' }]);
        assert.equal(networkChange(digitalocean({ "swarmkit:vpcCidr": "10.44.0.0/20" }), old), undefined);
        assert.equal(machineNetwork(digitalocean()), "fra1 10.43.0.0/20");
        assert.match(networkChange(digitalocean({ "swarmkit:region": "ams3" }), deployedIn("fra1 10.43.0.0/20")) ?? "", /to ams3 10\.43/, "another region is another VPC");
    });
});
