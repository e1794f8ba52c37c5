// The Client class: turns what fetch accepts into the input of the wasm client, and the
// wasm client's response into a standard Response whose body streams from the Rust side.

import { RawClient } from "./steadfast.js";
import { BodyError, HTTPError, RequestError, fromRaw, jsMessage } from "./errors.js";
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

// Request properties steadfast does not pass on, with fetch's defaults. A Request with another
// value is rejected, as the same member of `init` is, rather than sent as if it had the default.
const REQUEST_DEFAULTS = [
  ["mode", "cors"],
  ["credentials", "same-origin"],
  ["cache", "default"],
  ["redirect", "follow"],
  ["integrity", ""],
  ["keepalive", false],
];

function isRequest(input) {
  return typeof Request !== "undefined" && input instanceof Request;
}

function checkRequestProperties(request) {
  for (const [name, fallback] of REQUEST_DEFAULTS) {
    let value;
    try {
      value = request[name];
    } catch {
      // A runtime may throw on a member it does not implement; that member keeps its default.
      continue;
    }
    if (value !== undefined && value !== fallback) {
      throw new RequestError(
        `unsupported Request property ${name}: ${JSON.stringify(value)}; steadfast does not pass ` +
          `${name} on, so pass new Request(request, { ${name}: ${JSON.stringify(fallback)} }) instead`,
        { method: request.method, url: request.url },
      );
    }
  }
}

/** Throws a RequestError for a URL that has a scheme but does not parse. */
function checkAbsoluteUrl(url, method) {
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(url)) return;
  try {
    new URL(url);
  } catch {
    throw new RequestError(
      `invalid URL ${JSON.stringify(url)}: the URL parser rejects it; use a valid http:// or https:// URL`,
      { method, url },
    );
  }
}

function inputUrl(input) {
  if (typeof input === "string") return input;
  if (input instanceof URL) return input.href;
  if (isRequest(input)) return input.url;
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
  const fromRequest = isRequest(input);
  if (fromRequest) checkRequestProperties(input);
  let method = fromRequest ? input.method : "GET";
  if (init.method !== undefined) method = normaliseMethod(init.method);
  const url = inputUrl(input);
  checkAbsoluteUrl(url, method);
  let headers = fromRequest ? [...input.headers] : [];
  if (init.headers !== undefined) {
    const given = headerPairs(init.headers, "init.headers");
    const names = new Set(given.map(([name]) => name.toLowerCase()));
    headers = headers.filter(([name]) => !names.has(name.toLowerCase())).concat(given);
  }
  let body;
  let type;
  if (init.body !== undefined && init.body !== null) {
    ({ bytes: body, type } = await bodyBytes(init.body));
  } else if (fromRequest && input.body !== null) {
    // A clone leaves the caller's Request body unread.
    ({ bytes: body, type } = await bodyBytes(await input.clone().arrayBuffer()));
  }
  if ((method === "GET" || method === "HEAD") && body !== undefined) {
    throw new RequestError(`a ${method} request cannot have a body`, { method, url });
  }
  if (type !== undefined && !headers.some(([name]) => name.toLowerCase() === "content-type")) {
    headers.push(["content-type", type]);
  }
  return { method, url, headers, body };
}

/**
 * The abort of one call: `promise` resolves with the reason of the first signal that aborts,
 * or with the error passed to `fail`, and the wasm client then drops the call and rejects
 * with that value. `dispose` removes the listeners from the caller's signals.
 */
class CallAbort {
  settled = false;
  reason = undefined;
  // False when nothing can end the call early: the wasm client then gets no promise, because
  // every body read would otherwise add a callback to a promise that never settles.
  watched = true;
  #resolve;
  #removers = [];

  constructor(signals) {
    this.promise = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    for (const signal of signals) {
      // A listener added to a signal that has already aborted never fires.
      if (signal.aborted) {
        this.fail(signal.reason);
        return;
      }
      const listener = () => this.fail(signal.reason);
      signal.addEventListener("abort", listener, { once: true });
      this.#removers.push(() => signal.removeEventListener?.("abort", listener));
    }
  }

