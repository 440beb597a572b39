// xlmr-wasm beside ONNX Runtime Web in Chromium (Debian's, through npm playwright-core) or Firefox, on the peer model.
//
//   node bench/browser-ort.mjs [--threads 1,2] [--seqs 16,128,512] [--work enc,fill] [--rounds 8] [--peer-dir /work/peer]
//        [--browser chromium|firefox]   (firefox: Debian's firefox-esr, headless, no driver: a page per thread count
//        starts the bench Worker itself and posts its progress and results back; tests/browser/open-url.mjs)
//
// A cross-origin isolated page (COOP + COEP, so shared memory and ORT's threads work) starts one module Worker per
// thread count; it runs everything, as the package and transformers.js run models off the main thread:
// ours relaxed (dist/xlmr-relaxed[-mt].wasm with the kernel js/wasm.js selectKernel sets: the exact fused kernel
// where the engine's fused dot is exact, else the u7 pair form), ours simd128 (dist/xlmr[-mt].wasm), both loading
// PEER_DIR/bench/model-q8_0.gguf
// streamed over HTTP, and onnxruntime-web from PEER_DIR/npm (wasm EP, numThreads = threads) on
// PEER_DIR/models/encoder_q8.onnx and mlm_q8.onnx. Threads > 1: threads - 1 pool Workers of ours on the shared
// memory. Work: the encoder's hidden states at batch 1, and fill-mask from ids (one <mask> in the middle: ours
// xlmr_fill_mask, ORT the MLM graph + softmax and top 5 over the vocabulary). After a warm-up, rounds run the
// three sides in an order rotated every round, 30 ms apart; ratio = median over rounds of ours / ORT in the round.
// "auto" in the table is the side the package's simd: 'auto' loads (js/wasm.js chooseBuild): the relaxed build where
// its kernel is exact, else the SIMD128 build (x86 without AVX-VNNI, where the relaxed build runs the u7 pair form).

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf('--' + k); return i >= 0 ? args[i + 1] : d; };
const PEER = opt('peer-dir', process.env.PEER_DIR ?? '/work/peer');
const threadsList = opt('threads', '1,2').split(',').map(Number);
const seqs = opt('seqs', '16,128,512').split(',').map(Number);
const work = opt('work', 'enc,fill').split(',');
const rounds = +opt('rounds', 8);
const browser = opt('browser', 'chromium');
if (!['chromium', 'firefox'].includes(browser)) throw new Error(`--browser ${browser}: chromium or firefox`);
const ORT_DIST = path.join(PEER, 'npm/node_modules/onnxruntime-web/dist');
const ortVersion = JSON.parse(fs.readFileSync(path.join(ORT_DIST, '../package.json'), 'utf8')).version;

// The pool thread of our threaded build: the same module on the same shared memory, its own stack.
const POOL_WORKER = `
onmessage = ({ data: { module, memory, stackTop, id } }) => {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) (imports[imp.module] ??= {})[imp.name] = imp.kind === 'memory' ? memory : () => 52;
  const x = new WebAssembly.Instance(module, imports).exports;
  x.__stack_pointer.value = stackTop;
  postMessage('ready');
  x.xlmr_thread_main(id);
};`;

