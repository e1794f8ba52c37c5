import { test } from "node:test";
import assert from "node:assert/strict";
import { Client, RequestError, isRequestError } from "steadfast";
import { chaosUrl, requestLog, scenario } from "./chaos.js";

const base = chaosUrl();

/** Asserts that creating a client with `options` throws a TypeError matching `pattern`. */
function rejectsOptions(options, pattern) {
  assert.throws(() => new Client(options), (error) => {
    assert.ok(error instanceof TypeError, `${error}`);
    assert.match(error.message, pattern);
    return true;
  });
}

test("unknown option is named", () => {
  rejectsOptions({ timout: 5 }, /unknown option timout/);
  rejectsOptions({ retry: { limits: 2 } }, /unknown option retry\.limits/);
  rejectsOptions({ hooks: { beforeError: [] } }, /unknown option hooks\.beforeError/);
});

test("negative or NaN milliseconds are rejected", () => {
  rejectsOptions({ timeout: -1 }, /invalid option timeout: -1/);
  rejectsOptions({ readTimeout: NaN }, /invalid option readTimeout: NaN/);
  rejectsOptions({ totalTimeout: Infinity }, /invalid option totalTimeout/);
  rejectsOptions({ timeout: 0 }, /invalid option timeout: 0/);
  rejectsOptions({ retry: { initialDelay: -5 } }, /invalid option retry\.initialDelay: -5/);
  rejectsOptions({ retry: { maxRetryAfter: "60" } }, /invalid option retry\.maxRetryAfter: "60"/);
});

test("non-integer limit is rejected", () => {
  rejectsOptions({ retry: { limit: 1.5 } }, /invalid option retry\.limit: 1\.5/);
  rejectsOptions({ retry: -1 }, /invalid option retry\.limit: -1/);
});

test("other invalid values are named", () => {
  rejectsOptions({ retry: { jitter: "some" } }, /invalid option retry\.jitter: "some"/);
  rejectsOptions({ retry: { statusCodes: [503, 99] } }, /retry\.statusCodes/);
  rejectsOptions({ retry: { initialDelay: 500, backoffLimit: 100 } }, /initialDelay: 500 is above/);
  rejectsOptions({ requestId: "sometimes" }, /invalid option requestId: "sometimes"/);
  rejectsOptions({ idempotencyKey: "fixed" }, /invalid option idempotencyKey: "fixed"/);
  rejectsOptions({ fetch: "no" }, /invalid option fetch/);
  rejectsOptions({ hooks: { beforeRetry: [1] } }, /invalid option hooks\.beforeRetry/);
  rejectsOptions({ headers: { "x-a": "1\r\nx-b: 2" } }, /headers/);
});

test("valid options are accepted", () => {
  const client = new Client({
    retry: { limit: 4, initialDelay: 100, backoffLimit: 5000, jitter: "equal", maxRetryAfter: 0 },
    timeout: 1000,
    totalTimeout: 5000,
    readTimeout: 1000,
    headers: { "x-app": "demo" },
    requestId: "always",
    idempotencyKey: "auto",
    hooks: { beforeRetry: [() => {}] },
  });
  assert.ok(client instanceof Client);
});

test("invalid per-call option sends nothing", async () => {
  const { id, url } = await scenario(base, [{ body: { text: "ok" } }]);
  const client = new Client();
  await assert.rejects(client.fetch(url, { timeout: -3 }), /invalid option init\.timeout: -3/);
  await assert.rejects(client.fetch(url, { retry: { limit: 0.5 } }), /init\.retry\.limit: 0\.5/);
  await assert.rejects(client.fetch(url, { mode: "cors" }), /unknown option init\.mode/);
  assert.equal((await requestLog(base, id)).length, 0);
});

