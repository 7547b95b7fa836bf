/** `deno task sync:imports`: writes each function's deno.json from the root import map. */
import { writeFunctionConfigs } from "./lib/function_import_maps.ts";

for (const path of await writeFunctionConfigs()) console.log(`wrote ${path}`);
