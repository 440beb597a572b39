// load({ threads }) with the threaded build (dist/xlmr-mt.wasm: shared memory, a pool of worker threads
// running the same module): outputs equal the single-threaded build's and the references, in a Worker and
// in-thread; aborts and dispose leave no thread behind.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import os from 'node:os';
import { load } from '../../js/index.node.js';
import { autoThreads, AUTO_THREADS_MAX, chooseBuild, hasRelaxedSimd } from '../../js/wasm.js';
import { ROOT, FIXTURES, requireBuild, loadModelCases, assertFillMask, assertClose, maxAbsDiff } from './helpers/common.mjs';

const MT = path.join(ROOT, 'dist', 'xlmr-mt.wasm');
const ST = path.join(ROOT, 'dist', 'xlmr.wasm');
const RELAXED = path.join(ROOT, 'dist', 'xlmr-relaxed.wasm');
const RELAXED_MT = path.join(ROOT, 'dist', 'xlmr-relaxed-mt.wasm');
for (const file of [MT, ST, RELAXED, RELAXED_MT]) requireBuild({ file });
const cases = loadModelCases();

test('threads: 1, 2 and 3 threads give the same outputs as the single-threaded build', { timeout: 180000 }, async () => {
  const single = await load(FIXTURES, { wasmUrl: ST, dtype: 'f32', cache: false, worker: false });
  const outs = async (m) => {
    const r = [];
    for (const c of cases) {
      const trunc = c.truncation_max_length != null;
      r.push(await m.embed(c.texts, { pooling: 'none', truncation: trunc, batchSize: 2 }));
      if (c.fill_mask[0]) r.push(await m.fillMask(c.texts[0], { truncation: trunc }));
    }
    return r;
  };
  const expected = await outs(single);
  await single.dispose();
  for (const [threads, worker] of [[2, false], [2, true], [3, true]]) {
    const m = await load(FIXTURES, { wasmUrl: MT, threads, dtype: 'f32', cache: false, worker });
    try {
      assert.deepEqual(m.runtime, { build: 'xlmr-mt.wasm', simd: 'simd128', kernel: 'simd128', threads, worker });
      const got = await outs(m);
      let worst = 0;
      got.forEach((g, i) => {
        if (Array.isArray(g) && g[0] instanceof Float32Array) g.forEach((v, b) => { worst = Math.max(worst, maxAbsDiff(v, expected[i][b])); });
        else assertFillMask(g, expected[i], 1e-6, `threads ${threads}`);
      });
      assert.ok(worst <= 1e-5, `threads ${threads}: max |diff| ${worst}`);
      const en = cases.find((c) => c.name === 'en_mask');
      assertFillMask(await m.fillMask(en.texts[0]), en.fill_mask[0], 1e-5, 'vs reference');
      assertClose(await m.embed(en.texts[0], { normalize: false }), en.mean_pooled[0], 1e-4, 'vs reference');
      console.log(`# threads ${threads} (${worker ? 'worker' : 'in-thread'}): max |diff| vs single-threaded ${worst.toExponential(2)}`);
    } finally {
      await m.dispose();
    }
  }
});

// ~500 tokens each: 4 x 500 rows x 64 hidden is past the 32768-float threshold of every row-split kernel
const LONG_WORDS = 'the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing matches'.split(' ');
const LONG_TEXTS = [0, 1, 2, 3].map((k) => Array.from({ length: 600 }, (_, i) => LONG_WORDS[(i * (k + 3)) % LONG_WORDS.length]).join(' '));

/** The tiny Q8_0 model on LONG_TEXTS through `single` and, on 2 threads, `threaded`: hidden states and fill-mask equal
 *  bit for bit. Returns the threaded model's runtime. */
async function longBatchBitForBit(single, threaded) {
  const gguf = path.join(ROOT, 'models', 'tiny', 'xlmr-tiny-random.q8_0.gguf');
  const run = async (m) => [await m.embed(LONG_TEXTS, { pooling: 'none', truncation: true }), await m.fillMask(LONG_TEXTS[1].slice(0, 1000) + ' <mask>.')];
  const s = await load(gguf, { wasmUrl: single, cache: false, worker: false });
  const [e1, f1] = await run(s);
  await s.dispose();
  assert.ok(e1.reduce((n, v) => n + v.length / 64, 0) > 1800, 'the batch is long enough to split every kernel');
  const m = await load(gguf, { wasmUrl: threaded, threads: 2, cache: false, worker: false });
  try {
    const [e2, f2] = await run(m);
    e2.forEach((v, b) => assert.equal(maxAbsDiff(v, e1[b]), 0, `sequence ${b}`));
    assert.deepEqual(f2, f1);
    return m.runtime;
  } finally {
    await m.dispose();
  }
}

