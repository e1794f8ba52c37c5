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

/**
 * Returns the function the Rust side calls for every attempt of one logical request, or
 * undefined when the client has neither a `fetch` option nor hooks, so the global fetch is
 * called directly.
 */
export function wrapFetch(clientOptions, parts) {
  const { hooks } = clientOptions;
  const hookCount = hooks.beforeRequest.length + hooks.beforeRetry.length + hooks.afterResponse.length;
  if (clientOptions.fetch === undefined && hookCount === 0) return undefined;
  const send = clientOptions.fetch ?? ((request) => globalThis.fetch(request));
  const options = { method: parts.method, url: parts.url, retry: clientOptions.retry };
  let attempt = 0;
  let previous = null;
  let previousEnd = 0;

  return async (request) => {
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
    try {
      response ??= await send(request);
    } catch (error) {
      previous = { error, aborted: request.signal?.aborted === true };
      previousEnd = now();
      throw error;
    }
    for (const hook of hooks.afterResponse) {
      const result = await hook(request, options, response);
      if (result instanceof Response) response = result;
    }
    previous = { response };
    previousEnd = now();
    return response;
  };
}
