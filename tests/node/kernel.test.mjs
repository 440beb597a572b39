// The int8 kernel choice (issue 20): the fused-dot probe (the JS one that picks a build and the core's that picks
// the kernel agree), simd: 'auto' (the default) and what model.runtime says. Where the engine's fused dot is exact
// (x86 AVX-VNNI: Node 22+, Chromium; V8 on Arm), 'auto' runs the relaxed build's exact kernel and every output
// equals the SIMD128 build's bit for bit; elsewhere (Node 20, x86 without VNNI) it runs SIMD128. make test runs this
// file under the machine's Node and under Node 26, and make test-arm64 under Node 26 and 24 for Arm in QEMU.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { load } from '../../js/index.node.js';
import { instantiate, dotProbe, probeIsExact, hasRelaxedSimd, chooseBuild, autoThreads } from '../../js/wasm.js';
import { ROOT, FIXTURES, requireBuild, loadModelCases, expectedKernel } from './helpers/common.mjs';

const RELAXED = path.join(ROOT, 'dist', 'xlmr-relaxed.wasm');
const PLAIN = path.join(ROOT, 'dist', 'xlmr.wasm');
for (const file of [RELAXED, PLAIN, path.join(ROOT, 'dist', 'xlmr-relaxed-mt.wasm')]) requireBuild({ file });
const probe = dotProbe();
const exact = probeIsExact(probe);
const KERNEL = expectedKernel(probe, 'simd128');
const texts = loadModelCases().filter((c) => c.batch === 1).map((c) => c.texts[0]).slice(0, 6);
console.log(`# ${process.version}: fused dot probe ${probe} (1 unsigned exact, 2 signed exact, 3 saturating, 4 signed in int16 pairs, 5 other); auto runs ${KERNEL}`);

test('the probe: one of the behaviours; the core finds what the JS probe found', { skip: !hasRelaxedSimd() && 'no relaxed SIMD in this engine' }, async () => {
  assert.ok(probe >= 1 && probe <= 5, `dotProbe() = ${probe}`);
  const { exports: x } = await instantiate(await WebAssembly.compile(fs.readFileSync(RELAXED)));
  // V8 on Arm answers 2 (sdot) in its optimizing tier and 4 (smull, int16 pairs) in its baseline one: the same kernel
  const core = x.xlmr_dot_probe();
  assert.ok(core === probe || (probeIsExact(core) && probeIsExact(probe) && core !== 1 && probe !== 1), `core probe ${core}, JS probe ${probe}`);
  assert.equal(x.xlmr_int8_kernel_exact(), !exact ? -1 : probe === 1 ? 1 : 2);
  assert.equal(x.xlmr_int8_kernel(-1), 0, 'the pair form until the host picks');
  assert.equal(x.xlmr_int8_kernel(9), -1, 'an unknown kernel is refused');
  assert.equal(x.xlmr_int8_kernel(-1), 0);
  const { exports: p } = await instantiate(await WebAssembly.compile(fs.readFileSync(PLAIN)));
  assert.equal(p.xlmr_dot_probe(), 0, 'the SIMD128 build has no fused dot');
  assert.equal(p.xlmr_int8_kernel(1), -1, 'the SIMD128 build has no other kernel');
  assert.equal(p.xlmr_int8_kernel_exact(), -1);
});

// make test-arm64 says which kernel the emulated CPU must get: a probe that stopped finding it would else pass here
test('the kernel the run expects (XLMR_EXPECT_KERNEL)', { skip: !process.env.XLMR_EXPECT_KERNEL && 'no expectation set' }, () => {
  assert.equal(KERNEL, process.env.XLMR_EXPECT_KERNEL, `fused dot probe ${probe}`);
});

test("simd 'auto' picks the build from the probe", () => {
  assert.equal(chooseBuild(1), exact ? 'xlmr-relaxed.wasm' : 'xlmr.wasm');
  assert.equal(chooseBuild(2, 'auto'), exact ? 'xlmr-relaxed-mt.wasm' : 'xlmr-mt.wasm');
  assert.equal(chooseBuild(1, 'simd128'), 'xlmr.wasm');
});