// Everything measured runs here, in one module Worker per thread count.
const BENCH_WORKER = `
import * as ort from '/ort/ort.wasm.min.mjs';
const V = 250002, H = 768;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (a) => { const s = [...a].sort((p, q) => p - q); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const quant = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

async function ours(url, threads) {
  const module = await WebAssembly.compileStreaming(fetch(url));
  const shared = WebAssembly.Module.imports(module).some((i) => i.kind === 'memory') ? new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true }) : null;
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) (imports[imp.module] ??= {})[imp.name] = imp.kind === 'memory' ? shared : () => 52;
  const x = (await WebAssembly.instantiate(module, imports)).exports;
  x._initialize?.();
  const mem = shared ?? x.memory;
  const u8 = () => new Uint8Array(mem.buffer);
  const probe = x.xlmr_dot_probe?.() ?? 0, exact = x.xlmr_int8_kernel_exact?.() ?? -1;
  if (exact > 0) x.xlmr_int8_kernel(exact);
  const kernel = probe === 0 ? 'simd128' : ['pair-u7', 'vnni-exact', 'sdot-exact'][x.xlmr_int8_kernel(-1)];
  if (threads > 1) {
    if (!shared) throw new Error(url + ' is not a threaded build');
    x.xlmr_threads_set(threads - 1);
    await Promise.all(Array.from({ length: threads - 1 }, (_, id) => {
      const base = x.xlmr_alloc(256 * 1024);
      const w = new Worker('/pool-worker.js');
      w.postMessage({ module, memory: shared, stackTop: (base + 256 * 1024) & ~15, id });
      return new Promise((ok, ko) => { w.onmessage = ok; w.onerror = ko; });
    }));
  }
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
  const loadMs = performance.now() - t0;
  const put = (a) => { const p = x.xlmr_alloc(a.byteLength); u8().set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), p); return p; };
  const enc = (ids) => {
    const T = ids.length, pi = put(ids), pl = put(Int32Array.of(T)), po = x.xlmr_alloc(T * H * 4);
    const rc = x.xlmr_embed(m, pi, pl, 1, T, 0, 0, po);
    if (rc !== 0) throw new Error('embed ' + rc);
    x.xlmr_free(pi); x.xlmr_free(pl); x.xlmr_free(po);
  };
  const fill = (ids) => {
    const T = ids.length, pi = put(ids), poi = x.xlmr_alloc(T * 20), pos = x.xlmr_alloc(T * 20);
    const n = x.xlmr_fill_mask(m, pi, T, 5, poi, pos);
    if (n !== 1) throw new Error('fill_mask ' + n);
    const top = new Int32Array(mem.buffer, poi, 5).slice();
    x.xlmr_free(pi); x.xlmr_free(poi); x.xlmr_free(pos);
    return top;
  };
  return { kernel, loadMs, enc, fill };
}

async function ortSession(file) {
  const t0 = performance.now();
  const s = await ort.InferenceSession.create(new Uint8Array(await (await fetch(file)).arrayBuffer()), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  return { s, loadMs: performance.now() - t0 };
}

function topK(logits, off, k) { // softmax over the vocabulary and its top k, as a fill-mask pipeline does
  let mx = -Infinity;
  for (let i = 0; i < V; i++) if (logits[off + i] > mx) mx = logits[off + i];
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(logits[off + i] - mx);
  const best = [];
  for (let i = 0; i < V; i++) {
    const v = logits[off + i];
    if (best.length < k || v > best[best.length - 1][1]) { best.push([i, v]); best.sort((p, q) => q[1] - p[1]); if (best.length > k) best.pop(); }
  }
  return best.map(([i, v]) => ({ id: i, score: Math.exp(v - mx) / sum }));
}

function ids(T, mask) {
  const a = new Int32Array(T);
  for (let i = 0; i < T; i++) a[i] = 5 + ((i * 2654435761) >>> 0) % (V - 10);
  a[0] = 0; a[T - 1] = 2;
  if (mask) a[T >> 1] = V - 1;
  return a;
}

async function interleave(sides, rounds, warm) {
  const timed = async (f) => { await sleep(30); const a = performance.now(); await f(); return performance.now() - a; };
  for (let i = 0; i < warm; i++) for (const s of sides) await timed(s.run);
  const times = sides.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = sides.map((_, i) => (i + r) % sides.length);
    if (r % 2) order.reverse();
    for (const i of order) times[i].push(await timed(sides[i].run));
  }
  const ortT = times[sides.length - 1];
  return sides.map((s, i) => {
    const ratios = times[i].map((t, r) => t / ortT[r]);
    return { name: s.name, medianMs: median(times[i]), minMs: Math.min(...times[i]), maxMs: Math.max(...times[i]), ratio: median(ratios), q1: quant(ratios, 0.25), q3: quant(ratios, 0.75) };
  });
}

onmessage = async ({ data: { threads, seqs, work, rounds } }) => {
  try {
    ort.env.wasm.wasmPaths = '/ort/';
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false;
    const sfx = threads > 1 ? '-mt' : '';
    const relaxed = await ours('/xlmr-relaxed' + sfx + '.wasm', threads), simd = await ours('/xlmr' + sfx + '.wasm', threads);
    const out = { threads, isolated: crossOriginIsolated, kernel: relaxed.kernel, load: { relaxed: relaxed.loadMs, simd128: simd.loadMs }, rows: [] };
    for (const w of work) {
      const { s, loadMs } = await ortSession(w === 'enc' ? '/encoder_q8.onnx' : '/mlm_q8.onnx');
      out.load['ort-' + w] = loadMs;
      for (const T of seqs) {
        if (w === 'fill' && T > 128) continue;
        const a = ids(T, w === 'fill');
        const feeds = { input_ids: new ort.Tensor('int64', BigInt64Array.from(a, BigInt), [1, T]), attention_mask: new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]) };
        const sides = w === 'enc'
          ? [{ name: 'relaxed', run: () => relaxed.enc(a) }, { name: 'simd128', run: () => simd.enc(a) }, { name: 'ort', run: async () => (await s.run(feeds)).last_hidden_state.data }]
          : [{ name: 'relaxed', run: () => relaxed.fill(a) }, { name: 'simd128', run: () => simd.fill(a) }, { name: 'ort', run: async () => topK((await s.run(feeds)).logits.data, (T >> 1) * V, 5) }];
        const res = await interleave(sides, T >= 512 ? Math.max(4, rounds >> 1) : rounds, T >= 512 ? 2 : 4);
        out.rows.push({ work: w, T, res });
        postMessage({ progress: w + ' ' + T + ' ' + threads + 't: ' + res.map((r) => r.name + ' ' + r.medianMs.toFixed(1) + ' ms' + (r.name === 'ort' ? '' : ' (' + r.ratio.toFixed(2) + ')')).join(', ') });
      }
      await s.release();
    }
    postMessage({ done: out });
  } catch (e) { postMessage({ error: String(e?.stack ?? e) }); }
};`;

