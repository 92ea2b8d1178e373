/** The entry `pulumi up` runs (with a Pulumi CLI and its Node.js language host). */
import { program } from "./program";

export = program();
