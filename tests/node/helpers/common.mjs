// Shared by the model tests: the two wasm builds, the fixtures and their reference outputs, comparisons.
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { REQUIRED_EXPORTS, isThreaded } from '../../../js/wasm.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const FIXTURES = path.join(ROOT, 'tests', 'fixtures');

/** The builds the model suites run against: $XLMR_TEST_BUILDS="name=file,…" (make test names the clang and
 *  Emscripten builds), else the clang build alone. */
export const BUILDS = process.env.XLMR_TEST_BUILDS
  ? process.env.XLMR_TEST_BUILDS.split(',').map((s) => { const [name, file] = s.split('='); return { name, file: path.resolve(ROOT, file) }; })
  : [{ name: 'clang', file: path.join(ROOT, 'dist', 'xlmr.wasm') }];

const modules = new Map();
export async function compileBuild(build) {
  if (!modules.has(build.file)) modules.set(build.file, WebAssembly.compile(fs.readFileSync(build.file)));
  return modules.get(build.file);
}

/** A suite needs its build: a missing or incomplete one fails the suite, saying what to run (make test builds
 *  every build before its tests). A build this Node cannot compile (relaxed SIMD without its flag) is only
 *  required to exist. */
/** The relaxed build's kernel on an engine with this dotProbe(), from the probe alone (the tests' own reading of
 *  issue 20's rule, not js/wasm.js's): the unsigned exact kernel for 1, the signed one for 2 and 4, else `other`. */
export function expectedKernel(probe, other) {
  return probe === 1 ? 'vnni-exact' : probe === 2 || probe === 4 ? 'sdot-exact' : other;
}

export function requireBuild(build) {
  const rel = path.relative(ROOT, build.file);
  if (!fs.existsSync(build.file)) throw new Error(`${rel} is not built: run make (make test and make check build it first)`);
  const bytes = fs.readFileSync(build.file);
  if (!WebAssembly.validate(bytes)) return build;
  const mod = new WebAssembly.Module(bytes);
  const names = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
  const missing = REQUIRED_EXPORTS.filter((n) => !names.has(n) && !(n === 'memory' && isThreaded(mod)));
  if (missing.length) throw new Error(`${rel} lacks ${missing.join(', ')}: rebuild it with make`);
  return build;
}

let modelCases = null;
export function loadModelCases() {
  modelCases ??= fs.readFileSync(path.join(FIXTURES, 'model_cases.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return modelCases;
}

export function loadTokenizerCases() {
  return fs.readFileSync(path.join(FIXTURES, 'tokenizer_cases.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

export function maxAbsDiff(a, b) {
  assert.equal(a.length, b.length, `length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The lowest cosine between matching H-wide rows of two flat arrays (one row per token). */
export function worstTokenCosine(a, b, H) {
  assert.equal(a.length, b.length, `length ${a.length} != ${b.length}`);
  let worst = 1;
  for (let t = 0; t < a.length / H; t++) {
    let dot = 0, na = 0, nb = 0;
    for (let h = 0; h < H; h++) { const x = a[t * H + h], y = b[t * H + h]; dot += x * y; na += x * x; nb += y * y; }
    worst = Math.min(worst, dot / Math.sqrt(na * nb));
  }
  return worst;
}

export function assertClose(actual, expected, tol, what) {
  const d = maxAbsDiff(Array.from(actual), expected.flat(Infinity));
  assert.ok(d <= tol, `${what}: max |diff| ${d.toExponential(3)} > ${tol}`);
  return d;
}

/** Fill-mask output vs the pipeline reference: same tokens in the same order, same strings, close scores. */
export function assertFillMask(actual, expected, scoreTol, what) {
  const lists = Array.isArray(expected[0]) ? expected : [expected];
  const got = Array.isArray(actual[0]) ? actual : [actual];
  assert.equal(got.length, lists.length, `${what}: mask count`);
  let worst = 0;
  lists.forEach((list, i) => {
    assert.deepEqual(got[i].map((p) => p.token), list.map((p) => p.token), `${what}: mask ${i} tokens`);
    assert.deepEqual(got[i].map((p) => p.token_str), list.map((p) => p.token_str), `${what}: mask ${i} token_str`);
    assert.deepEqual(got[i].map((p) => p.sequence), list.map((p) => p.sequence), `${what}: mask ${i} sequence`);
    list.forEach((p, j) => { worst = Math.max(worst, Math.abs(got[i][j].score - p.score)); });
  });
  assert.ok(worst <= scoreTol, `${what}: score diff ${worst} > ${scoreTol}`);
  return worst;
}

/** Handles Node keeps for files and sockets (an aborted load must not leave one open). */
export function openHandles() {
  const info = process.getActiveResourcesInfo();
  return { files: info.filter((n) => n === 'FileHandle' || n === 'FSReqCallback' || n === 'FSReqPromise').length };
}
