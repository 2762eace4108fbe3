import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { statusLine } from "../src/status.js";

function build(apiRoot) {
  const dir = mkdtempSync(path.join(tmpdir(), "km-web-"));
  execFileSync("node", ["build.mjs"], { env: { ...process.env, REACT_APP_API_ROOT: apiRoot, BUILD_DIR: dir }, stdio: "pipe" });
  return dir;
}

test("the API URL is baked into content-hashed assets that index.html names", () => {
  const dir = build("https://api.staging.example.com");
  const assets = readdirSync(path.join(dir, "static"));
  const js = assets.find((f) => /^index\.[A-Z0-9]{8,}\.js$/.test(f));
  assert.ok(js, `no content-hashed JS among ${assets}`);
  assert.match(readFileSync(path.join(dir, "static", js), "utf8"), /https:\/\/api\.staging\.example\.com/);
  assert.match(readFileSync(path.join(dir, "index.html"), "utf8"), new RegExp(`/static/${js.replace(".", "\\.")}`));
});

test("a different API URL gives a different asset name", () => {
  const a = readdirSync(path.join(build("https://api.one.example.com"), "static")).filter((f) => f.endsWith(".js"));
  const b = readdirSync(path.join(build("https://api.two.example.com"), "static")).filter((f) => f.endsWith(".js"));
  assert.notDeepEqual(a, b);
});

test("a build without the API URL is refused", () => {
  assert.throws(() => execFileSync("node", ["build.mjs"], { env: { ...process.env, REACT_APP_API_ROOT: "" }, stdio: "pipe" }));
});

test("statusLine tells ready from not ready", () => {
  assert.equal(statusLine("http://x", 200, { version: "abc" }), "Know Me: API http://x is up, version abc");
  assert.match(statusLine("http://x", 503, { status: "migrations pending" }), /not ready \(migrations pending\)/);
});
