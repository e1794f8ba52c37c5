import { test } from "node:test";
import assert from "node:assert/strict";
import { Client, isHTTPError } from "steadfast";
import { chaosUrl, requestLog, scenario } from "./chaos.js";

const base = chaosUrl();
const fast = { initialDelay: 20, backoffLimit: 100, jitter: "none" };

/** Returns the milliseconds between the first two logged attempts. */
async function gap(id) {
  const log = await requestLog(base, id);
  assert.equal(log.length, 2, `expected 2 attempts, got ${log.length}`);
  return log[1].received_ms - log[0].received_ms;
}

for (const form of ["delta", "imf", "rfc850", "asctime"]) {
  test(`Retry-After as ${form} is waited for`, async () => {
    const { id, url } = await scenario(base, [
      { status: 503, retry_after: { secs: 1, form } },
      { body: { text: "ok" } },
    ]);
    const response = await new Client({ retry: fast }).fetch(url);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "ok");
    assert.equal(response.attempts, 2);
    const waited = await gap(id);
    assert.ok(waited >= 900, `second attempt came ${waited} ms after the first`);
    assert.ok(waited < 3000, `second attempt came ${waited} ms after the first`);
  });
}

test("Retry-After above maxRetryAfter returns at once", async () => {
  const { id, url } = await scenario(base, [
    { status: 503, headers: [["Retry-After", "86400"]] },
    { body: { text: "never" } },
  ]);
  const client = new Client({ retry: fast });
  const started = performance.now();
  const response = await client.fetch(url);
  const elapsed = performance.now() - started;
  assert.equal(response.status, 503);
  assert.equal(response.attempts, 1);
  assert.equal(response.retryAfter, 86_400_000);
  assert.ok(elapsed < 1000, `took ${elapsed} ms`);
  assert.match(response.stopReason, /max_retry_after|maxRetryAfter/);
  assert.equal((await requestLog(base, id)).length, 1);
});

test("json helper reports Retry-After on HTTPError", async () => {
  const { url } = await scenario(base, [{ status: 503, headers: [["Retry-After", "86400"]] }]);
  const error = await new Client({ retry: fast }).json(url).then(
    () => assert.fail("expected an HTTPError"),
    (e) => e,
  );
  assert.ok(isHTTPError(error));
  assert.equal(error.status, 503);
  assert.equal(error.retryAfter, 86_400_000);
  assert.equal(error.attempts, 1);
  assert.match(error.message, /GET http:\/\/127\.0\.0\.1:\d+\/s\//);
  assert.match(error.message, /retry\.maxRetryAfter/);
});

for (const value of ["2m", "tomorrow"]) {
  test(`unparseable Retry-After ${JSON.stringify(value)} uses backoff`, async () => {
    const { id, url } = await scenario(base, [
      { status: 503, headers: [["Retry-After", value]] },
      { body: { text: "ok" } },
    ]);
    const response = await new Client({ retry: { ...fast, initialDelay: 100 } }).fetch(url);
    assert.equal(response.status, 200);
    assert.equal(response.attempts, 2);
    const waited = await gap(id);
    assert.ok(waited >= 80, `retried after ${waited} ms, not after the 100 ms backoff`);
    assert.ok(waited < 1500, `retried after ${waited} ms`);
  });
}

test("Retry-After in year 9999 is too long", async () => {
  const { id, url } = await scenario(base, [
    { status: 503, headers: [["Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"]] },
    { body: { text: "never" } },
  ]);
  const response = await new Client({ retry: fast }).fetch(url);
  assert.equal(response.status, 503);
  assert.equal(response.attempts, 1);
  assert.equal((await requestLog(base, id)).length, 1);
});

test("past Retry-After date retries now", async () => {
  const { id, url } = await scenario(base, [
    { status: 503, headers: [["Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT"]] },
    { body: { text: "ok" } },
  ]);
  const response = await new Client({ retry: { ...fast, initialDelay: 2000, backoffLimit: 2000 } }).fetch(url);
  assert.equal(response.status, 200);
  assert.equal(response.attempts, 2);
  const waited = await gap(id);
  assert.ok(waited < 1000, `retried after ${waited} ms, not at once`);
});

test("429 without Retry-After is retried", async () => {
  const { id, url } = await scenario(base, [{ status: 429 }, { body: { text: "ok" } }]);
  const response = await new Client({ retry: fast }).fetch(url);
  assert.equal(response.status, 200);
  assert.equal(response.attempts, 2);
  assert.equal((await requestLog(base, id)).length, 2);
});