test("simd 'auto' (the default): model.runtime names the kernel, and every output equals SIMD128's", { timeout: 300000 }, async () => {
  // autoMt: every option at its default (threads 'auto' too: one per core, at most 4)
  const runs = [['simd128', { simd: 'simd128', threads: 1 }], ['auto', { threads: 1 }], ['autoInThread', { worker: false, threads: 1 }], ['autoMt', {}]];
  const out = {};
  for (const [name, opts] of runs) {
    const m = await load(FIXTURES, { cache: false, ...opts });
    try {
      const vecs = [];
      for (const t of texts) vecs.push(await m.embed(t, { pooling: 'none', truncation: true }));
      out[name] = { runtime: m.runtime, vecs, fill: await m.fillMask(texts[0].includes('<mask>') ? texts[0] : 'Hello <mask>.') };
    } finally {
      await m.dispose();
    }
  }
  assert.equal(out.simd128.runtime.kernel, 'simd128');
  const build = exact ? 'xlmr-relaxed' : 'xlmr';
  assert.deepEqual(out.auto.runtime, { build: `${build}.wasm`, simd: exact ? 'relaxed' : 'simd128', kernel: KERNEL, threads: 1, worker: true });
  assert.equal(out.autoInThread.runtime.kernel, KERNEL);
  const threads = autoThreads(os.availableParallelism());
  assert.deepEqual(out.autoMt.runtime, { build: `${build}${threads > 1 ? '-mt' : ''}.wasm`, simd: exact ? 'relaxed' : 'simd128', kernel: KERNEL, threads, worker: true });
  for (const name of ['auto', 'autoInThread', 'autoMt']) {
    out[name].vecs.forEach((v, i) => assert.deepEqual(v, out.simd128.vecs[i], `${name}: text ${i} differs from SIMD128`));
    assert.deepEqual(out[name].fill, out.simd128.fill);
  }
});

test("wasmModule { simd128, relaxed }: simd chooses between the precompiled cores as among the package's builds", { skip: !hasRelaxedSimd() && 'no relaxed SIMD in this engine', timeout: 120000 }, async () => {
  const simd128 = await WebAssembly.compile(fs.readFileSync(PLAIN)), relaxed = await WebAssembly.compile(fs.readFileSync(RELAXED));
  const runs = [
    [{ wasmModule: { simd128, relaxed } }, exact ? 'wasmModule.relaxed' : 'wasmModule.simd128', KERNEL],
    [{ wasmModule: { simd128, relaxed }, simd: 'simd128' }, 'wasmModule.simd128', 'simd128'],
    [{ wasmModule: { simd128, relaxed }, simd: 'relaxed' }, 'wasmModule.relaxed', exact ? KERNEL : 'pair-u7'],
    [{ wasmModule: { relaxed } }, 'wasmModule.relaxed', exact ? KERNEL : 'pair-u7'],
    [{ wasmModule: { simd128 } }, 'wasmModule.simd128', 'simd128'],
  ];
  let want;
  for (const [opts, build, kernel] of runs) {
    for (const worker of [false, true]) {
      const m = await load(FIXTURES, { cache: false, threads: 1, worker, ...opts });
      try {
        assert.deepEqual(m.runtime, { build, simd: build.endsWith('relaxed') ? 'relaxed' : 'simd128', kernel, threads: 1, worker }, JSON.stringify(Object.keys(opts.wasmModule)));
        const out = await m.embed(texts[0], { pooling: 'none' });
        want ??= out;
        if (kernel !== 'pair-u7') assert.deepEqual(out, want, `${build} ${kernel}: SIMD128's outputs bit for bit`);
      } finally {
        await m.dispose();
      }
    }
  }
  await assert.rejects(load(FIXTURES, { wasmModule: { relaxed }, simd: 'simd128', worker: false }), (e) => e.code === 'ERR_INVALID_ARGUMENT' && /pass wasmModule\.simd128/.test(e.message));
  for (const bad of [{}, { simd128: 1 }, { avx: simd128 }, [simd128], null]) {
    await assert.rejects(load(FIXTURES, { wasmModule: bad, worker: false }), (e) => e.code === 'ERR_INVALID_ARGUMENT' && /wasmModule must be/.test(e.message), JSON.stringify(bad));
  }
});