test('threads: a Q8_0 model on a long batch (GEMM columns, attention heads, quantization, LayerNorm and GELU rows all split) equals the single-threaded build bit for bit', { timeout: 180000 }, async () => {
  assert.equal((await longBatchBitForBit(ST, MT)).build, 'xlmr-mt.wasm');
});

// The relaxed builds split the same kernels, their activation quantization (u7, or the exact kernels' bytes) among
// them; Node 20 runs relaxed SIMD only behind a flag (tests/node/relaxed.test.mjs covers it there).
test('threads: the relaxed builds on the same long batch: xlmr-relaxed-mt.wasm equals xlmr-relaxed.wasm bit for bit', { timeout: 180000, skip: !hasRelaxedSimd() && 'no relaxed SIMD in this engine without a flag' }, async () => {
  const runtime = await longBatchBitForBit(RELAXED, RELAXED_MT);
  assert.equal(runtime.build, 'xlmr-relaxed-mt.wasm');
  console.log(`# relaxed builds, long batch, kernel ${runtime.kernel}: 2 threads bit-identical to 1`);
});

test('threads: a failed load stops its pool; threads: 1 on the threaded build works', { timeout: 60000 }, async () => {
  await assert.rejects(load(new Uint8Array(100), { wasmUrl: MT, threads: 2, cache: false, worker: false }), (e) => e.code === 'ERR_MODEL_FORMAT');
  const m = await load(path.join(ROOT, 'models', 'tiny'), { wasmUrl: MT, threads: 1, worker: false });
  assert.equal(m.runtime.threads, 1);
  assert.equal((await m.fillMask('a <mask>')).length, 5);
  await m.dispose();
});

test("threads: 'auto' takes one thread per core, at most AUTO_THREADS_MAX; bad values are typed errors", { timeout: 60000 }, async () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 64, NaN, undefined, 2.7].map(autoThreads), [1, 1, 2, 3, 4, 4, 4, 1, 1, 2]);
  assert.equal(AUTO_THREADS_MAX, 4);
  const want = autoThreads(os.availableParallelism());
  const tiny = path.join(ROOT, 'models', 'tiny');
  const one = await load(tiny, { threads: 1, worker: false });
  const expected = await one.fillMask('Paris is the <mask> of France.');
  const { simd, kernel } = one.runtime; // simd 'auto' picks the same kind of build at any thread count
  await one.dispose();
  for (const worker of [false, true]) {
    // the package's own choice of build (no wasmUrl): the threaded one when 'auto' gives more than one thread
    for (const options of [{ threads: 'auto', worker }, { worker }]) { // 'auto' is the default
      const m = await load(tiny, options);
      try {
        assert.deepEqual(m.runtime, { build: chooseBuild(want), simd, kernel, threads: want, worker }, JSON.stringify(options));
        assert.deepEqual(await m.fillMask('Paris is the <mask> of France.'), expected, "threads 'auto': the single-threaded outputs bit for bit");
      } finally {
        await m.dispose();
      }
    }
  }
  for (const threads of [0, -1, 2.5, 'many', 'AUTO', '2', true, null, 2n]) {
    await assert.rejects(load(tiny, { threads, worker: false }), (e) => e.code === 'ERR_INVALID_ARGUMENT' && /threads must be a positive integer or 'auto'/.test(e.message),
      `threads ${typeof threads === 'bigint' ? `${threads}n` : JSON.stringify(threads)}`);
  }
  await assert.rejects(load(tiny, { dtype: 8n }), (e) => e.code === 'ERR_INVALID_ARGUMENT' && /dtype must be one of .*not 8n/.test(e.message));
});

test("threads: pool threads that cannot start are an error for a count asked for, one thread under 'auto'", { timeout: 60000 }, async () => {
  const { Engine } = await import('../../js/engine.js');
  const { platform } = await import('../../js/platform-node.js');
  const broken = { ...platform, spawnThread: () => ({ ready: Promise.reject(new Error('no workers here')), terminate() {} }) };
  const throwing = { ...platform, spawnThread: () => { throw new Error('no Worker constructor'); } };
  for (const [p, why] of [[broken, 'no workers here'], [throwing, 'no Worker constructor']]) {
    await assert.rejects(Engine.create(p, { wasmUrl: MT, threads: 2 }), (e) => e.code === 'ERR_UNSUPPORTED' && e.message.includes(`could not start 1 pool threads: ${why}`));
    const e = await Engine.create(p, { wasmUrl: MT, threads: 2, threadsRequired: false });
    try {
      assert.equal(e.runtime().threads, 1);
    } finally {
      e.dispose(true);
    }
  }
});
