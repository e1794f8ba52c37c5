// Error classes of the steadfast package. Each has a stable `name`, so code that sees an
// error from another copy of the package (or across realms) can test `error.name`, which is
// what the `is…` guards do.

// Rust option names in the core's messages, and the JavaScript names for them.
// `timeout` comes first, because `attempt_timeout` becomes `timeout`.
const OPTION_NAMES = [
  ["`timeout`", "`totalTimeout`"],
  ["`attempt_timeout`", "`timeout`"],
  ["`read_timeout`", "`readTimeout`"],
  ["max_retry_after", "retry.maxRetryAfter"],
  ["RetryBudget::disabled() turns it off", "retry: { budget: false } turns it off"],
];

export function jsMessage(message) {
  let text = message;
  for (const [rust, js] of OPTION_NAMES) {
    text = text.split(rust).join(js);
  }
  return text;
}

/** The base class of the errors a steadfast call rejects with. */
export class SteadfastError extends Error {
  constructor(message, details = {}, options) {
    super(message, options);
    this.name = "SteadfastError";
    this.method = details.method;
    this.url = details.url;
    this.status = details.status;
    this.attempts = details.attempts ?? 0;
    this.requestId = details.requestId;
    this.retryAfter = details.retryAfter;
    this.stopReason = details.stopReason;
    this.budgetExhausted = details.budgetExhausted ?? false;
  }
}

/** A response with a 4xx or 5xx status, from `client.json` and the other helpers. */
export class HTTPError extends SteadfastError {
  constructor(response, request) {
    const details = {
      method: request.method,
      url: request.url,
      status: response.status,
      attempts: response.attempts,
      requestId: response.requestId,
      retryAfter: response.retryAfter,
      stopReason: response.stopReason,
      budgetExhausted: response.budgetExhausted,
    };
    const reason = response.statusText ? ` ${response.statusText}` : "";
    let message = `HTTP status ${response.status}${reason} for ${request.method} ${request.url}`;
    if (details.attempts > 1) message += ` after ${details.attempts} attempts`;
    if (details.stopReason) message += `; ${jsMessage(details.stopReason)}`;
    super(message, details);
    this.name = "HTTPError";
    this.response = response;
    this.request = request;
  }
}

/** A deadline passed; `phase` is `"attempt"`, `"read"` or `"total"`. */
export class TimeoutError extends SteadfastError {
  constructor(message, details, options) {
    super(message, details, options);
    this.name = "TimeoutError";
    this.phase = details.phase;
  }
}

/** The request could not be sent or the connection failed before the response head. */
export class NetworkError extends SteadfastError {
  constructor(message, details, options) {
    super(message, details, options);
    this.name = "NetworkError";
  }
}

/**
 * The response body failed: cut short, interrupted and not resumable, a resume that could
 * not be joined, or a size limit.
 */
export class BodyError extends SteadfastError {
  constructor(message, details, options) {
    super(message, details, options);
    this.name = "BodyError";
  }
}

/** An invalid request or option; nothing was sent. A `TypeError`, as fetch throws. */
export class RequestError extends TypeError {
  constructor(message, details = {}, options) {
    super(message, options);
    this.name = "RequestError";
    this.method = details.method;
    this.url = details.url;
    this.attempts = 0;
  }
}

export const isSteadfastError = (error) =>
  error instanceof SteadfastError ||
  ["HTTPError", "TimeoutError", "NetworkError", "BodyError", "RequestError", "SteadfastError"].includes(
    error?.name,
  );
export const isHTTPError = (error) => error?.name === "HTTPError";
export const isTimeoutError = (error) => error?.name === "TimeoutError";
export const isNetworkError = (error) => error?.name === "NetworkError";
export const isBodyError = (error) => error?.name === "BodyError";
export const isRequestError = (error) => error?.name === "RequestError";

/**
 * Turns what the wasm module rejected with into the error to throw: a steadfast error object
 * becomes an instance of the class for its kind, and anything else (a signal's abort reason,
 * a `TypeError`) is returned as it is.
 */
export function fromRaw(raw, method, url) {
  if (raw === null || typeof raw !== "object" || raw.steadfastError !== true) return raw;
  const details = { ...raw, method, url };
  const message = jsMessage(raw.message);
  const options = raw.detail === undefined ? undefined : { cause: new Error(raw.detail) };
  switch (raw.kind) {
    case "builder":
      return new RequestError(message, details, options);
    case "timeout":
      return new TimeoutError(message, details, options);
    case "body":
    case "decode":
      return new BodyError(message, details, options);
    case "connect":
    case "request":
      return new NetworkError(message, details, options);
    default: {
      const error = new SteadfastError(message, details, options);
      if (raw.kind === "cancelled") error.name = "AbortError";
      return error;
    }
  }
}