test("CR/LF in a header value sends nothing", async () => {
  const { id, url } = await scenario(base, [{ body: { text: "ok" } }]);
  const client = new Client();
  for (const value of ["a\r\nx-injected: 1", "a\nb", "a\rb", "a\0b"]) {
    const error = await client.fetch(url, { headers: { "x-note": value } }).then(
      () => assert.fail(`header ${JSON.stringify(value)} was accepted`),
      (e) => e,
    );
    assert.ok(error instanceof TypeError, `${error}`);
    assert.ok(isRequestError(error), `${error.name}: ${error.message}`);
    assert.ok(error instanceof RequestError);
    assert.match(error.message, /x-note/);
  }
  assert.equal((await requestLog(base, id)).length, 0);
});

test("invalid URL is a RequestError", async () => {
  const error = await new Client().fetch("ftp://127.0.0.1/x").then(
    () => assert.fail("accepted"),
    (e) => e,
  );
  assert.ok(isRequestError(error), `${error.name}: ${error.message}`);
  assert.match(error.message, /scheme/);
});

test("limits match the core's", () => {
  rejectsOptions({ retry: { statusCodes: [302] } }, /retry\.statusCodes: \[302\]; expected .*400\.\.599/);
  rejectsOptions({ retry: { maxRetryAfter: 86_400_001 } }, /retry\.maxRetryAfter: 86400001; .*at most 86400000/);
  rejectsOptions({ retry: { backoffLimit: 2 ** 31 - 1 } }, /retry\.backoffLimit: 2147483647; .*at most 86400000/);
  assert.ok(new Client({ retry: { maxRetryAfter: 86_400_000, backoffLimit: 86_400_000, statusCodes: [400, 599] } }));
});

test("unparsable absolute URL is invalid", async () => {
  for (const url of ["http://", "http://127.0.0.1:99999/"]) {
    const error = await new Client().fetch(url).then(
      () => assert.fail(`${url} was accepted`),
      (e) => e,
    );
    assert.ok(isRequestError(error), `${error.name}: ${error.message}`);
    assert.match(error.message, /invalid URL/);
    assert.doesNotMatch(error.message, /relative/);
  }
});

test("null init is an empty init", async () => {
  const { url } = await scenario(base, [{ body: { text: "[1]" } }, { body: { text: "ok" } }]);
  const client = new Client();
  assert.deepEqual(await client.json(url, null), [1]);
  assert.equal((await client.fetch(url, null)).status, 200);
});

test("Map and foreign headers are sent", async () => {
  const { id, url } = await scenario(base, [{ body: { text: "ok" } }, { body: { text: "ok" } }]);
  const client = new Client({ headers: new Map([["x-client", "map"]]) });
  await (await client.fetch(url, { headers: new Map([["x-call", "1"]]) })).text();
  const foreign = { forEach: (visit) => visit("2", "x-call") };
  await (await client.fetch(url, { headers: foreign })).text();
  const log = await requestLog(base, id);
  assert.deepEqual(log.map((e) => e.header("x-client")), ["map", "map"]);
  assert.deepEqual(log.map((e) => e.header("x-call")), ["1", "2"]);
});

test("Request properties not passed on are rejected", async () => {
  const { id, url } = await scenario(base, [{ body: { text: "ok" } }]);
  const client = new Client();
  const cases = [
    ["redirect", { redirect: "manual" }],
    ["cache", { cache: "no-store" }],
    ["credentials", { credentials: "include" }],
    ["keepalive", { keepalive: true }],
  ];
  for (const [name, init] of cases) {
    const request = new Request(url, init);
    // A runtime without the member leaves it at its default, and then nothing is rejected.
    if (request[name] === undefined || request[name] === new Request(url)[name]) continue;
    const error = await client.fetch(request).then(
      () => assert.fail(`${name} was accepted`),
      (e) => e,
    );
    assert.ok(error instanceof TypeError, `${error}`);
    assert.match(error.message, new RegExp(`Request property ${name}`));
  }
  assert.equal((await requestLog(base, id)).length, 0);
});

test("Request body is not consumed", async () => {
  const { id, url } = await scenario(base, [{ body: { text: "ok" } }]);
  const request = new Request(url, { method: "POST", body: "payload" });
  await (await new Client().fetch(request)).text();
  assert.equal(request.bodyUsed, false);
  assert.equal(await request.text(), "payload");
  assert.equal((await requestLog(base, id)).length, 1);
});
