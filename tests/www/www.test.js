// Loads the built demo (www/dist) in headless Chromium through playwright-core, lets it run
// its scenarios against the chaos server, and checks what the page shows. Saves a screenshot
// to target/www-screenshot.png.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chaosUrl } from "../js/chaos.js";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const tools = createRequire(here("../../.tools/node/package.json"));
const { chromium } = tools("playwright-core");

const dist = here("../../www/dist");
const screenshot = here("../../target/www-screenshot.png");
const base = chaosUrl();
// The flags keep Chromium from sending anything beyond loopback.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm" };

let server;
let pageUrl;
let context;
let profile;

before(async () => {
  statSync(join(dist, "index.html"));
  server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname));
    const file = join(dist, path === "/" ? "index.html" : path);
    try {
      const body = readFileSync(file);
      response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end("not found");
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  pageUrl = `http://127.0.0.1:${server.address().port}/`;
  profile = mkdtempSync(join(tmpdir(), "steadfast-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 1300 },
  });
});

after(async () => {
  await context?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test("demo page shows each call's attempts", async () => {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${pageUrl}?chaos=${encodeURIComponent(base)}&autorun=1`);
  await page.waitForSelector("#status[data-state=done], #status[data-state=failed]", { timeout: 30_000 });
  await page.screenshot({ path: screenshot, fullPage: true });
  assert.equal(await page.textContent("#status"), "done");
  assert.deepEqual(errors, []);

  const calls = await page.$$eval("li.call", (items) =>
    items.map((item) => ({
      title: item.querySelector("h3").textContent,
      meta: item.querySelector(".meta").textContent,
      attempts: [...item.querySelectorAll(".attempt")].map((a) => a.textContent),
      waits: [...item.querySelectorAll(".wait")].map((w) => w.textContent),
      outcome: item.querySelector(".outcome").textContent,
      done: item.dataset.done,
    })),
  );
  assert.equal(calls.length, 6);
  const [retryAfter, backoff, postNoKey, postKey, tooLong, download] = calls;

  assert.deepEqual(retryAfter.attempts, ["attempt 1: 503", "attempt 2: 200"]);
  assert.match(retryAfter.waits[0], /^waited (9\d\d|1\d{3}) ms — status 503, Retry-After: 1$/);
  assert.equal(retryAfter.done, "ok");
  assert.match(retryAfter.meta, /X-Request-ID [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/);

  assert.deepEqual(backoff.attempts, ["attempt 1: 429", "attempt 2: 500", "attempt 3: 200"]);
  assert.equal(backoff.waits.length, 2);

  assert.deepEqual(postNoKey.attempts, ["attempt 1: 502"]);
  assert.match(postNoKey.outcome, /^HTTPError: HTTP status 502 for POST .*not idempotent/);

  assert.deepEqual(postKey.attempts, ["attempt 1: 502", "attempt 2: 200"]);
  assert.match(postKey.outcome, /resolved: \{"order":17\}/);

  assert.deepEqual(tooLong.attempts, ["attempt 1: 503"]);
  assert.match(tooLong.outcome, /retryAfter 86400000 ms/);

  assert.equal(download.done, "ok");
  assert.match(download.outcome, /^2097152 of 2097152 bytes in 2 attempts, every byte exact$/);
  assert.equal(await page.getAttribute("#download-result", "data-exact"), "true");
  assert.equal(await page.$eval("#download-progress", (p) => p.value), 1);
});
