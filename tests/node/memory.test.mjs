// The JS heap never holds the model: while a ~235 MB F32 safetensors model downloads and is quantized
// into wasm memory, JS heap + ArrayBuffers outside wasm memory stay under 64 MB (in-thread, so the loop
// being measured runs in this isolate; and in worker mode for the calling thread). The HTTP server runs
// in another process.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load } from '../../js/index.node.js';
import { startServerProcess } from './helpers/server.mjs';
import { BUILDS, compileBuild, requireBuild } from './helpers/common.mjs';
import { writeSyntheticFolder } from './helpers/synthetic.mjs';

const LIMIT = 64 * 1024 * 1024;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-mem-'));
const dir = path.join(tmp, 'big');
let srv;
let bytes = 0;

for (const build of BUILDS) requireBuild(build);

test.before(async () => {
  bytes = writeSyntheticFolder(dir);
  const files = Object.fromEntries(['config.json', 'sentencepiece.bpe.model', 'model.safetensors'].map((f) => [f, path.join(dir, f)]));
  srv = await startServerProcess({ 'test/big': files }); // its buffers are not ours to count
});
test.after(async () => { await srv?.close(); fs.rmSync(tmp, { recursive: true, force: true }); });

function sampler(getWasmBytes) {
  let peak = 0;
  let peakAt = null;
  const sample = (where) => {
    const mu = process.memoryUsage();
    // Node counts wasm memory in arrayBuffers on some versions: take it out when it is.
    const wasm = getWasmBytes?.() ?? 0;
    const ab = mu.arrayBuffers >= wasm && wasm > LIMIT ? mu.arrayBuffers - wasm : mu.arrayBuffers;
    const v = mu.heapUsed + ab;
    if (v > peak) { peak = v; peakAt = { where, heapUsed: mu.heapUsed, arrayBuffers: mu.arrayBuffers }; }
  };
  const timer = setInterval(() => sample('timer'), 10);
  return { sample, stop() { clearInterval(timer); return { peak, peakAt }; } };
}

for (const build of BUILDS) {
  for (const [what, source, extra] of [
    ['download (hub id)', 'test/big', (u) => ({ hubUrl: u })],
    ['local path', dir, () => ({})],
  ]) {
    test(`[${build.name}] ${what}: ${Math.round(bytes / 1e6) || 235} MB F32 model, JS heap + ArrayBuffers < 64 MB`, { timeout: 300000 }, async () => {
      const wasmModule = await compileBuild(build);
      const s = sampler();
      const t0 = Date.now();
      let events = 0;
      const model = await load(source, {
        wasmModule, worker: false, cache: false, ...extra(srv.url),
        onProgress: () => { events++; s.sample('progress'); },
      });
      const { peak, peakAt } = s.stop();
      const secs = (Date.now() - t0) / 1000;
      try {
        assert.equal(model.config.hiddenSize, 1024);
        const st = await model.stats();
        console.log(`# [${build.name}] ${what}: ${(bytes / 1e6).toFixed(0)} MB in ${secs.toFixed(1)} s, ${events} progress events, peak JS heap+ArrayBuffers ${(peak / 2 ** 20).toFixed(1)} MiB (${JSON.stringify(peakAt)}), wasm memory ${(st.memoryBytes / 2 ** 20).toFixed(0)} MiB`);
        assert.ok(peak < LIMIT, `peak ${(peak / 2 ** 20).toFixed(1)} MiB`);
        const r = await model.fillMask('Hello <mask> world.', { topK: 2 });
        assert.equal(r.length, 2);
      } finally {
        await model.dispose();
      }
    });
  }

  test(`[${build.name}] worker mode: the calling thread stays small while the worker loads`, { timeout: 300000 }, async () => {
    const wasmModule = await compileBuild(build);
    const s = sampler();
    const model = await load('test/big', { wasmModule, cache: false, hubUrl: srv.url, onProgress: () => s.sample('progress') });
    const { peak } = s.stop();
    try {
      const st = await model.stats();
      console.log(`# [${build.name}] worker: calling thread peak ${(peak / 2 ** 20).toFixed(1)} MiB; worker heap ${JSON.stringify(st.heap)}`);
      assert.ok(peak < LIMIT);
    } finally {
      await model.dispose();
    }
  });
}
