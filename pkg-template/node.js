// Node entry: reads the wasm file next to this module and instantiates it synchronously.
import { readFileSync } from "node:fs";
import { initSync } from "./steadfast.js";

initSync({ module: readFileSync(new URL("./steadfast_bg.wasm", import.meta.url)) });

export * from "./index.js";
