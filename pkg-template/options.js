// Validation of client options and per-call overrides. Every check runs before anything is
// sent, and a failure throws a TypeError that names the option and shows the value.

const RETRY_KEYS = [
  "limit",
  "initialDelay",
  "backoffLimit",
  "jitter",
  "statusCodes",
  "methods",
  "maxRetryAfter",
  "retryOnTimeout",
  "budget",
];
const CLIENT_KEYS = [
  "retry",
  "timeout",
  "totalTimeout",
  "readTimeout",
  "headers",
  "requestId",
  "idempotencyKey",
  "fetch",
  "hooks",
];
const HOOK_KEYS = ["beforeRequest", "beforeRetry", "afterResponse"];
const OVERRIDE_KEYS = ["retry", "timeout", "totalTimeout", "readTimeout", "idempotencyKey"];
// The RequestInit members steadfast passes on; fetch's others (mode, credentials, cache, …)
// are rejected rather than silently dropped.
const INIT_KEYS = ["method", "headers", "body", "signal", ...OVERRIDE_KEYS];
const JITTERS = ["full", "equal", "decorrelated", "none"];
// setTimeout's limit: a longer delay overflows its 32-bit argument.
const MAX_MS = 2 ** 31 - 1;
// The core's limit on backoffLimit and maxRetryAfter: 24 hours.
const MAX_WAIT_MS = 86_400_000;

function show(value) {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function invalid(name, value, expected) {
  return new TypeError(`invalid option ${name}: ${show(value)}; expected ${expected}`);
}

function isPlainObject(value) {
  if (value === null || typeof value !== "object") return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function checkKeys(object, allowed, prefix) {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      const hint = `one of ${allowed.join(", ")}`;
      throw new TypeError(`unknown option ${prefix}${key}: expected ${hint}`);
    }
  }
}

function checkMillis(name, value, { positive, max = MAX_MS }) {
  if (value === undefined) return undefined;
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (positive ? value > 0 : value >= 0) &&
    value <= max;
  if (!ok) {
    const range = positive ? "a positive" : "a non-negative";
    throw invalid(name, value, `${range} number of milliseconds, at most ${max}`);
  }
  return value;
}

/** Returns the normalised retry options: `{}` fields the Rust side reads. */
export function checkRetry(retry, name = "retry") {
  if (retry === undefined) return undefined;
  if (typeof retry === "number") retry = { limit: retry };
  if (!isPlainObject(retry)) throw invalid(name, retry, "a number or an object");
  checkKeys(retry, RETRY_KEYS, `${name}.`);
  const out = {};
  if (retry.limit !== undefined) {
    if (!Number.isInteger(retry.limit) || retry.limit < 0 || retry.limit >= 2 ** 32 - 1) {
      throw invalid(`${name}.limit`, retry.limit, "a non-negative integer (retries after the first attempt)");
    }
    out.limit = retry.limit;
  }
  out.initialDelay = checkMillis(`${name}.initialDelay`, retry.initialDelay, { positive: false });
  const wait = { positive: false, max: MAX_WAIT_MS };
  out.backoffLimit = checkMillis(`${name}.backoffLimit`, retry.backoffLimit, wait);
  out.maxRetryAfter = checkMillis(`${name}.maxRetryAfter`, retry.maxRetryAfter, wait);
  const initial = out.initialDelay ?? 200;
  const cap = out.backoffLimit ?? 10_000;
  if (initial > cap) {
    throw new TypeError(
      `invalid option ${name}.initialDelay: ${initial} is above ${name}.backoffLimit ${cap}; ` +
        `raise backoffLimit or lower initialDelay`,
    );
  }
  if (retry.jitter !== undefined) {
    if (!JITTERS.includes(retry.jitter)) {
      throw invalid(`${name}.jitter`, retry.jitter, JITTERS.map((j) => `"${j}"`).join(", "));
    }
    out.jitter = retry.jitter;
  }
  if (retry.statusCodes !== undefined) {
    const codes = retry.statusCodes;
    // The core retries only error statuses.
    const ok = Array.isArray(codes) && codes.every((c) => Number.isInteger(c) && c >= 400 && c <= 599);
    if (!ok) throw invalid(`${name}.statusCodes`, codes, "an array of integer statuses in 400..599");
    out.statusCodes = [...codes];
  }
  if (retry.methods !== undefined) {
    const methods = retry.methods;
    const ok = Array.isArray(methods) && methods.every((m) => typeof m === "string" && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(m));
    if (!ok) throw invalid(`${name}.methods`, methods, "an array of method names");
    out.methods = methods.map((m) => m.toUpperCase());
  }
  if (retry.retryOnTimeout !== undefined) {
    if (typeof retry.retryOnTimeout !== "boolean") {
      throw invalid(`${name}.retryOnTimeout`, retry.retryOnTimeout, "true or false");
    }
    out.retryOnTimeout = retry.retryOnTimeout;
  }
  if (retry.budget !== undefined) {
    if (typeof retry.budget !== "boolean") {
      throw invalid(`${name}.budget`, retry.budget, "true or false");
    }
    out.budget = retry.budget;
  }
  return out;
}

