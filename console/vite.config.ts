import { defineConfig } from "vite";

// Served by the API's own origin under /console/ (redfire dev, CloudFront), so no CORS.
export default defineConfig({
  base: "/console/",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 400 },
});