  /** Ends the call with `reason`, unless it has already ended. */
  fail(reason) {
    if (this.settled) return;
    this.settled = true;
    this.reason = reason;
    this.#resolve(reason);
    this.dispose();
  }

  /** Throws the reason the call ended with, if it has ended. */
  throwIfSettled() {
    if (this.settled) throw this.reason;
  }

  /** Returns the promise to hand to the wasm client, or undefined when it is not watched. */
  get wasmPromise() {
    return this.watched ? this.promise : undefined;
  }

  dispose() {
    for (const remove of this.#removers) remove();
    this.#removers = [];
  }
}

/** Wraps the wasm response in a standard Response with a streaming body. */
function toResponse(raw, request, abort) {
  let body = null;
  if (request.method !== "HEAD" && !NULL_BODY_STATUSES.includes(raw.status)) {
    body = new ReadableStream({
      async pull(controller) {
        try {
          const chunk = await raw.read(abort.wasmPromise);
          if (chunk === undefined) {
            abort.dispose();
            controller.close();
          } else {
            controller.enqueue(chunk);
          }
        } catch (error) {
          abort.dispose();
          if (abort.settled) throw abort.reason;
          throw fromRaw(error, request.method, request.url);
        }
      },
      cancel() {
        abort.dispose();
        raw.cancel();
      },
    });
  } else {
    abort.dispose();
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
    stopReason: { value: raw.stopReason && jsMessage(raw.stopReason), enumerable: true },
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
  async fetch(input, init) {
    const { raw, parts, abort } = await this.#send(input, init);
    return toResponse(raw, parts, abort);
  }

  /** Runs one logical request up to its delivered response head. */
  async #send(input, init) {
    // fetch treats a null init as an empty one.
    init ??= {};
    const overrides = checkInit(init, this.#options.retry);
    const signals = [init.signal, isRequest(input) ? input.signal : undefined].filter(
      (signal) => signal !== undefined && signal !== null,
    );
    for (const signal of signals) {
      if (signal.aborted) throw signal.reason;
    }
    // The listeners go on before the first await, so an abort during it is not lost.
    const abort = new CallAbort(signals);
    let parts;
    try {
      parts = await requestParts(input, init);
      const client = await this.#client();
      abort.throwIfSettled();
      const idempotencyKey = overrides.idempotencyKey ?? this.#options.idempotencyKey;
      const fetchFunction = wrapFetch(this.#options, parts, (error) => abort.fail(error));
      abort.watched = signals.length > 0 || fetchFunction !== undefined;
      const request = { ...parts, ...overrides, idempotencyKey, fetch: fetchFunction };
      return { raw: await client.send(request, abort.wasmPromise), parts, abort };
    } catch (error) {
      abort.dispose();
      // A hook's error or the signal's reason wins over the failure it caused in the wasm call.
      if (abort.settled) throw abort.reason;
      throw fromRaw(error, parts?.method, parts?.url);
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
  async json(url, init) {
    init ??= {};
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
      bytes = await raw.readAll(abort.wasmPromise);
    } catch (error) {
      if (abort.settled) throw abort.reason;
      throw fromRaw(error, parts.method, parts.url);
    } finally {
      abort.dispose();
    }
    // An empty body, as a 204 has, is undefined rather than a SyntaxError.
    if (bytes.length === 0) return undefined;
    // The host parses JSON, so the wasm module carries no JSON parser.
    try {
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      const details = {
        method: parts.method,
        url: raw.url || parts.url,
        status: raw.status,
        attempts: raw.attempts,
        requestId: raw.requestId,
      };
      const message = `invalid JSON in the ${raw.status} response to ${parts.method} ${details.url}: ${error.message}`;
      throw new BodyError(message, details, { cause: error });
    }
  }
}
