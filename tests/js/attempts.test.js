import { test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "steadfast";
import { chaosUrl, requestLog, scenario } from "./chaos.js";

const base = chaosUrl();
const fast = { initialDelay: 10, backoffLimit: 50, jitter: "none" };

test("limit 0 sends exactly one attempt", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }]);
  const response = await new Client({ retry: { ...fast, limit: 0 } }).fetch(url);
  assert.equal(response.status, 503);
  assert.equal(response.attempts, 1);
  assert.equal((await requestLog(base, id)).length, 1);
});

test("limit 3 sends four attempts and returns the last", async () => {
  const { id, url } = await scenario(base, [
    { status: 500 },
    { status: 502 },
    { status: 504 },
    { status: 503, body: { text: "last" } },
  ]);
  const response = await new Client({ retry: { ...fast, limit: 3 } }).fetch(url);
  assert.equal(response.status, 503);
  assert.equal(response.attempts, 4);
  assert.equal(await response.text(), "last");
  assert.match(response.stopReason, /all 4 attempts/);
  assert.equal((await requestLog(base, id)).length, 4);
});

test("retry as a number is the limit", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }]);
  const response = await new Client({ retry: 1 }).fetch(url, { retry: { ...fast } });
  assert.equal(response.attempts, 2);
  assert.equal((await requestLog(base, id)).length, 2);
});

test("per-call retry overrides the client", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }]);
  const client = new Client({ retry: { ...fast, limit: 4 } });
  const response = await client.get(url, { retry: { limit: 1 } });
  assert.equal(response.attempts, 2);
  assert.equal((await requestLog(base, id)).length, 2);
});

test("custom statusCodes replace the defaults", async () => {
  const { id, url } = await scenario(base, [{ status: 418 }, { body: { text: "ok" } }]);
  const client = new Client({ retry: { ...fast, statusCodes: [418] } });
  const response = await client.fetch(url);
  assert.equal(response.status, 200);
  assert.equal((await requestLog(base, id)).length, 2);
});

test("same X-Request-ID on every attempt", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { status: 503 }, { body: { text: "ok" } }]);
  const response = await new Client({ retry: fast }).fetch(url);
  assert.equal(response.attempts, 3);
  const ids = (await requestLog(base, id)).map((entry) => entry.header("x-request-id"));
  assert.equal(ids.length, 3);
  assert.match(ids[0], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(ids, [ids[0], ids[0], ids[0]]);
  assert.equal(response.requestId, ids[0]);
  assert.equal(response.headers.get("x-request-id"), ids[0]);
});

test("caller's X-Request-ID is kept", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { body: { text: "ok" } }]);
  const response = await new Client({ retry: fast }).fetch(url, { headers: { "X-Request-ID": "mine-1" } });
  const ids = (await requestLog(base, id)).map((entry) => entry.header("x-request-id"));
  assert.deepEqual(ids, ["mine-1", "mine-1"]);
  assert.equal(response.requestId, "mine-1");
});

test("requestId false sends none", async () => {
  const { id, url } = await scenario(base, [{ body: { text: "ok" } }]);
  const response = await new Client({ requestId: false }).fetch(url);
  const [entry] = await requestLog(base, id);
  assert.equal(entry.header("x-request-id"), undefined);
  assert.equal(typeof response.requestId, "string");
});

test("POST without key is not retried after 502", async () => {
  const { id, url } = await scenario(base, [{ status: 502 }, { body: { text: "ok" } }]);
  const response = await new Client({ retry: fast }).post(url, { body: "{}" });
  assert.equal(response.status, 502);
  assert.equal(response.attempts, 1);
  assert.match(response.stopReason, /not idempotent/);
  assert.equal((await requestLog(base, id)).length, 1);
});

test("POST without key is not retried after a timeout", async () => {
  const { id, url } = await scenario(base, [{ head_delay_ms: 1500 }, { body: { text: "ok" } }]);
  const client = new Client({ retry: fast, timeout: 200 });
  const error = await client.post(url, { body: "{}" }).then(
    () => assert.fail("expected a TimeoutError"),
    (e) => e,
  );
  assert.equal(error.name, "TimeoutError");
  assert.equal(error.attempts, 1);
  assert.equal((await requestLog(base, id)).length, 1);
});

test("auto idempotency key is identical on all attempts", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { status: 502 }, { body: { text: "ok" } }]);
  const client = new Client({ retry: fast });
  const response = await client.post(url, { body: "{}", idempotencyKey: "auto" });
  assert.equal(response.status, 200);
  assert.equal(response.attempts, 3);
  const keys = (await requestLog(base, id)).map((entry) => entry.header("idempotency-key"));
  assert.equal(keys.length, 3);
  assert.ok(keys[0] && keys[0].length >= 32, `key ${keys[0]}`);
  assert.deepEqual(keys, [keys[0], keys[0], keys[0]]);
});

test("caller's idempotency key is sent as is", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { body: { text: "ok" } }]);
  const response = await new Client({ retry: fast }).post(url, { body: "{}", idempotencyKey: "order-7" });
  assert.equal(response.status, 200);
  const keys = (await requestLog(base, id)).map((entry) => entry.header("idempotency-key"));
  assert.deepEqual(keys, ["order-7", "order-7"]);
});

test("client-level auto key applies to every call", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { body: { text: "ok" } }]);
  const client = new Client({ retry: fast, idempotencyKey: "auto" });
  const response = await client.post(url, { body: "x" });
  assert.equal(response.attempts, 2);
  const keys = (await requestLog(base, id)).map((entry) => entry.header("idempotency-key"));
  assert.equal(keys[0], keys[1]);
});

test("budget false lets every retry through", async () => {
  const quick = { initialDelay: 1, backoffLimit: 5, jitter: "none", limit: 20 };
  const limited = await scenario(base, [{ status: 503 }]);
  const budgeted = await new Client({ retry: quick }).fetch(limited.url);
  assert.equal(budgeted.budgetExhausted, true);
  assert.ok(budgeted.attempts < 21, `${budgeted.attempts} attempts`);
  assert.match(budgeted.stopReason, /budget: false/);

  const open = await scenario(base, [{ status: 503 }]);
  const unbudgeted = await new Client({ retry: { ...quick, budget: false } }).fetch(open.url);
  assert.equal(unbudgeted.attempts, 21);
  assert.equal(unbudgeted.budgetExhausted, false);
  assert.equal((await requestLog(base, open.id)).length, 21);
});

test("budget must be a boolean", () => {
  assert.throws(() => new Client({ retry: { budget: "no" } }), /retry\.budget/);
});
