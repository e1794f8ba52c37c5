// Type-checked by `deno check` in make test-deno: uses every option of the package's .d.ts,
// so a typo or a missing declaration there fails the suite. It is never run.
import {
  Client,
  type ClientOptions,
  HTTPError,
  isHTTPError,
  isTimeoutError,
  type RequestOptions,
  type SteadfastResponse,
  TimeoutError,
} from "steadfast";

const options: ClientOptions = {
  retry: {
    limit: 3,
    initialDelay: 200,
    backoffLimit: 10_000,
    jitter: "decorrelated",
    statusCodes: [429, 503],
    methods: ["GET", "PUT"],
    maxRetryAfter: 60_000,
    retryOnTimeout: true,
  },
  timeout: 30_000,
  totalTimeout: 60_000,
  readTimeout: 30_000,
  headers: { "x-app": "types" },
  requestId: "always",
  idempotencyKey: "auto",
  fetch: (request: Request) => fetch(request),
  hooks: {
    beforeRequest: [(request) => new Request(request)],
    beforeRetry: [({ retryCount, delay, reason }) => console.log(retryCount, delay, reason)],
    afterResponse: [(_request, _options, response) => response],
  },
};

export async function use(url: string): Promise<number> {
  const client = new Client(options);
  const init: RequestOptions = { retry: 1, timeout: 500, idempotencyKey: "order-1" };
  const response: SteadfastResponse = await client.fetch(url, init);
  const attempts: number = response.attempts;
  const id: string = response.requestId;
  try {
    const value = await client.json<{ n: number }>(url);
    return (value?.n ?? 0) + attempts + id.length;
  } catch (error) {
    if (isHTTPError(error)) return error.status + error.response.status;
    if (isTimeoutError(error)) return error.phase.length;
    if (error instanceof HTTPError || error instanceof TimeoutError) return error.attempts;
    throw error;
  }
}
