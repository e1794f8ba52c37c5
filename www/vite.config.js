import { defineConfig } from "vite";

export default defineConfig({
  // Relative asset URLs, so dist/ works from any folder a test server serves it from.
  base: "./",
  server: { host: "127.0.0.1" },
  preview: { host: "127.0.0.1" },
});
