/** The machine image: config's fixed AMI, or the newest Canonical Ubuntu 24.04 LTS (amd64, gp3) of the region. */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AwsSettings } from "../settings";

/** Canonical's AWS account, the publisher of the official Ubuntu images. */
export const CANONICAL_OWNER_ID = "099720109477";
export const UBUNTU_IMAGE_NAME = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*";
/** The user Canonical's images create and give the EC2 key pair to. */
export const UBUNTU_IMAGE_USER = "ubuntu";

export function machineImage(settings: AwsSettings, parent: pulumi.Resource): pulumi.Output<string> {
    if (settings.amiId !== undefined) return pulumi.output(settings.amiId);
    const image = aws.ec2.getAmiOutput(
        {
            owners: [CANONICAL_OWNER_ID],
            mostRecent: true,
            filters: [
                { name: "name", values: [UBUNTU_IMAGE_NAME] },
                { name: "architecture", values: ["x86_64"] },
                { name: "virtualization-type", values: ["hvm"] },
                { name: "root-device-type", values: ["ebs"] },
            ],
        },
        { parent },
    );
    return image.id;
}
