// SIMD128 against relaxed SIMD where relaxed SIMD runs correctly: Debian's Chromium (through npm
// playwright-core). Node 20 cannot be used for this: its baseline compiler computes relaxed_dot wrongly.
//
//   node bench/browser.mjs [--runs 6] [--peer-dir /work/peer] [--gemm-only]
//
// 1. The GEMM microbenchmark (bench/gemm_bench.c built twice, with and without -mrelaxed-simd) under a tiny
//    WASI shim in the page (wasi-browser.mjs).
// 2. The encoder end to end, batch 1, seq 16/128/512: dist/xlmr.wasm vs dist/xlmr-relaxed.wasm, each loading
//    PEER_DIR/bench/model-q8_0.gguf streamed over HTTP from 127.0.0.1 into the loader, then warm-up and timed runs,
//    the two builds interleaved run by run. Output hidden states are compared (cosine) between the builds.

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGemmBench } from './gemm.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf('--' + k); return i >= 0 ? args[i + 1] : d; };
const PEER = opt('peer-dir', process.env.PEER_DIR ?? '/work/peer');
const runs = +opt('runs', 6);

const files = {
  '/gemm.wasm': buildGemmBench({ relaxed: false }),
  '/gemm-relaxed.wasm': buildGemmBench({ relaxed: true }),
  '/xlmr.wasm': path.join(ROOT, 'dist/xlmr.wasm'),
  '/xlmr-relaxed.wasm': path.join(ROOT, 'dist/xlmr-relaxed.wasm'),
  '/model.gguf': path.join(PEER, 'bench/model-q8_0.gguf'),
  '/wasi-browser.mjs': path.join(ROOT, 'bench/wasi-browser.mjs'),
};
const server = http.createServer((req, res) => {
  const f = files[new URL(req.url, 'http://x').pathname];
  if (req.url === '/') { res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>bench</title>'); return; }
  if (!f || !fs.existsSync(f)) { res.writeHead(404).end(); return; }
  const type = f.endsWith('.wasm') ? 'application/wasm' : f.endsWith('.mjs') ? 'text/javascript' : 'application/octet-stream';
  res.writeHead(200, { 'content-type': type, 'content-length': fs.statSync(f).size });
  fs.createReadStream(f, { highWaterMark: 1 << 20 }).pipe(res);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}`;

const { chromium } = await import('playwright-core');
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-bench-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(0);
await page.goto(base + '/');
const version = await page.evaluate(() => navigator.userAgent);
console.log(version);

// ---- 1. GEMM microbenchmark ----
const gemm = await page.evaluate(async () => {
  const { runWasi } = await import('/wasi-browser.mjs');
  const res = {};
  for (const name of ['gemm', 'gemm-relaxed']) {
    await runWasi(`/${name}.wasm`, [name, '300']); // warm-up: tier up
    res[name] = await runWasi(`/${name}.wasm`, [name, '1500']);
  }
  return res;
});
console.log('\nQ8_0 GEMM alone (median GOP/s, best in brackets):');
// the relaxed bench prints the pair form and, where the fused dot is exact, the exact kernel for each shape
const rel = (k) => gemm['gemm-relaxed'].filter((r) => r.kernel === k);
const pair = rel('pair-u7'), fused = rel('vnni-exact').length ? rel('vnni-exact') : rel('sdot-exact');
const cell = (r) => (r ? `${r.gops.toFixed(1)} (${r.gops_best.toFixed(1)})` : '—');
console.log(`| T | N | K | SIMD128 | pair u7 | fused exact (${fused[0]?.kernel ?? 'none'}) | fused / SIMD128 |\n|---|---|---|---|---|---|---|`);
gemm.gemm.filter((r) => r.peak_gops === undefined).forEach((a, i) => {
  console.log(`| ${a.T} | ${a.N} | ${a.K} | ${cell(a)} | ${cell(pair[i])} | ${cell(fused[i])} | ${fused[i] ? (fused[i].gops / a.gops).toFixed(2) : '—'} |`);
});

// ---- 2. the encoder end to end ----
if (!args.includes('--gemm-only')) {
  const enc = await page.evaluate(async ({ runs }) => {
    async function make(url) {
      const mod = await WebAssembly.compileStreaming(fetch(url));
      const imports = {};
      for (const imp of WebAssembly.Module.imports(mod)) (imports[imp.module] ??= {})[imp.name] = () => 52;
      const x = (await WebAssembly.instantiate(mod, imports)).exports;
      x._initialize?.();
      const u8 = () => new Uint8Array(x.memory.buffer);
      const ld = x.xlmr_loader_new(0);
      const t0 = performance.now();
      const reader = (await fetch('/model.gguf')).body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        let off = 0;
        while (off < value.length) {
          const room = x.xlmr_loader_room(ld);
          if (!room) break;
          const n = Math.min(room, value.length - off);
          u8().set(value.subarray(off, off + n), x.xlmr_loader_dest(ld));
          if (x.xlmr_loader_commit(ld, n) !== 0) throw new Error('commit failed');
          off += n;
        }
      }
      const m = x.xlmr_loader_finish(ld);
      if (!m) throw new Error('finish failed');
      x.xlmr_loader_free(ld);
      return { x, m, loadMs: performance.now() - t0 };
    }
    const builds = { simd128: await make('/xlmr.wasm'), relaxed: await make('/xlmr-relaxed.wasm') };
    // the package's kernel choice (js/wasm.js selectKernel): the exact kernel where the fused dot is exact
    const exact = builds.relaxed.x.xlmr_int8_kernel_exact();
    if (exact > 0) builds.relaxed.x.xlmr_int8_kernel(exact);
    builds.relaxed.kernel = ['pair-u7', 'vnni-exact', 'sdot-exact'][builds.relaxed.x.xlmr_int8_kernel(-1)];
    const out = {};
    for (const T of [16, 128, 512]) {
      const ids = new Int32Array(T);
      for (let i = 0; i < T; i++) ids[i] = 5 + ((i * 2654435761) >>> 0) % 249990;
      ids[0] = 0; ids[T - 1] = 2;
      const run = (b) => {
        const { x, m } = b;
        const pi = x.xlmr_alloc(T * 4), pl = x.xlmr_alloc(4), po = x.xlmr_alloc(T * 768 * 4);
        new Int32Array(x.memory.buffer, pi, T).set(ids);
        new Int32Array(x.memory.buffer, pl, 1)[0] = T;
        const t0 = performance.now();
        const rc = x.xlmr_embed(m, pi, pl, 1, T, 0, 0, po);
        const dt = performance.now() - t0;
        if (rc !== 0) throw new Error('embed ' + rc);
        const h = new Float32Array(x.memory.buffer, po, T * 768).slice();
        x.xlmr_free(pi); x.xlmr_free(pl); x.xlmr_free(po);
        return [dt, h];
      };
      const times = { simd128: [], relaxed: [] };
      const warm = T >= 512 ? 2 : 5;
      let hs, hr;
      for (let i = 0; i < warm + runs; i++) {
        for (const name of i % 2 ? ['relaxed', 'simd128'] : ['simd128', 'relaxed']) {
          const [dt, h] = run(builds[name]);
          if (i >= warm) times[name].push(dt);
          if (name === 'simd128') hs = h; else hr = h;
        }
      }
      let ab = 0, aa = 0, bb = 0;
      for (let i = 0; i < hs.length; i++) { ab += hs[i] * hr[i]; aa += hs[i] ** 2; bb += hr[i] ** 2; }
      const med = (a) => { const s = [...a].sort((p, q) => p - q); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
      out[T] = { simd128: med(times.simd128), relaxed: med(times.relaxed), simd128Range: [Math.min(...times.simd128), Math.max(...times.simd128)],
        relaxedRange: [Math.min(...times.relaxed), Math.max(...times.relaxed)], cosine: ab / Math.sqrt(aa * bb) };
    }
    return { out, kernel: builds.relaxed.kernel, load: { simd128: builds.simd128.loadMs, relaxed: builds.relaxed.loadMs } };
  }, { runs });
  console.log('\nEncoder, batch 1, one thread, in Chromium (median ms, min–max; builds interleaved run by run):');
  console.log(`| seq | dist/xlmr.wasm (SIMD128) | dist/xlmr-relaxed.wasm (${enc.kernel}) | relaxed / SIMD128 | cosine between builds |\n|---|---|---|---|---|`);
  for (const [T, r] of Object.entries(enc.out)) {
    console.log(`| ${T} | ${r.simd128.toFixed(1)} (${r.simd128Range.map((v) => v.toFixed(0)).join('–')}) | ${r.relaxed.toFixed(1)} (${r.relaxedRange.map((v) => v.toFixed(0)).join('–')}) | ${(r.relaxed / r.simd128).toFixed(2)} | ${r.cosine.toFixed(6)} |`);
  }
  console.log(`load (GGUF over HTTP, ms): SIMD128 ${enc.load.simd128.toFixed(0)}, relaxed ${enc.load.relaxed.toFixed(0)}`);
}
await context.close();
fs.rmSync(userDataDir, { recursive: true, force: true });
server.close();
