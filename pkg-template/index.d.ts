// Types of the steadfast npm package. Durations are in milliseconds.

/** The jitter mode, which spreads retries of many clients apart. */
export type Jitter = "full" | "equal" | "decorrelated" | "none";

/** When and how often a request is sent again. */
export interface RetryOptions {
  /** Retries after the first attempt, so attempts = limit + 1. Default: 2. */
  limit?: number;
  /** Backoff before the first retry; retry n waits initialDelay × 2^(n−1) before jitter. Default: 200. */
  initialDelay?: number;
  /** Cap on every backoff delay; must not be below initialDelay, at most 86400000 (24 hours). Default: 10000. */
  backoffLimit?: number;
  /** Jitter mode; "full" draws uniformly from [0, delay]. Default: "full". */
  jitter?: Jitter;
  /** Retryable statuses, each in 400..599; 413 is retried only with Retry-After. Default: [408, 425, 429, 500, 502, 503, 504]. */
  statusCodes?: number[];
  /**
   * Methods retried without an Idempotency-Key. Default: ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"].
   * POST and PATCH are retried only with an idempotencyKey.
   */
  methods?: string[];
  /** Longest Retry-After waited for, at most 86400000 (24 hours); a longer one returns the response at once. Default: 60000. */
  maxRetryAfter?: number;
  /** Whether an attempt timeout is retried. Default: true. */
  retryOnTimeout?: boolean;
  /**
   * Whether the client's per-origin retry budget applies: during an outage it stops retries
   * once they pass about 10% of the requests to that origin, plus 10 per 10 s. Default: true.
   */
  budget?: boolean;
}

/** The argument of `beforeRetry` hooks. */
export interface BeforeRetryState {
  /** The Request of the attempt about to be sent. */
  request: Request;
  options: HookOptions;
  /** 1 for the first retry. */
  retryCount: number;
  /** Milliseconds since the previous attempt ended: the backoff or Retry-After wait. */
  delay: number;
  /** Why the previous attempt is retried, such as "status 503, Retry-After: 2". */
  reason: string;
  /** The previous attempt's failure, when it had no response. */
  error?: unknown;
  /** The previous attempt's response, when it had one; its body has been discarded. */
  response?: Response;
}

/** The request a hook belongs to. */
export interface HookOptions {
  method: string;
  url: string;
  retry?: RetryOptions;
}

/** An error a hook throws rejects the call with that error at once, with no retry. */
export interface Hooks {
  /** Called before every attempt; may return a Request to send instead, or a Response to use. Default: []. */
  beforeRequest?: Array<(request: Request, options: HookOptions) => Request | Response | void | Promise<Request | Response | void>>;
  /** Called before every retry, after its wait. Default: []. */
  beforeRetry?: Array<(state: BeforeRetryState) => void | Promise<void>>;
  /** Called with every attempt's response; may return a Response to use instead. Default: []. */
  afterResponse?: Array<(request: Request, options: HookOptions, response: Response) => Response | void | Promise<Response | void>>;
}

export interface ClientOptions {
  /** Retry policy, or a number as its limit. Default: { limit: 2 }. */
  retry?: RetryOptions | number;
  /** Timeout of one attempt up to its response head. Default: 30000. */
  timeout?: number;
  /**
   * Timeout of the whole call: attempts, waits and, for `client.json`, the body. The body of
   * a Response from `client.fetch` is streamed, so only `readTimeout` bounds reading it.
   * Default: none.
   */
  totalTimeout?: number;
  /** Maximum wait for the next body bytes from the network, also while you read the body. Default: 30000. */
  readTimeout?: number;
  /** Headers sent on every request. Default: none (outside browsers, User-Agent: steadfast/VERSION). */
  headers?: HeadersInit;
  /**
   * Whether to send X-Request-ID: true sends it except on cross-origin browser requests
   * (where it would force a CORS preflight), "always" sends it there too, false never.
   * The id is generated either way and reported on responses and errors. Default: true.
   */
  requestId?: boolean | "always";
  /** "auto" sends a generated Idempotency-Key on every call, which makes POST and PATCH retryable. Default: none. */
  idempotencyKey?: "auto";
  /**
   * The fetch function every attempt calls, such as a Worker service binding's fetch. An error it throws is a
   * network failure, which may be retried; a value other than a Response rejects the call with a TypeError.
   * Default: globalThis.fetch.
   */
  fetch?: (request: Request) => Promise<Response>;
  /** Functions called around attempts, as in ky. Default: {}. */
  hooks?: Hooks;
}

