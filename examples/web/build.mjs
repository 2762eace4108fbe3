// Builds the sample web app into build/: content-hashed assets under static/ and an
// index.html that names them. The API URL is baked in from REACT_APP_API_ROOT, as km-web does.
import * as esbuild from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

const apiRoot = process.env.REACT_APP_API_ROOT;
if (!apiRoot) {
  console.error("REACT_APP_API_ROOT is not set: export the environment's API URL, e.g. REACT_APP_API_ROOT=https://api.example.com");
  process.exit(2);
}
const outdir = process.env.BUILD_DIR || "build";

await rm(outdir, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints: ["src/index.js"],
  bundle: true,
  minify: true,
  sourcemap: true,
  outdir: path.join(outdir, "static"),
  entryNames: "[name].[hash]",
  assetNames: "[name].[hash]",
  metafile: true,
  define: { "process.env.REACT_APP_API_ROOT": JSON.stringify(apiRoot) },
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((p) => path.relative(outdir, p));
const js = outputs.find((p) => p.endsWith(".js"));
const css = outputs.find((p) => p.endsWith(".css"));
const template = await readFile("src/index.html", "utf8");
const html = template
  .replace("<!--CSS-->", css ? `<link rel="stylesheet" href="/${css}">` : "")
  .replace("<!--JS-->", `<script src="/${js}" defer></script>`);
await mkdir(outdir, { recursive: true });
await writeFile(path.join(outdir, "index.html"), html);
await writeFile(
  path.join(outdir, "manifest.json"),
  JSON.stringify({ short_name: "Know Me", name: "Know Me", start_url: "/", display: "standalone" }, null, 2),
);
console.log(`built ${outputs.length + 2} files into ${outdir}/ for API ${apiRoot}`);
