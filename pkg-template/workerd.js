// Cloudflare Workers (workerd) entry: the bundler or Miniflare imports the .wasm file as a
// compiled WebAssembly.Module, because workerd forbids compiling wasm from bytes at run time.
import module from "./steadfast_bg.wasm";
import { initSync } from "./steadfast.js";

initSync({ module });

export * from "./index.js";
