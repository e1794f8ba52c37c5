//! Bindings to the host's globals, and what the adapter reads from them.
//!
//! Everything is looked up on `globalThis`, never through `Window` or `WorkerGlobalScope`,
//! because those casts match nothing in Node or workerd.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `globalThis.fetch(request)`. `catch` turns a missing or throwing `fetch` into an
    /// `Err` instead of a trap.
    #[wasm_bindgen(js_namespace = globalThis, js_name = fetch, catch)]
    pub(crate) fn global_fetch(request: &web_sys::Request) -> Result<js_sys::Promise, JsValue>;

    /// `performance.now()`: monotonic milliseconds since the time origin.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// Returns the monotonic clock the core runs on.
pub(crate) fn now() -> crate::core::Instant {
    crate::core::Instant::from_millis_f64(performance_now())
}

/// Returns the wall clock in Unix milliseconds, for `Retry-After` dates without a `Date`.
pub(crate) fn wall_ms() -> u64 {
    let millis = js_sys::Date::now();
    if millis.is_finite() && millis > 0.0 {
        millis as u64
    } else {
        0
    }
}

/// The kind of host, as far as request headers and CORS are concerned. Neither field changes
/// during the life of a page or worker, so a client reads them once.
#[derive(Clone, Debug, Default)]
pub(crate) struct Host {
    /// Whether the host is a browser page or a browser worker, which enforces CORS and the
    /// forbidden request headers.
    pub browser: bool,
    /// `location.origin` of a browser host.
    pub origin: Option<String>,
}

impl Host {
    /// Reads the host from `globalThis`.
    pub(crate) fn detect() -> Host {
        let global = js_sys::global();
        let is_deno = is_defined(&global, "Deno");
        let is_page = is_defined(&global, "document");
        // Dedicated, shared and service workers all define `importScripts`; Node, Deno and
        // workerd do not.
        let is_worker = property(&global, "importScripts").is_function();
        let browser = !is_deno && (is_page || is_worker);
        let origin = if browser {
            property(&property(&global, "location"), "origin").as_string()
        } else {
            None
        };
        Host { browser, origin }
    }
}

/// Returns `location.href`, the base of relative URLs, where the host has a location
/// (browsers, and Deno started with `--location`). It is read on every request because a
/// page can change it with `history.pushState`.
pub(crate) fn base_url() -> Option<String> {
    let location = property(&js_sys::global(), "location");
    if !location.is_object() {
        return None;
    }
    property(&location, "href").as_string()
}

/// Returns `target[name]`, or `undefined` when the lookup throws.
pub(crate) fn property(target: &JsValue, name: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn is_defined(target: &JsValue, name: &str) -> bool {
    !property(target, name).is_undefined()
}
