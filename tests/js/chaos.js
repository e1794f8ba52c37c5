// Scenario control for the steadfast-chaos server that scripts/with-chaos.sh starts. The
// same module is imported by the Node, Deno and Worker suites, so it uses only fetch.

let counter = 0;

/** Returns the chaos server's primary base URL, or throws when the suite runs without it. */
export function chaosUrl(env = globalThis.process?.env ?? {}) {
  const url = env.STEADFAST_CHAOS_URL;
  if (!url) {
    throw new Error("STEADFAST_CHAOS_URL is not set: run the suite through scripts/with-chaos.sh");
  }
  return url;
}

/** Scripts a new scenario with `steps` and returns its id and request URL. */
export async function scenario(base, steps, { fetch: send = globalThis.fetch } = {}) {
  counter += 1;
  const id = `js-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
  const response = await send(`${base}/__chaos/scenario/${id}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ steps }),
  });
  if (response.status !== 204) {
    throw new Error(`scripting scenario ${id} failed with ${response.status}: ${await response.text()}`);
  }
  return { id, url: `${base}/s/${id}` };
}

/** Returns the requests the server logged for scenario `id`, header names lowercase. */
export async function requestLog(base, id, { fetch: send = globalThis.fetch } = {}) {
  const response = await send(`${base}/__chaos/log/${id}`);
  if (!response.ok) throw new Error(`reading the log of ${id} failed with ${response.status}`);
  const entries = await response.json();
  return entries.map((entry) => ({
    ...entry,
    header(name) {
      const found = entry.headers.find(([key]) => key.toLowerCase() === name.toLowerCase());
      return found?.[1];
    },
  }));
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Returns byte i of the chaos server's pattern bodies. */
export const patternByte = (i) => i % 251;
