import { test } from "node:test";
import assert from "node:assert/strict";
import { Client, TimeoutError, isTimeoutError } from "steadfast";
import { chaosUrl, requestLog, scenario, sleep } from "./chaos.js";

const base = chaosUrl();
const fast = { initialDelay: 10, backoffLimit: 50, jitter: "none" };

async function rejection(promise) {
  return promise.then(
    (value) => assert.fail(`expected a rejection, got ${value}`),
    (error) => error,
  );
}

test("totalTimeout ends slow attempts", async () => {
  const { id, url } = await scenario(base, [{ head_delay_ms: 2000, body: { text: "late" } }]);
  const client = new Client({ retry: { ...fast, limit: 3 }, timeout: 400, totalTimeout: 900 });
  const started = performance.now();
  const error = await rejection(client.fetch(url));
  const elapsed = performance.now() - started;
  assert.ok(error instanceof TimeoutError, `${error}`);
  assert.ok(elapsed >= 800, `ended after ${elapsed} ms`);
  assert.ok(elapsed < 1800, `ended after ${elapsed} ms, not at the total timeout`);
  const log = await requestLog(base, id);
  assert.ok(log.length >= 2 && log.length <= 3, `${log.length} attempts`);
});

test("attempt timeout is retried for GET", async () => {
  const { id, url } = await scenario(base, [{ head_delay_ms: 2000 }, { body: { text: "ok" } }]);
  const response = await new Client({ retry: fast, timeout: 250 }).fetch(url);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "ok");
  assert.equal(response.attempts, 2);
  assert.equal((await requestLog(base, id)).length, 2);
});

test("retryOnTimeout false stops after one timeout", async () => {
  const { id, url } = await scenario(base, [{ head_delay_ms: 2000 }, { body: { text: "ok" } }]);
  const client = new Client({ retry: { ...fast, retryOnTimeout: false }, timeout: 250 });
  const error = await rejection(client.fetch(url));
  assert.ok(isTimeoutError(error), `${error}`);
  assert.equal(error.phase, "attempt");
  assert.equal(error.attempts, 1);
  assert.match(error.message, /GET http:\/\/127\.0\.0\.1/);
  assert.equal((await requestLog(base, id)).length, 1);
});

test("read timeout fires about R after the last byte", async () => {
  const { url } = await scenario(base, [
    { body: { text: '{"a": 1}' }, stall_after_bytes: 1, stall_ms: 5000 },
  ]);
  const response = await new Client({ retry: fast, readTimeout: 300 }).fetch(url);
  assert.equal(response.status, 200);
  const started = performance.now();
  const error = await rejection(response.text());
  const elapsed = performance.now() - started;
  assert.ok(isTimeoutError(error), `${error}`);
  assert.equal(error.phase, "read");
  assert.ok(elapsed >= 250, `failed after ${elapsed} ms`);
  assert.ok(elapsed < 1500, `failed after ${elapsed} ms`);
});

test("totalTimeout bounds the json body", async () => {
  const { url } = await scenario(base, [{ body: { text: '{"a": 1}' }, stall_after_bytes: 1, stall_ms: 5000 }]);
  const client = new Client({ retry: fast, totalTimeout: 500, readTimeout: 10_000 });
  const started = performance.now();
  const error = await rejection(client.json(url));
  const elapsed = performance.now() - started;
  assert.ok(isTimeoutError(error), `${error}`);
  assert.equal(error.phase, "total");
  assert.ok(elapsed >= 450, `failed after ${elapsed} ms`);
  assert.ok(elapsed < 1500, `failed after ${elapsed} ms`);
});

test("read timeout fires while the consumer is slow", async () => {
  const { url } = await scenario(base, [
    { body: { pattern: 4096 }, chunk_size: 1024, stall_after_bytes: 2048, stall_ms: 5000 },
  ]);
  const response = await new Client({ retry: fast, readTimeout: 300 }).fetch(url);
  const reader = response.body.getReader();
  const started = performance.now();
  let error;
  try {
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
      await sleep(50);
    }
  } catch (e) {
    error = e;
  }
  const elapsed = performance.now() - started;
  assert.ok(isTimeoutError(error), `${error}`);
  assert.ok(elapsed < 2000, `failed after ${elapsed} ms`);
});

test("consumer pause longer than readTimeout is fine", async () => {
  const { url } = await scenario(base, [{ body: { pattern: 64 * 1024 }, chunk_size: 4096 }]);
  const response = await new Client({ retry: fast, readTimeout: 200 }).fetch(url);
  const reader = response.body.getReader();
  const first = await reader.read();
  assert.equal(first.done, false);
  await sleep(600);
  let total = first.value.length;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
  }
  assert.equal(total, 64 * 1024);
});