const files = {
  '/xlmr.wasm': path.join(ROOT, 'dist/xlmr.wasm'), '/xlmr-mt.wasm': path.join(ROOT, 'dist/xlmr-mt.wasm'),
  '/xlmr-relaxed.wasm': path.join(ROOT, 'dist/xlmr-relaxed.wasm'), '/xlmr-relaxed-mt.wasm': path.join(ROOT, 'dist/xlmr-relaxed-mt.wasm'),
  '/model.gguf': path.join(PEER, 'bench/model-q8_0.gguf'),
  '/encoder_q8.onnx': path.join(PEER, 'models/encoder_q8.onnx'), '/mlm_q8.onnx': path.join(PEER, 'models/mlm_q8.onnx'),
};
// measure one build for the whole run: others may rebuild dist/ meanwhile
const snap = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-browser-ort-'));
for (const k of Object.keys(files)) if (k.endsWith('.wasm')) { const f = path.join(snap, k.slice(1)); fs.copyFileSync(files[k], f); files[k] = f; }
const ISOLATED = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
// Firefox runs without a driver: /run?{msg} starts the bench Worker as the Chromium page's evaluate() below does,
// and posts what it hears to /report (progress), /done and /error, which settle firefoxRun's promise.
const RUN_PAGE = `<!doctype html><title>bench</title><script type="module">
const post = (p, o) => fetch(p, { method: 'POST', body: JSON.stringify(o) });
const w = new Worker('/bench-worker.mjs', { type: 'module' });
w.onerror = (e) => post('/error', { error: String(e.message) });
w.onmessage = ({ data }) => {
  if (data.progress) post('/report', { line: data.progress });
  else if (data.error) post('/error', data);
  else { w.terminate(); post('/done', { ua: navigator.userAgent, done: data.done }); }
};
w.postMessage(JSON.parse(decodeURIComponent(location.search.slice(1))));
</script>`;
let firefoxWaiter = null;
const server = http.createServer((req, res) => {
  const p = new URL(req.url, 'http://x').pathname;
  const js = (body) => res.writeHead(200, { 'content-type': 'text/javascript', ...ISOLATED }).end(body);
  if (p === '/') { res.writeHead(200, { 'content-type': 'text/html', ...ISOLATED }).end('<!doctype html><title>bench</title>'); return; }
  if (p === '/run') { res.writeHead(200, { 'content-type': 'text/html', ...ISOLATED }).end(RUN_PAGE); return; }
  if (req.method === 'POST' && ['/report', '/done', '/error'].includes(p)) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      res.end('ok');
      const m = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (p === '/report') console.log(m.line);
      else firefoxWaiter?.(p === '/done' ? m : { error: m.error });
    });
    return;
  }
  if (p === '/pool-worker.js') return js(POOL_WORKER);
  if (p === '/bench-worker.mjs') return js(BENCH_WORKER);
  const f = p.startsWith('/ort/') ? path.join(ORT_DIST, path.basename(p)) : files[p];
  if (!f || !fs.existsSync(f)) { res.writeHead(404).end(); return; }
  const type = f.endsWith('.wasm') ? 'application/wasm' : f.endsWith('.mjs') ? 'text/javascript' : 'application/octet-stream';
  res.writeHead(200, { 'content-type': type, 'content-length': fs.statSync(f).size, ...ISOLATED });
  fs.createReadStream(f, { highWaterMark: 1 << 20 }).pipe(res);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}`;

/** One thread count's run in a fresh Firefox (ORT reads numThreads once per realm). */
async function firefoxRun(msg, first) {
  const { openUrl } = await import('../tests/browser/open-url.mjs');
  const settled = new Promise((resolve) => { firefoxWaiter = resolve; });
  const ff = openUrl('firefox', `${base}/run?${encodeURIComponent(JSON.stringify(msg))}`);
  try {
    const r = await Promise.race([settled, ff.exited.then((code) => ({ error: `Firefox exited (${code}):\n${ff.log().slice(-3000)}` }))]);
    if (r.error) throw new Error(r.error);
    if (first) console.log(r.ua, `onnxruntime-web ${ortVersion}`);
    return r.done;
  } finally {
    await ff.close();
  }
}

const results = [];
if (browser === 'firefox') {
  for (const threads of threadsList) results.push(await firefoxRun({ threads, seqs, work, rounds }, results.length === 0));
}
const { chromium } = browser === 'chromium' ? await import('playwright-core') : {};
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-bench-chromium-'));
const context = chromium && await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
for (const threads of browser === 'chromium' ? threadsList : []) {
  const page = await context.newPage(); // a fresh page per thread count: ORT reads numThreads once per realm
  page.setDefaultTimeout(0);
  page.on('console', (m) => console.log('[page]', m.text()));
  await page.exposeFunction('report', (s) => console.log(s));
  await page.goto(base + '/');
  if (results.length === 0) console.log(await page.evaluate(() => navigator.userAgent), `onnxruntime-web ${ortVersion}`);
  const out = await page.evaluate((msg) => new Promise((ok, ko) => {
    const w = new Worker('/bench-worker.mjs', { type: 'module' });
    w.onerror = (e) => ko(new Error(e.message));
    w.onmessage = ({ data }) => {
      if (data.progress) window.report(data.progress);
      else if (data.error) ko(new Error(data.error));
      else { w.terminate(); ok(data.done); }
    };
    w.postMessage(msg);
  }), { threads, seqs, work, rounds });
  results.push(out);
  await page.close();
}
console.log(JSON.stringify(results));
console.log('\n| work | threads | ours auto ms (runs) | ours relaxed ms (kernel) | ours SIMD128 ms | ORT Web ms | auto / ORT (IQR) | relaxed / ORT (IQR) | SIMD128 / ORT (IQR) |\n|---|---|---|---|---|---|---|---|---|');
for (const o of results) {
  const exact = o.kernel === 'vnni-exact' || o.kernel === 'sdot-exact';
  for (const { work: w, T, res } of o.rows) {
    const [x, s, r] = res, a = exact ? x : s;
    const cell = (v) => `${v.ratio.toFixed(2)} (${v.q1.toFixed(2)}–${v.q3.toFixed(2)})`;
    console.log(`| ${w === 'enc' ? 'encoder' : 'fill-mask end to end'}, seq ${T} | ${o.threads} | ${a.medianMs.toFixed(1)} (${exact ? o.kernel : 'simd128'}) | ${x.medianMs.toFixed(1)} (${o.kernel}) | ${s.medianMs.toFixed(1)} | ${r.medianMs.toFixed(1)} | ${cell(a)} | ${cell(x)} | ${cell(s)} |`);
  }
}
await context?.close();
fs.rmSync(userDataDir, { recursive: true, force: true });
fs.rmSync(snap, { recursive: true, force: true });
server.close();
