// Browser and bundler entry: the wasm file is fetched and compiled on the first call, so the
// import itself needs no top-level await. `new URL(…, import.meta.url)` lets bundlers such as
// Vite and webpack find the file and copy it into the build.
import init from "./steadfast.js";
import { setLoader } from "./client.js";

setLoader(() => init({ module_or_path: new URL("./steadfast_bg.wasm", import.meta.url) }));

export * from "./index.js";
