// The demo page: scripts faults on the chaos server, calls it through steadfast, and draws
// each logical request as a timeline of attempts from the client's hooks.
import { Client, isHTTPError } from "steadfast";

const $ = (selector) => document.querySelector(selector);
const params = new URLSearchParams(location.search);
$("#chaos-url").value = params.get("chaos") ?? "";

let scenarioCounter = 0;

async function script(base, steps) {
  scenarioCounter += 1;
  const id = `www-${Date.now().toString(36)}-${scenarioCounter}`;
  const response = await fetch(`${base}/__chaos/scenario/${id}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ steps }),
  });
  if (response.status !== 204) throw new Error(`scripting ${id} failed: ${response.status}`);
  return `${base}/s/${id}`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Draws one logical request; returns the callbacks that fill it in. */
function timeline(title, detail) {
  const item = element("li", "call");
  item.append(element("h3", "", title), element("div", "meta", detail));
  const attempts = element("div", "attempts");
  const outcome = element("div", "outcome", "…");
  item.append(attempts, outcome);
  $("#timelines").append(item);
  let current = null;
  return {
    attempt(number, requestId) {
      if (number === 1 && requestId) item.querySelector(".meta").textContent += ` · X-Request-ID ${requestId}`;
      current = element("div", "attempt", `attempt ${number}: sent`);
      current.dataset.attempt = String(number);
      attempts.append(current);
    },
    answered(text, kind) {
      if (!current) return;
      current.textContent = `attempt ${current.dataset.attempt}: ${text}`;
      current.classList.add(kind);
    },
    waited(delay, reason) {
      attempts.append(element("div", "wait", `waited ${delay} ms — ${reason}`));
    },
    finish(text, isError) {
      outcome.textContent = text;
      if (isError) outcome.classList.add("error");
      item.dataset.done = isError ? "error" : "ok";
    },
  };
}

/** Returns a client whose hooks draw on `view`. */
function drawingClient(view, retry) {
  let number = 0;
  return new Client({
    retry: { initialDelay: 150, backoffLimit: 1000, ...retry },
    requestId: "always",
    hooks: {
      beforeRequest: [(request) => view.attempt(++number, request.headers.get("x-request-id"))],
      beforeRetry: [({ delay, reason }) => view.waited(delay, reason)],
      afterResponse: [
        (request, options, response) => {
          const kind = response.ok ? "ok" : "retry";
          view.answered(`${response.status}`, kind);
        },
      ],
    },
  });
}

const scenarios = [
  {
    title: "503 with Retry-After: 1, then 200",
    detail: "GET, retried after the server's delay, no jitter added",
    steps: [{ status: 503, retry_after: { secs: 1, form: "delta" } }, { body: { text: '{"ok":true}' } }],
    run: (client, url) => client.json(url),
  },
  {
    title: "429, then 500, then 200",
    detail: "GET, exponential backoff with full jitter",
    steps: [{ status: 429 }, { status: 500 }, { body: { text: '{"ok":true}' } }],
    run: (client, url) => client.json(url),
  },
  {
    title: "POST without Idempotency-Key gets a 502",
    detail: "not retried: the server may have acted on it",
    steps: [{ status: 502 }, { body: { text: '{"ok":true}' } }],
    run: (client, url) => client.json(url, { method: "POST", body: '{"sku":"W-42"}' }),
  },
  {
    title: "POST with idempotencyKey: \"auto\" gets a 502",
    detail: "retried: the same key on every attempt",
    steps: [{ status: 502 }, { body: { text: '{"order":17}' } }],
    run: (client, url) =>
      client.json(url, { method: "POST", body: '{"sku":"W-42"}', idempotencyKey: "auto" }),
  },
  {
    title: "Retry-After: 86400",
    detail: "above maxRetryAfter: returned at once, with the server's delay on the error",
    steps: [{ status: 503, headers: [["Retry-After", "86400"]] }],
    run: (client, url) => client.json(url),
  },
];

async function runScenario(base, scenario) {
  const view = timeline(scenario.title, scenario.detail);
  const client = drawingClient(view, scenario.retry);
  const url = await script(base, scenario.steps);
  try {
    const value = await scenario.run(client, url);
    view.finish(`resolved: ${JSON.stringify(value)}`, false);
  } catch (error) {
    let text = `${error.name}: ${error.message}`;
    if (isHTTPError(error) && error.retryAfter !== undefined) text += ` (retryAfter ${error.retryAfter} ms)`;
    view.finish(text, true);
  }
}

async function runDownload(base) {
  const size = 2 * 1024 * 1024;
  const url = await script(base, [
    { body: { pattern: size }, ranges: true, reset_after_bytes: Math.floor(size * 0.4), chunk_size: 16384 },
    { body: { pattern: size }, ranges: true, chunk_size: 16384 },
  ]);
  const view = timeline("Streamed download, 2 MiB", "the connection drops at 40%; steadfast resumes with Range");
  const client = drawingClient(view, {});
  const response = await client.fetch(url);
  const total = Number(response.headers.get("content-length")) || size;
  const reader = response.body.getReader();
  const progress = $("#download-progress");
  let received = 0;
  let wrong = -1;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    for (let i = 0; i < value.length && wrong < 0; i++) {
      if (value[i] !== (received + i) % 251) wrong = received + i;
    }
    received += value.length;
    progress.value = received / total;
  }
  const exact = wrong < 0 && received === size;
  const text = `${received} of ${size} bytes in ${response.attempts} attempts, ${exact ? "every byte exact" : `wrong from byte ${wrong}`}`;
  $("#download-result").textContent = text;
  $("#download-result").dataset.exact = String(exact);
  view.finish(text, !exact);
}

async function runAll(event) {
  event?.preventDefault();
  const base = $("#chaos-url").value.trim().replace(/\/$/, "");
  const status = $("#status");
  if (!base) {
    status.textContent = "enter the chaos server URL first";
    return;
  }
  $("#timelines").replaceChildren();
  status.dataset.state = "running";
  status.textContent = "running…";
  try {
    for (const scenario of scenarios) await runScenario(base, scenario);
    await runDownload(base);
    status.dataset.state = "done";
    status.textContent = "done";
  } catch (error) {
    status.dataset.state = "failed";
    status.textContent = `failed: ${error.name}: ${error.message}`;
  }
}

$("#controls").addEventListener("submit", runAll);
if (params.has("autorun")) runAll();
