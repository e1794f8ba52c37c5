// Checks that Deno picks the package's "deno" export, which reads the .wasm file with
// Deno.readFileSync, and that a call works through it. The shared suites in tests/js cover
// the client's behaviour.
import assert from "node:assert/strict";
import { Client } from "steadfast";
import { chaosUrl, requestLog, scenario } from "../js/chaos.js";

Deno.test("deno export is resolved", () => {
  const resolved = import.meta.resolve("steadfast");
  assert.match(resolved, /\/deno\.js$/, resolved);
});

Deno.test("call through the deno export", async () => {
  const base = chaosUrl({ STEADFAST_CHAOS_URL: Deno.env.get("STEADFAST_CHAOS_URL") });
  const { id, url } = await scenario(base, [{ status: 503 }, { body: { text: "deno" } }]);
  const client = new Client({ retry: { initialDelay: 10, jitter: "none" } });
  const response = await client.fetch(url);
  assert.equal(await response.text(), "deno");
  assert.equal(response.attempts, 2);
  const log = await requestLog(base, id);
  assert.equal(log.length, 2);
  assert.equal(log[0].header("x-request-id"), log[1].header("x-request-id"));
  assert.match(log[0].header("user-agent"), /^steadfast\//);
});
