#!/usr/bin/env node
// A `solc` command-line stand-in backed by solc-js (npm `solc`), for tools that expect the
// native binary: py-solc-x, brownie and forge. It answers `--version` in the native format and
// compiles `--standard-json` from stdin.
//
// Why not `solcjs --standard-json`: it prints a stray SMT line before the JSON, can truncate
// output over 64 KB on a pipe (console.log then process.exit), and rejects `--allow-paths`.
//
// Imports resolve against `--base-path` (default: the working directory), then every
// `--include-path`, then this repository's node_modules (so `@openzeppelin/...` works anywhere).
"use strict";

const fs = require("fs");
const path = require("path");

const repoRoot = path.resolve(__dirname, "..");
const solcDir = path.join(repoRoot, "node_modules", "solc");
// Loading solc-js (soljson.js, an Emscripten build of the compiler) takes about 0.4 CPU-s, and
// the tools ask `--version` far more often than they compile (brownie ~40 times per project
// load). The version is kept in a small file beside the package, valid while soljson.js is the
// same file (size and mtime), so a version check never loads the compiler.
const versionCache = path.join(repoRoot, "node_modules", ".cache", "solc-js-version.json");

function loadSolc() {
  return require(solcDir);
}

function compilerKey() {
  const stat = fs.statSync(path.join(solcDir, "soljson.js"));
  return `${stat.size}:${stat.mtimeMs}`;
}

function solcVersion() {
  const key = compilerKey();
  try {
    const cached = JSON.parse(fs.readFileSync(versionCache, "utf8"));
    if (cached.key === key && typeof cached.version === "string") return cached.version;
  } catch (err) {
    // no cache yet, or unreadable: ask the compiler
  }
  const version = loadSolc().version();
  try {
    // Written whole (temporary file, then rename): a concurrent reader sees the old or the new.
    fs.mkdirSync(path.dirname(versionCache), { recursive: true });
    const tmp = `${versionCache}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ key, version }));
    fs.renameSync(tmp, versionCache);
  } catch (err) {
    // a read-only node_modules: answer without caching
  }
  return version;
}

function parseArgs(argv) {
  const args = { standardJson: false, version: false, basePath: process.cwd(), includePaths: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const takeValue = () => {
      if (arg.includes("=")) return arg.slice(arg.indexOf("=") + 1);
      i += 1;
      return argv[i];
    };
    if (arg === "--standard-json") args.standardJson = true;
    else if (arg === "--version" || arg === "-v") args.version = true;
    else if (arg.startsWith("--base-path")) args.basePath = path.resolve(takeValue());
    else if (arg.startsWith("--include-path")) args.includePaths.push(path.resolve(takeValue()));
    else if (arg.startsWith("--allow-paths")) takeValue(); // solc-js reads only what we resolve
    else if (arg === "-" || arg.startsWith("--")) {
      // Other flags (e.g. --no-color, --pretty-json) do not change standard-json output.
    }
  }
  return args;
}

function findImport(importPath, roots) {
  const candidates = [];
  if (path.isAbsolute(importPath)) candidates.push(importPath);
  for (const root of roots) candidates.push(path.join(root, importPath));
  for (const candidate of candidates) {
    try {
      return { contents: fs.readFileSync(candidate, "utf8") };
    } catch (err) {
      // try the next root
    }
  }
  return { error: `File not found: ${importPath} (searched ${roots.join(", ")})` };
}

function writeAndExit(text, code) {
  // process.stdout.write with a callback: never exit before a large pipe write is flushed.
  process.stdout.write(text, () => process.exit(code));
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.version) {
    writeAndExit(
      `solc, the solidity compiler commandline interface\nVersion: ${solcVersion()}\n`,
      0,
    );
    return;
  }
  if (!args.standardJson) {
    process.stderr.write("usage: solc.js --standard-json < input.json | solc.js --version\n");
    process.exit(2);
  }
  const input = fs.readFileSync(0, "utf8");
  const roots = [args.basePath, ...args.includePaths, path.join(repoRoot, "node_modules")];
  const output = loadSolc().compile(input, { import: (p) => findImport(p, roots) });
  writeAndExit(output, 0);
}

main();