/**
 * Returns header pairs, unnormalised, from what fetch accepts: a Headers (also from another
 * realm), a Map or any other iterable of [name, value] pairs, or a plain object.
 */
export function headerPairs(headers, name = "headers") {
  if (headers === undefined || headers === null) return [];
  if (typeof Headers !== "undefined" && headers instanceof Headers) return [...headers];
  if (typeof headers === "object" && typeof headers[Symbol.iterator] === "function") {
    return Array.from(headers, (pair) => {
      if (pair === null || typeof pair !== "object" || typeof pair[Symbol.iterator] !== "function") {
        throw invalid(name, pair, "[name, value] pairs");
      }
      const items = [...pair];
      if (items.length !== 2) throw invalid(name, pair, "[name, value] pairs");
      return [String(items[0]), String(items[1])];
    });
  }
  if (typeof headers === "object" && typeof headers.forEach === "function") {
    const pairs = [];
    headers.forEach((value, key) => pairs.push([String(key), String(value)]));
    return pairs;
  }
  if (typeof headers === "object") {
    return Object.entries(headers).map(([key, value]) => [key, String(value)]);
  }
  throw invalid(name, headers, "a Headers, an array of [name, value] pairs or an object");
}

function checkIdempotencyKey(name, value, { allowValue }) {
  if (value === undefined || value === "auto") return value;
  if (allowValue && typeof value === "string" && value.length > 0) return value;
  const expected = allowValue ? `"auto" or a non-empty string` : `"auto" (a fixed key belongs on one call)`;
  throw invalid(name, value, expected);
}

function checkHooks(hooks) {
  if (hooks === undefined) return { beforeRequest: [], beforeRetry: [], afterResponse: [] };
  if (!isPlainObject(hooks)) throw invalid("hooks", hooks, "an object");
  checkKeys(hooks, HOOK_KEYS, "hooks.");
  const out = {};
  for (const key of HOOK_KEYS) {
    const list = hooks[key] ?? [];
    if (!Array.isArray(list) || !list.every((f) => typeof f === "function")) {
      throw invalid(`hooks.${key}`, list, "an array of functions");
    }
    out[key] = [...list];
  }
  return out;
}

/** Checks client options; returns `{ raw, fetch, hooks, idempotencyKey }`. */
export function checkClientOptions(options) {
  if (options === undefined) options = {};
  if (!isPlainObject(options)) throw invalid("options", options, "an object");
  checkKeys(options, CLIENT_KEYS, "");
  const raw = {
    retry: checkRetry(options.retry),
    timeout: checkMillis("timeout", options.timeout, { positive: true }),
    totalTimeout: checkMillis("totalTimeout", options.totalTimeout, { positive: true }),
    readTimeout: checkMillis("readTimeout", options.readTimeout, { positive: true }),
    headers: headerPairs(options.headers),
  };
  const requestId = options.requestId;
  if (requestId === undefined || requestId === true) raw.requestId = "auto";
  else if (requestId === false) raw.requestId = "never";
  else if (requestId === "always") raw.requestId = "always";
  else throw invalid("requestId", requestId, `true, false or "always"`);
  if (options.fetch !== undefined && typeof options.fetch !== "function") {
    throw invalid("fetch", options.fetch, "a function with the signature of fetch");
  }
  return {
    raw,
    retry: raw.retry,
    fetch: options.fetch,
    hooks: checkHooks(options.hooks),
    idempotencyKey: checkIdempotencyKey("idempotencyKey", options.idempotencyKey, { allowValue: false }),
  };
}

/** Checks a per-call init; returns its overrides in the form the Rust side reads. */
export function checkInit(init, clientRetry) {
  if (init === undefined || init === null) return {};
  if (typeof init !== "object") throw invalid("init", init, "an object");
  checkKeys(init, INIT_KEYS, "init.");
  const overrides = {
    timeout: checkMillis("init.timeout", init.timeout, { positive: true }),
    totalTimeout: checkMillis("init.totalTimeout", init.totalTimeout, { positive: true }),
    readTimeout: checkMillis("init.readTimeout", init.readTimeout, { positive: true }),
    idempotencyKey: checkIdempotencyKey("init.idempotencyKey", init.idempotencyKey, { allowValue: true }),
  };
  const retry = checkRetry(init.retry, "init.retry");
  if (retry !== undefined) {
    // A per-call retry object changes only the fields it names.
    const merged = { ...clientRetry, ...stripUndefined(retry) };
    overrides.retry = checkRetry(stripUndefined(merged), "init.retry");
  }
  if (init.signal !== undefined && init.signal !== null) {
    const signal = init.signal;
    if (typeof signal.aborted !== "boolean" || typeof signal.addEventListener !== "function") {
      throw invalid("init.signal", signal, "an AbortSignal");
    }
  }
  return overrides;
}

function stripUndefined(object) {
  return Object.fromEntries(Object.entries(object ?? {}).filter(([, v]) => v !== undefined));
}
