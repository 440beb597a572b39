// load({ simd: 'relaxed' }): the relaxed-SIMD builds (dist/xlmr-relaxed.wasm, -relaxed-mt) where the engine
// validates relaxed SIMD, SIMD128 where it does not. Node 20 has relaxed SIMD only behind
// --experimental-wasm-relaxed-simd: there this process (no flag) checks the fallback, and child processes with the
// flag run every reference case of model.test.mjs on the relaxed build and the package's own choice of build; Node
// 22+ has it on, and the children run without a flag. The relaxed build's kernel is the exact 8-bit one where the
// engine's fused dot is exact (outputs equal SIMD128's), else the u7 pair form (close to them).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { load } from '../../js/index.node.js';
import { hasRelaxedSimd, probeIsExact } from '../../js/wasm.js';
import { ROOT, FIXTURES, requireBuild, loadModelCases, maxAbsDiff, worstTokenCosine, expectedKernel } from './helpers/common.mjs';

const RELAXED = path.join(ROOT, 'dist', 'xlmr-relaxed.wasm');
const RELAXED_MT = path.join(ROOT, 'dist', 'xlmr-relaxed-mt.wasm');
for (const file of [RELAXED, RELAXED_MT]) requireBuild({ file });
const NATIVE = hasRelaxedSimd(); // Node 22+: no flag
const FLAGS = NATIVE ? [] : ['--experimental-wasm-relaxed-simd'];
const cases = loadModelCases();
const en = cases.find((c) => c.name === 'en_mask');

test('simd: an unknown choice is refused before anything loads', async () => {
  await assert.rejects(load(FIXTURES, { simd: 'avx' }), (e) => e.code === 'ERR_INVALID_ARGUMENT' && /simd must be one of auto, simd128, relaxed/.test(e.message));
  await assert.rejects(load(FIXTURES, { simd: true }), (e) => e.code === 'ERR_INVALID_ARGUMENT');
});

test("simd: 'relaxed' without relaxed SIMD in the engine runs SIMD128, with the same outputs", { timeout: 120000, skip: NATIVE && 'this engine has relaxed SIMD' }, async () => {
  const plain = await load(FIXTURES, { cache: false, worker: false, threads: 1 });
  const asked = await load(FIXTURES, { cache: false, simd: 'relaxed', threads: 1 });
  try {
    assert.deepEqual(asked.runtime, { build: 'xlmr.wasm', simd: 'simd128', kernel: 'simd128', threads: 1, worker: true });
    const a = await plain.embed(en.texts[0], { pooling: 'none' });
    const b = await asked.embed(en.texts[0], { pooling: 'none' });
    assert.equal(maxAbsDiff(a, b), 0);
  } finally {
    await plain.dispose();
    await asked.dispose();
  }
});

test("simd: 'relaxed' with the relaxed build missing next to the package: an error naming it, not another build", { timeout: 60000 }, async () => {
  const { Engine } = await import('../../js/engine.js');
  const { platform } = await import('../../js/platform-node.js');
  const fake = {
    ...platform,
    // as if the engine validated relaxed SIMD but the relaxed files had been left out of the package
    defaultWasmUrl: (n, kind) => (kind === 'relaxed'
      ? new URL(`../../dist/missing-xlmr-relaxed${n > 1 ? '-mt' : ''}.wasm`, import.meta.url).href
      : platform.defaultWasmUrl(n, kind)),
  };
  for (const threads of [1, 2]) {
    const file = `missing-xlmr-relaxed${threads > 1 ? '-mt' : ''}.wasm`;
    await assert.rejects(Engine.create(fake, { simd: 'relaxed', threads }), (e) => e.code === 'ERR_FILE' && e.message.includes(file));
  }
});

function node(args, env = {}) {
  const childEnv = { ...process.env, ...env };
  delete childEnv.NODE_TEST_CONTEXT; // a child test run reports as a standalone one (TAP on stdout)
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: childEnv, timeout: 600000 });
  return { ...r, out: `${r.stdout}\n${r.stderr}` };
}

