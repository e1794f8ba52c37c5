// Runs worker.js in workerd through Miniflare and checks what it observed, and what the chaos
// server logged, for calls made through faults. The worker is bundled with esbuild under the
// conditions wrangler uses (workerd, worker, browser), so it gets the package's workerd
// export, which imports the .wasm file as a compiled module.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chaosUrl, requestLog, scenario, sleep } from "../js/chaos.js";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const tools = createRequire(here("../../.tools/node/package.json"));
const esbuild = tools("esbuild");
const { Miniflare } = await import(pathToFileURL(tools.resolve("miniflare")).href);

const base = chaosUrl();
const outdir = here("../../target/workers");
let miniflare;
let workerdPids = [];

/** Returns the PIDs of this process's child processes, from /proc. */
function childPids() {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === process.pid) pids.push(Number(entry));
    } catch {
      // The process ended while the list was read.
    }
  }
  return pids;
}

function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  await esbuild.build({
    entryPoints: [here("worker.js")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    loader: { ".wasm": "copy" },
    assetNames: "[name]",
    outdir,
    logLevel: "warning",
  });
  const before = new Set(childPids());
  miniflare = new Miniflare({
    modules: true,
    scriptPath: `${outdir}/worker.js`,
    modulesRoot: outdir,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-04-01",
    // A service binding implemented in Node: it forwards the worker's request to the chaos
    // server and marks it, standing in for another Worker behind a binding.
    serviceBindings: {
      async UPSTREAM(request) {
        const headers = new Headers(request.headers);
        headers.set("x-via", "service-binding");
        return fetch(request.url, { method: request.method, headers });
      },
    },
  });
  await miniflare.ready;
  workerdPids = childPids().filter((pid) => !before.has(pid));
  assert.ok(workerdPids.length > 0, "Miniflare started no workerd process");
});

after(async () => {
  await miniflare?.dispose();
  for (const pid of workerdPids) {
    for (let i = 0; i < 50 && isRunning(pid); i++) await sleep(20);
    if (isRunning(pid)) process.kill(pid, "SIGKILL");
  }
});

/** Runs one case in the worker and returns its JSON result. */
async function run(name, url) {
  const response = await miniflare.dispatchFetch("http://worker.test/", {
    method: "POST",
    body: JSON.stringify({ case: name, url }),
  });
  const result = await response.json();
  assert.equal(response.status, 200, JSON.stringify(result));
  return result;
}

test("worker retries a 503 with one request id", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { status: 502 }, { body: { text: "worker ok" } }]);
  const result = await run("retry", url);
  assert.equal(result.status, 200);
  assert.equal(result.text, "worker ok");
  assert.equal(result.attempts, 3);
  assert.equal(result.headerRequestId, result.requestId);
  const ids = (await requestLog(base, id)).map((entry) => entry.header("x-request-id"));
  assert.deepEqual(ids, [result.requestId, result.requestId, result.requestId]);
});

test("worker waits for Retry-After", async () => {
  const { id, url } = await scenario(base, [
    { status: 503, retry_after: { secs: 1, form: "imf" } },
    { body: { text: "ok" } },
  ]);
  const result = await run("retryAfter", url);
  assert.equal(result.status, 200);
  const log = await requestLog(base, id);
  assert.equal(log.length, 2);
  const gap = log[1].received_ms - log[0].received_ms;
  assert.ok(gap >= 900, `second attempt ${gap} ms after the first`);
  assert.ok(gap < 3000, `second attempt ${gap} ms after the first`);
});

test("worker returns a day-long Retry-After at once", async () => {
  const { id, url } = await scenario(base, [{ status: 503, headers: [["Retry-After", "86400"]] }]);
  const result = await run("tooLong", url);
  assert.equal(result.thrown, true);
  assert.equal(result.isHTTPError, true);
  assert.equal(result.retryAfter, 86_400_000);
  assert.equal(result.attempts, 1);
  assert.equal((await requestLog(base, id)).length, 1);
});

test("worker abort during sleep sends nothing more", async () => {
  const { id, url } = await scenario(base, [
    { status: 503, retry_after: { secs: 2, form: "delta" } },
    { body: { text: "never" } },
  ]);
  const result = await run("abortSleep", url);
  assert.equal(result.rejected, true);
  assert.equal(result.isReason, true);
  await sleep(2300);
  assert.equal((await requestLog(base, id)).length, 1);
});

test("worker POST without key is not retried", async () => {
  const { id, url } = await scenario(base, [{ status: 502 }, { body: { text: "ok" } }]);
  const result = await run("postWithoutKey", url);
  assert.equal(result.status, 502);
  assert.equal(result.attempts, 1);
  assert.equal((await requestLog(base, id)).length, 1);
});

test("worker auto key is identical on all attempts", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { status: 503 }, { body: { text: "ok" } }]);
  const result = await run("postAutoKey", url);
  assert.equal(result.status, 200);
  const keys = (await requestLog(base, id)).map((entry) => entry.header("idempotency-key"));
  assert.equal(keys.length, 3);
  assert.ok(keys[0]);
  assert.deepEqual(keys, [keys[0], keys[0], keys[0]]);
});

test("worker PUT body is identical on every attempt", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { body: "echo" }]);
  const result = await run("putBytes", url);
  assert.equal(result.status, 200);
  const log = await requestLog(base, id);
  assert.equal(log.length, 2);
  assert.equal(log[0].body_len, 4096);
  assert.equal(log[1].body_len, 4096);
  assert.equal(log[0].body_fnv64, log[1].body_fnv64);
});

test("worker resumes a dropped download exactly", async () => {
  const { id, url } = await scenario(base, [
    { body: { pattern: 150_000 }, ranges: true, reset_after_bytes: 60_000 },
    { body: { pattern: 150_000 }, ranges: true },
  ]);
  const result = await run("resume", url);
  assert.equal(result.length, 150_000);
  assert.equal(result.wrong, -1);
  const log = await requestLog(base, id);
  assert.equal(log.length, 2);
  assert.match(log[1].header("range") ?? "", /^bytes=\d+-$/);
});

test("worker read timeout fails a stalled body", async () => {
  const { url } = await scenario(base, [{ body: { text: '{"a":1}' }, stall_after_bytes: 1, stall_ms: 3000 }]);
  const result = await run("readTimeout", url);
  assert.equal(result.thrown, true);
  assert.equal(result.isTimeout, true);
  assert.equal(result.phase, "read");
});

test("worker rejects CR/LF headers unsent", async () => {
  const { id, url } = await scenario(base, [{ body: { text: "ok" } }]);
  const result = await run("headerInjection", url);
  assert.equal(result.thrown, true);
  assert.equal(result.isTypeError, true);
  assert.equal((await requestLog(base, id)).length, 0);
});

test("worker fetch option uses a service binding", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { body: { text: "bound" } }]);
  const result = await run("serviceBinding", url);
  assert.equal(result.status, 200);
  assert.equal(result.text, "bound");
  assert.equal(result.attempts, 2);
  const log = await requestLog(base, id);
  assert.deepEqual(log.map((entry) => entry.header("x-via")), ["service-binding", "service-binding"]);
  assert.equal(log[0].header("x-request-id"), log[1].header("x-request-id"));
});

test("worker validates options", async () => {
  const result = await run("invalidOption");
  assert.equal(result.thrown, true);
  assert.equal(result.isTypeError, true);
  assert.match(result.message, /retry\.limit: 1\.5/);
});
