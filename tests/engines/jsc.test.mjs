// The SIMD128 core in JavaScriptCore, Safari's engine (Debian's `jsc` shell from WebKitGTK, package
// libjavascriptcoregtk-4.0-bin): the same model files and texts through the same calls (core.mjs) in jsc and in this
// Node, and every id, hidden state and fill-mask score must be equal to the bit; the package's build choice run in
// jsc too (js/wasm.js: this JSC validates no relaxed SIMD, so every simd choice is the SIMD128 build). The F32
// source is also held to the PyTorch reference (tests/fixtures/model_cases.jsonl), so that equal is not equally wrong.
// make test-jsc runs it; skipped where jsc is missing.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCore } from './core.mjs';
import { ROOT, FIXTURES, requireBuild, loadModelCases } from '../node/helpers/common.mjs';

const JSC = process.env.JSC_BIN ?? '/usr/bin/jsc';
const WASM = path.join(ROOT, 'dist', 'xlmr.wasm');
requireBuild({ file: WASM });
const skip = !fs.existsSync(JSC) && `${JSC} is missing: apt-get install -y libjavascriptcoregtk-4.0-bin`;

const cases = loadModelCases().filter((c) => c.batch === 1);
const texts = cases.map((c) => ({ text: c.texts[0], maxLength: c.truncation_max_length ?? 0 }));
const fixture = (f) => path.join(FIXTURES, f);
const folder = (dtype) => ({ dtype, config: fixture('config.json'), tokenizer: fixture('sentencepiece.bpe.model'), weights: fixture('model.safetensors') });
const PLAN = {
  wasm: WASM,
  sources: {
    gguf_q8_0: { dtype: 0, weights: path.join(ROOT, 'models', 'tiny', 'xlmr-tiny-random.q8_0.gguf') },
    f32: folder(2), // XLMR_DTYPE_F32: float GEMMs and float attention
    q8_0: folder(0),
    q4_0: folder(3),
  },
  texts,
};

function readPlan(plan) {
  const bin = (p) => (p ? new Uint8Array(fs.readFileSync(p)) : null);
  const sources = {};
  for (const [name, s] of Object.entries(plan.sources)) sources[name] = { dtype: s.dtype, config: bin(s.config), tokenizer: bin(s.tokenizer), weights: bin(s.weights) };
  return sources;
}

function runJsc(script, args = []) {
  const r = spawnSync(JSC, ['-m', script, '--', ...args], { encoding: 'utf8', timeout: 300000, maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `jsc ${path.basename(script)}: ${r.stderr}${r.stdout.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

test('jsc and Node: every id, hidden state and fill-mask score of the SIMD128 core equal, on GGUF Q8_0 and on F32, Q8_0, Q4_0 from safetensors', { skip, timeout: 600000 }, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-jsc-'));
  const planFile = path.join(dir, 'plan.json');
  fs.writeFileSync(planFile, JSON.stringify(PLAN));
  let jsc;
  try {
    jsc = runJsc(path.join(ROOT, 'tests', 'engines', 'jsc-main.mjs'), [planFile]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const node = runCore(new Uint8Array(fs.readFileSync(WASM)), readPlan(PLAN), texts);
  assert.equal(jsc.simd, 'simd128');
  assert.deepEqual(Object.keys(jsc.sources), Object.keys(PLAN.sources));
  for (const [name, results] of Object.entries(node.sources)) {
    results.forEach((want, i) => {
      const got = jsc.sources[name][i];
      assert.deepEqual(got.ids, want.ids, `${name}, text ${i}: ids`);
      const diff = got.hidden.findIndex((v, k) => !Object.is(v, want.hidden[k]));
      assert.equal(diff, -1, `${name}, text ${i}: hidden state ${diff} is ${got.hidden[diff]} in jsc, ${want.hidden[diff]} in Node`);
      assert.deepEqual(got.fill, want.fill, `${name}, text ${i}: fill-mask`);
    });
  }
  // the F32 run against PyTorch's hidden states (test_model's F32 bound)
  let worst = 0;
  cases.forEach((c, i) => {
    const ref = c.last_hidden_state[0].flat(), got = jsc.sources.f32[i].hidden;
    assert.deepEqual(jsc.sources.f32[i].ids, c.input_ids[0], `${c.name}: ids`);
    ref.forEach((v, k) => { worst = Math.max(worst, Math.abs(v - got[k])); });
  });
  assert.ok(worst < 1e-4, `F32 in jsc: worst |diff| to PyTorch ${worst}`);
  const values = Object.values(jsc.sources).reduce((n, r) => n + r.reduce((m, x) => m + x.hidden.length, 0), 0);
  t.diagnostic(`jsc: ${texts.length} texts × ${Object.keys(PLAN.sources).length} sources, ${values} hidden values equal to Node's; F32 worst |diff| to PyTorch ${worst.toExponential(2)}`);
});

test("jsc: the package's build choice (js/wasm.js) picks SIMD128 where relaxed SIMD does not validate", { skip, timeout: 60000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-jsc-'));
  const script = path.join(dir, 'choose.mjs');
  fs.writeFileSync(script, `import { chooseBuild, dotProbe, hasRelaxedSimd, hasSimd } from ${JSON.stringify(path.join(ROOT, 'js', 'wasm.js'))};
print(JSON.stringify({ simd: hasSimd(), relaxed: hasRelaxedSimd(), probe: dotProbe(), auto: chooseBuild(1, 'auto'), relaxedAsked: chooseBuild(1, 'relaxed'), simd128: chooseBuild(1, 'simd128') }));\n`);
  let r;
  try {
    r = runJsc(script);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(r.simd, true, 'JSC has SIMD128');
  // where a later JSC validates relaxed SIMD, the choice follows the probe as in V8 (tests/node/kernel.test.mjs)
  if (!r.relaxed) assert.deepEqual(r, { simd: true, relaxed: false, probe: 0, auto: 'xlmr.wasm', relaxedAsked: 'xlmr.wasm', simd128: 'xlmr.wasm' });
  else assert.equal(r.simd128, 'xlmr.wasm');
});
