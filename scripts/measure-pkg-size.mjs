// Measures the browser build of the npm package in pkg/, raw, gzip -9 and brotli -q 11: the
// .wasm module, and the JavaScript a bundler ships. That JavaScript is the browser entry with
// the wasm-bindgen glue and the client layer, bundled and minified by esbuild. Prints a
// Markdown table, and with --write replaces the "## Package size" section of BENCHMARKS.md.
//
// Usage: node scripts/measure-pkg-size.mjs [--write]   (after `make pkg`)
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tools = createRequire(`${root}.tools/node/package.json`);
const esbuild = tools("esbuild");
const BUDGET_GZIP = 24 * 1024;

function sizes(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length,
  };
}

async function minified(entry) {
  const result = await esbuild.build({
    entryPoints: [`${root}pkg/${entry}`],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "error",
  });
  return Buffer.from(result.outputFiles[0].contents);
}

const wasm = sizes(readFileSync(`${root}pkg/steadfast_bg.wasm`));
const js = sizes(await minified("browser.js"));
const glue = sizes(await minified("steadfast.js"));
const total = { raw: wasm.raw + js.raw, gzip: wasm.gzip + js.gzip, brotli: wasm.brotli + js.brotli };

const kb = (n) => (n / 1024).toFixed(1);
const row = (name, s) => `| ${name} | ${s.raw} (${kb(s.raw)} KiB) | ${s.gzip} (${kb(s.gzip)} KiB) | ${s.brotli} (${kb(s.brotli)} KiB) |`;
const verdict = total.gzip <= BUDGET_GZIP ? "within" : "over";
const table = [
  "| part | raw bytes | gzip -9 | brotli -q 11 |",
  "| --- | --- | --- | --- |",
  row("`steadfast_bg.wasm` (wasm-opt -Oz)", wasm),
  row("JavaScript a bundler ships: `browser.js` bundled, minified", js),
  row("of which the wasm-bindgen glue `steadfast.js`, minified", glue),
  row("**total: wasm + minified JavaScript**", total),
].join("\n");
const section = `## Package size

The browser build of the npm package, as \`make pkg\` leaves it in \`pkg/\`, measured by
\`node scripts/measure-pkg-size.mjs\` (esbuild 0.28.2 minifies, Node's zlib compresses).
Budget: wasm + minified JavaScript at most 24 KiB gzip; this build is **${verdict}** it at
${kb(total.gzip)} KiB.

${table}

Reproduce with \`make pkg && node scripts/measure-pkg-size.mjs --write\`. To see what the
module is made of, rank its functions by crate with \`scripts/wasm-size-by-crate.py\` (its
help shows how to keep the name section).
`;

console.log(section);
if (process.argv.includes("--write")) {
  const path = `${root}BENCHMARKS.md`;
  let text = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n";
  const start = text.indexOf("## Package size");
  if (start < 0) {
    text = `${text.trimEnd()}\n\n${section}`;
  } else {
    const next = text.indexOf("\n## ", start + 3);
    text = text.slice(0, start) + section + (next < 0 ? "" : text.slice(next + 1));
  }
  writeFileSync(path, text);
}