test("abort during Retry-After sleep rejects at once", async () => {
  const { id, url } = await scenario(base, [
    { status: 503, retry_after: { secs: 3, form: "delta" } },
    { body: { text: "never" } },
  ]);
  const controller = new AbortController();
  const reason = new Error("caller gave up");
  const pending = new Client({ retry: fast }).fetch(url, { signal: controller.signal });
  // Wait until the first attempt was answered and the client sleeps.
  for (let i = 0; i < 50 && (await requestLog(base, id)).length === 0; i++) await sleep(20);
  await sleep(100);
  const abortedAt = performance.now();
  controller.abort(reason);
  const error = await rejection(pending);
  const latency = performance.now() - abortedAt;
  assert.equal(error, reason);
  assert.ok(latency < 150, `rejected ${latency} ms after abort`);
  await sleep(3200);
  assert.equal((await requestLog(base, id)).length, 1);
});

test("abort during an attempt rejects with the reason", async () => {
  const { id, url } = await scenario(base, [{ head_delay_ms: 3000 }]);
  const controller = new AbortController();
  const pending = new Client({ retry: fast }).fetch(url, { signal: controller.signal });
  setTimeout(() => controller.abort(), 200);
  const error = await rejection(pending);
  assert.equal(error.name, "AbortError");
  assert.equal((await requestLog(base, id)).length, 1);
});

test("aborted signal sends nothing", async () => {
  const { id, url } = await scenario(base, [{ body: { text: "ok" } }]);
  const controller = new AbortController();
  controller.abort(new Error("before"));
  const error = await rejection(new Client().fetch(url, { signal: controller.signal }));
  assert.equal(error.message, "before");
  assert.equal((await requestLog(base, id)).length, 0);
});

test("abort while reading the body errors the stream", async () => {
  const { url } = await scenario(base, [{ body: { pattern: 4096 }, stall_after_bytes: 1024, stall_ms: 5000 }]);
  const controller = new AbortController();
  const response = await new Client().fetch(url, { signal: controller.signal });
  const reason = new Error("stop reading");
  setTimeout(() => controller.abort(reason), 100);
  const error = await rejection(response.arrayBuffer());
  assert.equal(error, reason);
});

test("abort right after the call starts is kept", async () => {
  const { id, url } = await scenario(base, [{ body: { text: "ok" } }]);
  const controller = new AbortController();
  const reason = new Error("x");
  const pending = new Client().fetch(url, { signal: controller.signal, body: "late", method: "PUT" });
  controller.abort(reason);
  const error = await rejection(pending);
  assert.equal(error, reason);
  await sleep(100);
  assert.equal((await requestLog(base, id)).length, 0);
});

test("Request signal aborts the call", async () => {
  const { id, url } = await scenario(base, [{ head_delay_ms: 3000 }]);
  const controller = new AbortController();
  const reason = new Error("request signal");
  const pending = new Client().fetch(new Request(url, { signal: controller.signal }));
  setTimeout(() => controller.abort(reason), 200);
  const error = await rejection(pending);
  assert.equal(error, reason);
  assert.equal((await requestLog(base, id)).length, 1);
});

/** Returns an AbortSignal that counts the abort listeners currently added to it. */
function countingSignal() {
  const signal = new AbortController().signal;
  const listeners = new Set();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (type, listener, options) => {
    if (type === "abort") listeners.add(listener);
    add(type, listener, options);
  };
  signal.removeEventListener = (type, listener, options) => {
    if (type === "abort") listeners.delete(listener);
    remove(type, listener, options);
  };
  return { signal, listeners };
}

test("settled calls remove their abort listeners", async () => {
  const { url } = await scenario(base, Array.from({ length: 12 }, () => ({ body: { text: "ok" } })));
  const { signal, listeners } = countingSignal();
  const client = new Client();
  for (let i = 0; i < 4; i++) {
    const response = await client.fetch(url, { signal });
    assert.equal(await response.text(), "ok");
  }
  assert.equal(listeners.size, 0, "after reading the bodies of client.fetch");
  for (let i = 0; i < 4; i++) assert.equal(await client.json(url, { signal }).catch((e) => e.name), "BodyError");
  assert.equal(listeners.size, 0, "after client.json");
  for (let i = 0; i < 4; i++) await client.head(url, { signal });
  assert.equal(listeners.size, 0, "after HEAD calls");
  await rejection(client.fetch("http://127.0.0.1:9/refused", { signal, retry: 0 }));
  assert.equal(listeners.size, 0, "after a failed call");
});
