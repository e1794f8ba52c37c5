// The Client class: turns what fetch accepts into the input of the wasm client, and the
// wasm client's response into a standard Response whose body streams from the Rust side.

import { RawClient } from "./steadfast.js";
import { HTTPError, RequestError, fromRaw } from "./errors.js";
import { checkClientOptions, checkInit, headerPairs } from "./options.js";
import { wrapFetch } from "./hooks.js";

// Set by the entry module of each runtime: a function that loads the wasm module, or null
// once it is loaded.
let loadWasm = null;
let loading = null;

/** Registers how the entry module loads the wasm module; called once, before any call. */
export function setLoader(load) {
  loadWasm = load;
}

async function ensureWasm() {
  if (loadWasm === null) return;
  loading ??= Promise.resolve(loadWasm()).then(() => {
    loadWasm = null;
  });
  await loading;
}

// fetch upper-cases these methods and leaves every other one as given.
const NORMALISED_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
const NULL_BODY_STATUSES = [101, 103, 204, 205, 304];

function normaliseMethod(method) {
  const text = String(method);
  const upper = text.toUpperCase();
  return NORMALISED_METHODS.includes(upper) ? upper : text;
}

function inputUrl(input) {
  if (typeof input === "string") return input;
  if (input instanceof URL) return input.href;
  if (typeof Request !== "undefined" && input instanceof Request) return input.url;
  if (input !== null && typeof input === "object" && typeof input.href === "string") return input.href;
  throw new TypeError(`invalid input ${String(input)}: expected a URL string, a URL or a Request`);
}

/** Returns the bytes and implied Content-Type of a body that fetch accepts. */
async function bodyBytes(body) {
  if (typeof body === "string") {
    return { bytes: new TextEncoder().encode(body), type: "text/plain;charset=UTF-8" };
  }
  if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body.slice(0)) };
  if (ArrayBuffer.isView(body)) {
    const view = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    return { bytes: view.slice() };
  }
  if (typeof ReadableStream !== "undefined" && body instanceof ReadableStream) {
    throw new RequestError(
      "a streaming request body is not supported, because it could not be sent again on a " +
        "retry; pass a string, bytes, a Blob, FormData or URLSearchParams",
    );
  }
  // Blob, FormData and URLSearchParams: let the host serialise them, boundary included.
  const serialised = new Response(body);
  const bytes = new Uint8Array(await serialised.arrayBuffer());
  return { bytes, type: serialised.headers.get("content-type") ?? undefined };
}

/** Builds `{ method, url, headers, body }` from fetch's `(input, init)`. */
async function requestParts(input, init) {
  const isRequest = typeof Request !== "undefined" && input instanceof Request;
  let method = isRequest ? input.method : "GET";
  if (init.method !== undefined) method = normaliseMethod(init.method);
  const url = inputUrl(input);
  let headers = isRequest ? [...input.headers] : [];
  if (init.headers !== undefined) {
    const given = headerPairs(init.headers, "init.headers");
    const names = new Set(given.map(([name]) => name.toLowerCase()));
    headers = headers.filter(([name]) => !names.has(name.toLowerCase())).concat(given);
  }
  let body;
  let type;
  if (init.body !== undefined && init.body !== null) {
    ({ bytes: body, type } = await bodyBytes(init.body));
  } else if (isRequest && input.body !== null) {
    ({ bytes: body, type } = await bodyBytes(await input.arrayBuffer()));
  }
  if ((method === "GET" || method === "HEAD") && body !== undefined) {
    throw new RequestError(`a ${method} request cannot have a body`, { method, url });
  }
  if (type !== undefined && !headers.some(([name]) => name.toLowerCase() === "content-type")) {
    headers.push(["content-type", type]);
  }
  return { method, url, headers, body };
}

/** Returns a promise that resolves with the signal's reason when it aborts. */
function abortPromise(signal) {
  if (!signal) return undefined;
  return new Promise((resolve) => {
    signal.addEventListener("abort", () => resolve(signal.reason), { once: true });
  });
}

