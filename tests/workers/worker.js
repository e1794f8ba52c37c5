// A module Worker that imports steadfast as a Worker project would. The test driver posts
// `{ case, url }` to it; the worker makes the calls of that case through steadfast and
// responds with what it observed, as JSON.
import { Client, isHTTPError, isTimeoutError } from "steadfast";

const fast = { initialDelay: 10, backoffLimit: 50, jitter: "none" };

function describe(error) {
  return {
    name: error?.name,
    message: error?.message,
    attempts: error?.attempts,
    status: error?.status,
    retryAfter: error?.retryAfter,
    phase: error?.phase,
    requestId: error?.requestId,
    isTypeError: error instanceof TypeError,
  };
}

async function summary(response) {
  return {
    status: response.status,
    attempts: response.attempts,
    requestId: response.requestId,
    headerRequestId: response.headers.get("x-request-id"),
    retryAfter: response.retryAfter ?? null,
    text: await response.text(),
  };
}

const cases = {
  async retry({ url }) {
    return summary(await new Client({ retry: fast }).fetch(url));
  },
  async retryAfter({ url }) {
    const started = Date.now();
    const result = await summary(await new Client({ retry: fast }).fetch(url));
    return { ...result, elapsed: Date.now() - started };
  },
  async tooLong({ url }) {
    try {
      await new Client({ retry: fast }).json(url);
      return { thrown: false };
    } catch (error) {
      return { thrown: true, isHTTPError: isHTTPError(error), ...describe(error) };
    }
  },
  async abortSleep({ url }) {
    const controller = new AbortController();
    const reason = new Error("worker gave up");
    const pending = new Client({ retry: fast }).fetch(url, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort(reason);
    try {
      await pending;
      return { rejected: false };
    } catch (error) {
      return { rejected: true, isReason: error === reason };
    }
  },
  async postWithoutKey({ url }) {
    return summary(await new Client({ retry: fast }).post(url, { body: "{}" }));
  },
  async postAutoKey({ url }) {
    return summary(await new Client({ retry: fast }).post(url, { body: "{}", idempotencyKey: "auto" }));
  },
  async putBytes({ url }) {
    const body = new Uint8Array(4096).map((_, i) => (i * 13) % 256);
    const response = await new Client({ retry: fast }).put(url, { body });
    return { status: response.status, attempts: response.attempts };
  },
  async resume({ url }) {
    const response = await new Client({ retry: fast }).fetch(url);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const wrong = bytes.findIndex((byte, i) => byte !== i % 251);
    return { length: bytes.length, wrong, attempts: response.attempts };
  },
  async readTimeout({ url }) {
    const response = await new Client({ retry: fast, readTimeout: 300 }).fetch(url);
    try {
      await response.text();
      return { thrown: false };
    } catch (error) {
      return { thrown: true, isTimeout: isTimeoutError(error), ...describe(error) };
    }
  },
  async headerInjection({ url }) {
    try {
      await new Client().fetch(url, { headers: { "x-note": "a\r\nx-injected: 1" } });
      return { thrown: false };
    } catch (error) {
      return { thrown: true, ...describe(error) };
    }
  },
  async serviceBinding({ url }, env) {
    // A service binding's fetch is a method, so it is wrapped to keep its `this`.
    const client = new Client({ retry: fast, fetch: (request) => env.UPSTREAM.fetch(request) });
    return summary(await client.fetch(url));
  },
  async invalidOption() {
    try {
      new Client({ retry: { limit: 1.5 } });
      return { thrown: false };
    } catch (error) {
      return { thrown: true, ...describe(error) };
    }
  },
};

export default {
  async fetch(request, env) {
    const input = await request.json();
    const run = cases[input.case];
    if (!run) return Response.json({ error: `unknown case ${input.case}` }, { status: 404 });
    try {
      return Response.json(await run(input, env));
    } catch (error) {
      return Response.json({ error: `${error?.name}: ${error?.message}` }, { status: 500 });
    }
  },
};