/** Per-call options: what fetch takes, plus overrides of the client's options. */
export interface RequestOptions {
  method?: string;
  headers?: HeadersInit;
  /** Sent byte for byte on every attempt. A ReadableStream is rejected, because it could not be sent twice. */
  body?: BodyInit | null;
  /** Aborts the running attempt and any wait at once; the call rejects with the signal's reason. */
  signal?: AbortSignal | null;
  /** Changes only the retry fields it names. Default: the client's. */
  retry?: RetryOptions | number;
  /** Default: the client's. */
  timeout?: number;
  /** Default: the client's. */
  totalTimeout?: number;
  /** Default: the client's. */
  readTimeout?: number;
  /** "auto" or your own key, sent unchanged on every attempt. Default: the client's. */
  idempotencyKey?: "auto" | string;
}

/** A standard Response, plus what steadfast recorded about the call. */
export interface SteadfastResponse extends Response {
  /** Attempts sent so far, a resume of the body included. */
  readonly attempts: number;
  /** The request id sent on every attempt (also in `headers`). */
  readonly requestId: string;
  /** The server's Retry-After in milliseconds, when the status was retryable. */
  readonly retryAfter: number | undefined;
  /** Why no further attempt was made, when the status was retryable. */
  readonly stopReason: string | undefined;
  /** Whether the origin's retry budget stopped a retry. */
  readonly budgetExhausted: boolean;
}

export class Client {
  /** @throws {TypeError} naming the first invalid option; nothing is sent. */
  constructor(options?: ClientOptions);
  /**
   * Sends a request with every retry the policy allows; resolves to the last response, whatever its status.
   * A Request input's signal aborts the call too, and its body is read from a clone. A Request whose mode,
   * credentials, cache, redirect, integrity or keepalive differs from fetch's default is rejected with a
   * TypeError, because steadfast does not pass those on. A null init is treated as an empty one.
   */
  fetch(input: string | URL | Request, init?: RequestOptions | null): Promise<SteadfastResponse>;
  get(url: string | URL, init?: RequestOptions): Promise<SteadfastResponse>;
  post(url: string | URL, init?: RequestOptions): Promise<SteadfastResponse>;
  put(url: string | URL, init?: RequestOptions): Promise<SteadfastResponse>;
  patch(url: string | URL, init?: RequestOptions): Promise<SteadfastResponse>;
  delete(url: string | URL, init?: RequestOptions): Promise<SteadfastResponse>;
  head(url: string | URL, init?: RequestOptions): Promise<SteadfastResponse>;
  /**
   * Resolves to the parsed body, or to undefined when the body is empty (a 204, for example).
   * @throws {HTTPError} for a 4xx or 5xx status.
   * @throws {BodyError} when the body is not valid JSON, with `status`, `requestId` and the SyntaxError as `cause`.
   */
  json<T = unknown>(url: string | URL, init?: RequestOptions | null): Promise<T | undefined>;
}

/** The base class of steadfast's errors. */
export class SteadfastError extends Error {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly status: number | undefined;
  /** Attempts sent. */
  readonly attempts: number;
  readonly requestId: string | undefined;
  /** The server's Retry-After in milliseconds. */
  readonly retryAfter: number | undefined;
  /** Why no further attempt was made. */
  readonly stopReason: string | undefined;
  /** Whether the origin's retry budget stopped a retry. */
  readonly budgetExhausted: boolean;
}
export class HTTPError extends SteadfastError {
  readonly name: "HTTPError";
  readonly status: number;
  /** The response, body unread. */
  readonly response: SteadfastResponse;
  readonly request: { method: string; url: string };
}
export class TimeoutError extends SteadfastError {
  readonly name: "TimeoutError";
  readonly phase: "attempt" | "read" | "total";
}
export class NetworkError extends SteadfastError {
  readonly name: "NetworkError";
}
export class BodyError extends SteadfastError {
  readonly name: "BodyError";
}
/** An invalid request, such as a header value with CR or LF; nothing was sent. */
export class RequestError extends TypeError {
  readonly name: "RequestError";
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly attempts: 0;
}

export function isSteadfastError(error: unknown): error is SteadfastError | RequestError;
export function isHTTPError(error: unknown): error is HTTPError;
export function isTimeoutError(error: unknown): error is TimeoutError;
export function isNetworkError(error: unknown): error is NetworkError;
export function isBodyError(error: unknown): error is BodyError;
export function isRequestError(error: unknown): error is RequestError;