test('the relaxed build passes every reference case of model.test.mjs (Node with relaxed SIMD)', { timeout: 700000 }, () => {
  const r = node([...FLAGS, '--test', '--test-reporter=tap', 'tests/node/model.test.mjs'], { XLMR_TEST_BUILDS: 'relaxed=dist/xlmr-relaxed.wasm' });
  const cos = /\[relaxed\] Q8_0: worst per-token cosine ([0-9.]+)/.exec(r.out);
  if (cos) console.log(`# relaxed build, Q8_0 fixture: worst per-token cosine to PyTorch ${cos[1]}`);
  assert.equal(r.status, 0, r.out.slice(-4000));
  assert.match(r.out, /# fail 0/);
  assert.ok(+(/# pass (\d+)/.exec(r.out)?.[1] ?? 0) >= 4, 'model.test.mjs ran its 4 tests on the relaxed build');
});

// Run in a child with the flag: the package picks the relaxed builds itself (Worker, in-thread, 2 threads), says so
// in model.runtime, and the outputs stay within 7-bit activations' reach of the SIMD128 build's.
const CHILD = `
import { load } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'js', 'index.node.js')).href)};
const texts = ${JSON.stringify(cases.filter((c) => c.batch === 1).map((c) => c.texts[0]).slice(0, 6))};
const out = {};
out.probe = (await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'js', 'wasm.js')).href)})).dotProbe();
for (const [name, opts] of [['simd128', { simd: 'simd128', threads: 1 }], ['relaxed', { simd: 'relaxed', threads: 1 }], ['relaxedInThread', { simd: 'relaxed', worker: false, threads: 1 }], ['relaxedMt', { simd: 'relaxed', threads: 2 }]]) {
  const m = await load(${JSON.stringify(FIXTURES)}, { cache: false, ...opts });
  const vecs = [];
  for (const t of texts) vecs.push(Array.from(await m.embed(t, { pooling: 'none', truncation: true })));
  out[name] = { runtime: m.runtime, vecs, fill: await m.fillMask(${JSON.stringify(en.texts[0])}) };
  await m.dispose();
}
console.log(JSON.stringify(out));
`;

test("simd: 'relaxed' where the engine has relaxed SIMD: the relaxed builds, close to SIMD128", { timeout: 300000 }, () => {
  // a file, not --eval: the model's Worker inherits the process's flags, and --input-type would stop it
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-relaxed-'));
  const file = path.join(dir, 'child.mjs');
  fs.writeFileSync(file, CHILD);
  let r;
  try {
    r = node([...FLAGS, file]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(r.status, 0, r.out.slice(-4000));
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  const exact = probeIsExact(out.probe), kernel = expectedKernel(out.probe, 'pair-u7');
  assert.deepEqual(out.simd128.runtime, { build: 'xlmr.wasm', simd: 'simd128', kernel: 'simd128', threads: 1, worker: true });
  assert.deepEqual(out.relaxed.runtime, { build: 'xlmr-relaxed.wasm', simd: 'relaxed', kernel, threads: 1, worker: true });
  assert.deepEqual(out.relaxedInThread.runtime, { build: 'xlmr-relaxed.wasm', simd: 'relaxed', kernel, threads: 1, worker: false });
  assert.deepEqual(out.relaxedMt.runtime, { build: 'xlmr-relaxed-mt.wasm', simd: 'relaxed', kernel, threads: 2, worker: true });
  const H = 64;
  let worst = 1;
  out.relaxed.vecs.forEach((v, i) => {
    // threads and Worker change nothing: the relaxed builds agree bit for bit
    assert.deepEqual(out.relaxedMt.vecs[i], v);
    assert.deepEqual(out.relaxedInThread.vecs[i], v);
    const s = out.simd128.vecs[i];
    worst = Math.min(worst, worstTokenCosine(v, s, H));
    if (exact) assert.deepEqual(v, s, 'the exact kernel gives the SIMD128 numbers');
    else assert.notDeepEqual(v, s, 'the pair form computes with 7-bit activations: not the SIMD128 numbers');
  });
  if (exact) assert.deepEqual(out.relaxed.fill, out.simd128.fill);
  console.log(`# relaxed (${kernel}) vs SIMD128 build, Q8_0 fixture: worst per-token cosine ${worst.toFixed(5)}`);
  assert.ok(worst >= 0.995, `relaxed vs SIMD128 worst cosine ${worst}`);
  assert.deepEqual(out.relaxedMt.fill, out.relaxed.fill);
  assert.equal(out.relaxed.fill[0].token, out.simd128.fill[0].token);
});
