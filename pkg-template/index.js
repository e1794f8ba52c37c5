// The runtime-independent exports; each entry module loads the wasm module its own way and
// re-exports these.
export { Client } from "./client.js";
export {
  BodyError,
  HTTPError,
  NetworkError,
  RequestError,
  SteadfastError,
  TimeoutError,
  isBodyError,
  isHTTPError,
  isNetworkError,
  isRequestError,
  isSteadfastError,
  isTimeoutError,
} from "./errors.js";
