// Typeset TeX with KaTeX at build time, so a deck needs only KaTeX's CSS and fonts to show it.
// Input (stdin): a JSON list of {"tex": "...", "display": true|false}.
// Output (stdout): a JSON list of {"html": "..."} or {"error": "..."}, one per input, in order.
"use strict";
const path = require("path");
const katex = require(path.join(__dirname, "..", "node_modules", "katex"));

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const items = JSON.parse(input);
  const out = items.map(({ tex, display }) => {
    try {
      return { html: katex.renderToString(tex, { displayMode: !!display, throwOnError: true, strict: "error", output: "htmlAndMathml" }) };
    } catch (e) {
      return { error: String(e.message || e) };
    }
  });
  process.stdout.write(JSON.stringify(out));
});
