import { defineConfig } from "vite";

// `make console-report`: the backtest report's chart as one IIFE, committed beside the CLI
// (devtools/redfire_cli/assets) so `redfire backtest --plot` needs no Node to inline it.
export default defineConfig({
  build: {
    outDir: "../devtools/redfire_cli/assets",
    emptyOutDir: false,
    lib: {
      entry: "src/report.ts",
      name: "RedFireReport",
      formats: ["iife"],
      fileName: () => "backtest_report.js",
    },
  },
});
