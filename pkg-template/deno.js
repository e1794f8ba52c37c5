// Deno entry: reads the wasm file next to this module (needs --allow-read for it) and
// instantiates it synchronously.
import { initSync } from "./steadfast.js";

initSync({ module: Deno.readFileSync(new URL("./steadfast_bg.wasm", import.meta.url)) });

export * from "./index.js";
