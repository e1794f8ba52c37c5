// The fetch function each attempt calls: the `fetch` option or the global fetch, with the
// `beforeRequest`, `beforeRetry` and `afterResponse` hooks around it. The Rust side decides
// when an attempt starts; this wrapper only sees each attempt's Request and outcome.

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** Describes why the previous attempt was not the last, for `beforeRetry`. */
function retryReason(previous, request) {
  if (previous.response) {
    const { status } = previous.response;
    if (status >= 200 && status < 300 && request.headers.has("range")) {
      return `the body of the ${status} response failed; resuming with ${request.headers.get("range")}`;
    }
    if (status >= 200 && status < 300) return `the body of the ${status} response failed`;
    const retryAfter = previous.response.headers.get("retry-after");
    return retryAfter === null ? `status ${status}` : `status ${status}, Retry-After: ${retryAfter}`;
  }
  if (previous.aborted) return "the attempt timed out";
  const error = previous.error;
  const cause = error?.cause?.code ? ` (${error.cause.code})` : "";
  return `${error?.name ?? "Error"}: ${error?.message ?? String(error)}${cause}`;
}

/** Returns whether `value` is a Response, also one from another realm. */
function isResponse(value) {
  if (typeof Response !== "undefined" && value instanceof Response) return true;
  return Object.prototype.toString.call(value) === "[object Response]";
}

function describe(value) {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value === "undefined" ? "undefined" : `a ${typeof value}`;
  const name = Object.getPrototypeOf(value)?.constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "a plain object";
}

/**
 * Returns the function the Rust side calls for every attempt of one logical request, or
 * undefined when the client has neither a `fetch` option nor hooks, so the global fetch is
 * called directly.
 *
 * An error thrown by a hook, or a `fetch` option that resolves to something other than a
 * Response, is passed to `fail`, which ends the call with that error at once. Only an error
 * of the `fetch` option itself is a network failure that may be retried.
 */
export function wrapFetch(clientOptions, parts, fail) {
  const { hooks } = clientOptions;
  const hookCount = hooks.beforeRequest.length + hooks.beforeRetry.length + hooks.afterResponse.length;
  if (clientOptions.fetch === undefined && hookCount === 0) return undefined;
  const send = clientOptions.fetch ?? ((request) => globalThis.fetch(request));
  const options = { method: parts.method, url: parts.url, retry: clientOptions.retry };
  let attempt = 0;
  let previous = null;
  let previousEnd = 0;
  let fatal;
  const failWith = (error) => {
    fatal ??= { error };
    fail(fatal.error);
    return fatal.error;
  };

  return async (request) => {
    // The call has already ended; a retry the wasm client started meanwhile sends nothing.
    if (fatal !== undefined) throw fatal.error;
    try {
      return await attemptWithHooks(request);
    } catch (error) {
      if (error instanceof SendFailure) throw error.error;
      throw failWith(error);
    }
  };

  async function attemptWithHooks(request) {
    attempt += 1;
    if (previous !== null) {
      const info = {
        request,
        options,
        retryCount: attempt - 1,
        delay: Math.max(0, Math.round(now() - previousEnd)),
        reason: retryReason(previous, request),
        error: previous.error,
        response: previous.response,
      };
      for (const hook of hooks.beforeRetry) await hook(info);
    }
    let response;
    for (const hook of hooks.beforeRequest) {
      const result = await hook(request, options);
      if (result instanceof Request) request = result;
      if (result instanceof Response) {
        response = result;
        break;
      }
    }
    if (response === undefined) {
      try {
        response = await send(request);
      } catch (error) {
        previous = { error, aborted: request.signal?.aborted === true };
        previousEnd = now();
        throw new SendFailure(error);
      }
      if (!isResponse(response)) {
        throw new TypeError(`the fetch option returned ${describe(response)}; expected a Response`);
      }
    }
    for (const hook of hooks.afterResponse) {
      const result = await hook(request, options, response);
      if (result instanceof Response) response = result;
    }
    previous = { response };
    previousEnd = now();
    return response;
  }
}

/** Carries a failure of the fetch function, which the wasm client may retry. */
class SendFailure {
  constructor(error) {
    this.error = error;
  }
}