/** Wraps the wasm response in a standard Response with a streaming body. */
function toResponse(raw, request, abort) {
  let body = null;
  if (request.method !== "HEAD" && !NULL_BODY_STATUSES.includes(raw.status)) {
    body = new ReadableStream({
      async pull(controller) {
        try {
          const chunk = await raw.read(abort);
          if (chunk === undefined) controller.close();
          else controller.enqueue(chunk);
        } catch (error) {
          throw fromRaw(error, request.method, request.url);
        }
      },
      cancel() {
        raw.cancel();
      },
    });
  } else {
    raw.cancel();
  }
  const headers = new Headers(raw.headers);
  if (!headers.has(raw.requestIdHeader)) headers.set(raw.requestIdHeader, raw.requestId);
  const response = new Response(body, { status: raw.status, headers });
  Object.defineProperties(response, {
    url: { value: raw.url, enumerable: true },
    attempts: { get: () => raw.attempts, enumerable: true },
    requestId: { value: raw.requestId, enumerable: true },
    retryAfter: { value: raw.retryAfter, enumerable: true },
    stopReason: { value: raw.stopReason, enumerable: true },
    budgetExhausted: { value: raw.budgetExhausted, enumerable: true },
  });
  return response;
}

/** A robust HTTP client with the retry, deadline and body rules of steadfast. */
export class Client {
  #options;
  #raw = null;

  constructor(options) {
    this.#options = checkClientOptions(options);
    if (loadWasm === null) this.#raw = new RawClient(this.#options.raw);
  }

  async #client() {
    await ensureWasm();
    this.#raw ??= new RawClient(this.#options.raw);
    return this.#raw;
  }

  /** Sends a request, retrying as the policy allows; resolves to the last Response. */
  async fetch(input, init = {}) {
    const { raw, parts, abort } = await this.#send(input, init);
    return toResponse(raw, parts, abort);
  }

  /** Runs one logical request up to its delivered response head. */
  async #send(input, init) {
    const overrides = checkInit(init, this.#options.retry);
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    const parts = await requestParts(input, init);
    const client = await this.#client();
    const abort = abortPromise(signal);
    const idempotencyKey = overrides.idempotencyKey ?? this.#options.idempotencyKey;
    const fetchFunction = wrapFetch(this.#options, parts);
    const request = { ...parts, ...overrides, idempotencyKey, fetch: fetchFunction };
    try {
      return { raw: await client.send(request, abort), parts, abort };
    } catch (error) {
      throw fromRaw(error, parts.method, parts.url);
    }
  }

  get(url, init) {
    return this.fetch(url, { ...init, method: "GET" });
  }

  post(url, init) {
    return this.fetch(url, { ...init, method: "POST" });
  }

  put(url, init) {
    return this.fetch(url, { ...init, method: "PUT" });
  }

  patch(url, init) {
    return this.fetch(url, { ...init, method: "PATCH" });
  }

  delete(url, init) {
    return this.fetch(url, { ...init, method: "DELETE" });
  }

  head(url, init) {
    return this.fetch(url, { ...init, method: "HEAD" });
  }

  /**
   * Resolves to the parsed JSON body; throws HTTPError for a 4xx or 5xx status. The body is
   * read as a buffered read, so `totalTimeout` bounds it too.
   */
  async json(url, init = {}) {
    const headers = headerPairs(init.headers, "init.headers");
    if (!headers.some(([name]) => name.toLowerCase() === "accept")) {
      headers.push(["accept", "application/json"]);
    }
    const { raw, parts, abort } = await this.#send(url, { ...init, headers });
    if (raw.status < 200 || raw.status > 299) {
      const response = toResponse(raw, parts, abort);
      throw new HTTPError(response, { method: parts.method, url: response.url || parts.url });
    }
    let bytes;
    try {
      bytes = await raw.readAll(abort);
    } catch (error) {
      throw fromRaw(error, parts.method, parts.url);
    }
    // The host parses JSON, so the wasm module carries no JSON parser.
    return JSON.parse(new TextDecoder().decode(bytes));
  }
}
