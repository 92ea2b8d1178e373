/** Entry point for `pulumi up`: see components/program.ts. */
import { swarmkitProgram } from "./components/program";

export = swarmkitProgram();
