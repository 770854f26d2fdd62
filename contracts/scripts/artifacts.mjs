#!/usr/bin/env node
// Trims forge's build output into the artifacts this repository commits, so that `cargo build` (the alloy `sol!`
// bindings in contracts/src/bindings.rs) needs no Solidity compiler.
//
//   node contracts/scripts/artifacts.mjs           writes contracts/artifacts/<Name>.json from contracts/out/
//   node contracts/scripts/artifacts.mjs --check   exits 1 when a committed artifact differs from what forge built
//
// Run `forge build` in contracts/ first (contracts/forge.sh build works from anywhere). Each artifact is
// {"abi", "bytecode": {"object"}, "deployedBytecode": {"object"}}, pretty-printed with two spaces and a trailing
// newline. foundry.toml turns the metadata hash off, so the bytecode is a pure function of the sources and the
// compiler settings, and the files only change when the contracts do.
// No dependencies beyond Node.js 18+.

import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const CONTRACTS = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = join(CONTRACTS, "..");
const OUT = join(CONTRACTS, "out");
const ARTIFACTS = join(CONTRACTS, "artifacts");

/** [source file name, contract name] of every contract the Rust crate binds. */
const CONTRACTS_TO_EXPORT = [
  ["TernMarket.sol", "TernMarket"],
  ["MockUSDT.sol", "MockUSDT"],
  ["MockERC20.sol", "MockERC20"],
  ["MockPermitToken.sol", "MockPermitToken"],
];

const REFRESH = "contracts/forge.sh build && node contracts/scripts/artifacts.mjs";

function fail(message) {
  console.error(`artifacts.mjs: ${message}`);
  process.exit(1);
}

function hexObject(field, where) {
  const object = typeof field === "string" ? field : field?.object;
  if (typeof object !== "string" || !/^0x[0-9a-fA-F]*$/.test(object)) {
    fail(`${where}: no hex bytecode object (is it an abstract contract or an interface?)`);
  }
  if (object === "0x") fail(`${where}: empty bytecode (is it an abstract contract or an interface?)`);
  if (field?.linkReferences && Object.keys(field.linkReferences).length > 0) {
    fail(`${where}: bytecode needs library linking, which the bindings do not support`);
  }
  return { object };
}

/** The trimmed artifact of one contract, as the exact text to commit. */
function trimmed(file, name) {
  const path = join(OUT, file, `${name}.json`);
  const where = relative(ROOT, path);
  if (!existsSync(path)) fail(`${where} is missing: run \`contracts/forge.sh build\` first`);
  let forge;
  try {
    forge = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    fail(`${where}: not valid JSON (${e.message})`);
  }
  if (!Array.isArray(forge.abi)) fail(`${where}: no "abi" array`);
  const artifact = {
    abi: forge.abi,
    bytecode: hexObject(forge.bytecode, `${where} bytecode`),
    deployedBytecode: hexObject(forge.deployedBytecode, `${where} deployedBytecode`),
  };
  return JSON.stringify(artifact, null, 2) + "\n";
}

const check = process.argv.includes("--check");
const unknown = process.argv.slice(2).filter((a) => a !== "--check");
if (unknown.length > 0) fail(`unknown argument(s) ${unknown.join(" ")}; usage: artifacts.mjs [--check]`);

const stale = [];
for (const [file, name] of CONTRACTS_TO_EXPORT) {
  const text = trimmed(file, name);
  const target = join(ARTIFACTS, `${name}.json`);
  const shown = relative(ROOT, target);
  if (check) {
    const committed = existsSync(target) ? readFileSync(target, "utf8") : null;
    if (committed === null) stale.push(`${shown} is missing`);
    else if (committed !== text) stale.push(`${shown} differs from forge's build of ${file}:${name}`);
  } else {
    mkdirSync(ARTIFACTS, { recursive: true });
    const before = existsSync(target) ? readFileSync(target, "utf8") : null;
    if (before !== text) writeFileSync(target, text);
    console.log(`${before === text ? "unchanged" : "wrote    "} ${shown}`);
  }
}

if (check) {
  if (stale.length > 0) {
    console.error("artifacts.mjs --check: committed contract artifacts are stale:");
    for (const s of stale) console.error(`  - ${s}`);
    console.error(`Refresh them (from the repository root) with:\n  ${REFRESH}\nand commit contracts/artifacts/.`);
    process.exit(1);
  }
  console.log(`artifacts.mjs --check: ${CONTRACTS_TO_EXPORT.length} artifacts up to date`);
}
