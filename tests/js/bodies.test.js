import { test } from "node:test";
import assert from "node:assert/strict";
import { Client, isBodyError, isSteadfastError } from "steadfast";
import { chaosUrl, patternByte, requestLog, scenario } from "./chaos.js";

const base = chaosUrl();
const fast = { initialDelay: 10, backoffLimit: 50, jitter: "none" };

test("PUT body is identical on every attempt", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { status: 500 }, { body: "echo" }]);
  const body = new Uint8Array(10_000).map((_, i) => (i * 7) % 256);
  const response = await new Client({ retry: fast }).put(url, { body });
  assert.equal(response.status, 200);
  const log = await requestLog(base, id);
  assert.equal(log.length, 3);
  for (const entry of log) {
    assert.equal(entry.body_len, 10_000);
    assert.equal(entry.body_fnv64, log[0].body_fnv64);
    assert.equal(entry.header("content-length"), "10000");
  }
  const echoed = new Uint8Array(await response.arrayBuffer());
  assert.deepEqual(echoed, body);
});

test("string body gets text/plain and is replayed", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { body: "echo" }]);
  await new Client({ retry: fast }).put(url, { body: "héllo" });
  const log = await requestLog(base, id);
  assert.equal(log.length, 2);
  assert.equal(log[1].body_len, 6);
  assert.equal(log[0].body_fnv64, log[1].body_fnv64);
  assert.match(log[1].header("content-type"), /^text\/plain/);
});

test("streaming request body is rejected before sending", async () => {
  const { id, url } = await scenario(base, [{ body: "echo" }]);
  const body = new ReadableStream({ start: (c) => c.close() });
  await assert.rejects(new Client().put(url, { body }), TypeError);
  assert.equal((await requestLog(base, id)).length, 0);
});

test("dropped download resumes with exact bytes", async () => {
  const size = 200_000;
  const { id, url } = await scenario(base, [
    { body: { pattern: size }, ranges: true, reset_after_bytes: 70_000 },
    { body: { pattern: size }, ranges: true },
  ]);
  const response = await new Client({ retry: fast }).fetch(url);
  const bytes = new Uint8Array(await response.arrayBuffer());
  assert.equal(bytes.length, size);
  const wrong = bytes.findIndex((byte, i) => byte !== patternByte(i));
  assert.equal(wrong, -1, `byte ${wrong} differs`);
  assert.equal(response.attempts, 2);
  const log = await requestLog(base, id);
  assert.equal(log.length, 2);
  assert.match(log[1].header("range"), /^bytes=\d+-$/);
  assert.ok(log[1].header("if-range"), "the resume carries If-Range");
});

test("resume at a wrong offset is an error", async () => {
  const { url } = await scenario(base, [
    { body: { pattern: 100_000 }, ranges: true, reset_after_bytes: 40_000 },
    { body: { pattern: 100_000 }, ranges: true, range_start_shift: 10 },
  ]);
  const response = await new Client({ retry: fast }).fetch(url);
  const error = await response.arrayBuffer().then(
    () => assert.fail("expected the joined body to be rejected"),
    (e) => e,
  );
  assert.ok(isBodyError(error), `${error}`);
});

test("HEAD with Content-Length completes empty", async () => {
  const { url } = await scenario(base, [{ body: "empty", headers: [["Content-Length", "5000"]] }]);
  const response = await new Client().head(url);
  assert.equal(response.status, 200);
  assert.equal(response.body, null);
  assert.equal((await response.arrayBuffer()).byteLength, 0);
});

test("204 completes with an empty body", async () => {
  const { url } = await scenario(base, [{ status: 204 }]);
  const response = await new Client().fetch(url);
  assert.equal(response.status, 204);
  assert.equal(await response.text(), "");
});

test("body shorter than Content-Length is an error", async () => {
  const { url } = await scenario(base, [{ body: { text: "hello" }, declared_length: 100 }]);
  const response = await new Client({ retry: { ...fast, limit: 0 } }).fetch(url);
  const error = await response.text().then(
    (text) => assert.fail(`expected an error, got ${JSON.stringify(text)}`),
    (e) => e,
  );
  assert.ok(isSteadfastError(error), `${error}`);
});

test("json parses the body", async () => {
  const { url } = await scenario(base, [{ status: 503 }, { body: { text: '{"sku":"W-42","n":3}' } }]);
  const value = await new Client({ retry: fast }).json(url);
  assert.deepEqual(value, { sku: "W-42", n: 3 });
});

test("Response.json works on a streamed body", async () => {
  const { url } = await scenario(base, [{ body: { text: '[1,2,3]' }, chunk_size: 2, chunk_delay_ms: 5 }]);
  const response = await new Client().fetch(url);
  assert.deepEqual(await response.json(), [1, 2, 3]);
});

test("Request input keeps method, headers and body", async () => {
  const { id, url } = await scenario(base, [{ status: 503 }, { body: "echo" }]);
  const request = new Request(url, { method: "PUT", headers: { "x-trace": "t1" }, body: "abc" });
  const response = await new Client({ retry: fast }).fetch(request);
  assert.equal(response.status, 200);
  const log = await requestLog(base, id);
  assert.equal(log.length, 2);
  assert.equal(log[1].method, "PUT");
  assert.equal(log[1].header("x-trace"), "t1");
  assert.equal(log[1].body_len, 3);
});

test("json of an empty body is undefined", async () => {
  const { url } = await scenario(base, [{ status: 204 }, { body: { text: "" } }]);
  const client = new Client();
  assert.equal(await client.json(url), undefined);
  assert.equal(await client.json(url), undefined);
});

test("invalid JSON is a BodyError with status", async () => {
  const { url } = await scenario(base, [{ body: { text: "{not json" } }]);
  const error = await new Client().json(url).then(
    () => assert.fail("expected an error"),
    (e) => e,
  );
  assert.ok(isBodyError(error), `${error.name}: ${error.message}`);
  assert.equal(error.status, 200);
  assert.match(error.requestId, /\S/);
  assert.ok(error.cause instanceof SyntaxError);
});
