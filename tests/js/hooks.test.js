import { test } from "node:test";
import assert from "node:assert/strict";
import { Client, isNetworkError } from "steadfast";
import { chaosUrl, requestLog, scenario } from "./chaos.js";

const base = chaosUrl();
const fast = { initialDelay: 50, backoffLimit: 200, jitter: "none" };

test("fetch option sends every attempt", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { body: { text: "ok" } }]);
  const seen = [];
  const client = new Client({
    retry: fast,
    fetch: (request) => {
      seen.push(request.headers.get("x-request-id"));
      const forwarded = new Request(request, { headers: [...request.headers, ["x-via", "double"]] });
      return fetch(forwarded);
    },
  });
  const response = await client.fetch(url);
  assert.equal(response.status, 200);
  assert.equal(seen.length, 2);
  assert.equal(seen[0], seen[1]);
  const log = await requestLog(base, id);
  assert.deepEqual(log.map((entry) => entry.header("x-via")), ["double", "double"]);
});

test("fetch option test double needs no server", async () => {
  const statuses = [503, 429, 200];
  let calls = 0;
  const client = new Client({
    retry: fast,
    fetch: async () => new Response(`call ${calls}`, { status: statuses[calls++] }),
  });
  const response = await client.get("http://127.0.0.1:9/unused");
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "call 2");
  assert.equal(response.attempts, 3);
  assert.equal(calls, 3);
});

test("throwing fetch option is a network failure", async () => {
  let calls = 0;
  const client = new Client({
    retry: { ...fast, limit: 1 },
    fetch: () => {
      calls += 1;
      throw new TypeError("fetch failed");
    },
  });
  const error = await client.get("http://127.0.0.1:9/unused").then(
    () => assert.fail("expected a NetworkError"),
    (e) => e,
  );
  assert.ok(isNetworkError(error), `${error.name}: ${error.message}`);
  assert.equal(error.attempts, 2);
  assert.equal(calls, 2);
});

test("beforeRetry sees count, delay and reason", async () => {
  const { url } = await scenario(base, [
    { status: 503, headers: [["Retry-After", "0"]] },
    { status: 500 },
    { body: { text: "ok" } },
  ]);
  const retries = [];
  const client = new Client({ retry: fast, hooks: { beforeRetry: [(state) => retries.push(state)] } });
  const response = await client.fetch(url);
  assert.equal(response.status, 200);
  assert.equal(retries.length, 2);
  assert.deepEqual(retries.map((r) => r.retryCount), [1, 2]);
  assert.match(retries[0].reason, /status 503, Retry-After: 0/);
  assert.match(retries[1].reason, /status 500/);
  assert.ok(retries[1].delay >= 80, `second retry waited ${retries[1].delay} ms`);
  assert.equal(retries[1].response.status, 500);
  assert.ok(retries[0].request instanceof Request);
});

test("beforeRequest can add a header", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { body: { text: "ok" } }]);
  const beforeRequest = [
    (request) => {
      const headers = new Headers(request.headers);
      headers.set("authorization", "Bearer t0k3n");
      return new Request(request, { headers });
    },
  ];
  const response = await new Client({ retry: fast, hooks: { beforeRequest } }).fetch(url);
  assert.equal(response.status, 200);
  const log = await requestLog(base, id);
  assert.deepEqual(log.map((e) => e.header("authorization")), ["Bearer t0k3n", "Bearer t0k3n"]);
});

test("beforeRequest can answer with a Response", async () => {
  const { id, url } = await scenario(base, [{ body: { text: "server" } }]);
  const beforeRequest = [() => new Response("cached", { status: 200 })];
  const response = await new Client({ hooks: { beforeRequest } }).fetch(url);
  assert.equal(await response.text(), "cached");
  assert.equal((await requestLog(base, id)).length, 0);
});

test("afterResponse can replace the response", async () => {
  const { url } = await scenario(base, [{ status: 401 }, { body: { text: "ok" } }]);
  const afterResponse = [(request, options, response) => (response.status === 401 ? new Response("patched", { status: 503 }) : undefined)];
  const response = await new Client({ retry: fast, hooks: { afterResponse } }).fetch(url);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "ok");
  assert.equal(response.attempts, 2);
});

test("fetch option returning no Response rejects", async () => {
  for (const [value, shown] of [
    ["text", /returned a string; expected a Response/],
    [undefined, /returned undefined; expected a Response/],
    [{ status: 200 }, /returned a plain object; expected a Response/],
  ]) {
    let calls = 0;
    const client = new Client({
      retry: fast,
      fetch: async () => {
        calls += 1;
        return value;
      },
    });
    const error = await client.get("http://127.0.0.1:9/unused").then(
      () => assert.fail("expected a TypeError"),
      (e) => e,
    );
    assert.ok(error instanceof TypeError, `${error}`);
    assert.match(error.message, shown);
    assert.equal(calls, 1);
  }
});

test("hook error rejects without retries", async () => {
  const boom = new Error("hook failed");
  const cases = [
    { beforeRequest: [() => Promise.reject(boom)] },
    { afterResponse: [() => { throw boom; }] },
  ];
  for (const hooks of cases) {
    const { id, url } = await scenario(base, [{ body: { text: "ok" } }, { body: { text: "ok" } }]);
    const client = new Client({ retry: fast, idempotencyKey: "auto", hooks });
    const error = await client.post(url, { body: "order" }).then(
      () => assert.fail("expected the hook's error"),
      (e) => e,
    );
    assert.equal(error, boom);
    const sent = hooks.afterResponse ? 1 : 0;
    assert.equal((await requestLog(base, id)).length, sent, Object.keys(hooks)[0]);
  }
});

test("beforeRetry error stops the retries", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { body: { text: "ok" } }]);
  const boom = new Error("retry hook failed");
  let calls = 0;
  const beforeRetry = [
    () => {
      calls += 1;
      throw boom;
    },
  ];
  const error = await new Client({ retry: fast, hooks: { beforeRetry } }).fetch(url).then(
    () => assert.fail("expected the hook's error"),
    (e) => e,
  );
  assert.equal(error, boom);
  assert.equal(calls, 1);
  assert.equal((await requestLog(base, id)).length, 1);
});
