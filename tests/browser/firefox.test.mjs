// The package in Firefox (Debian's firefox-esr, headless; SpiderMonkey's wasm): a page served on 127.0.0.1 with
// cross-origin isolation imports js/index.js and loads the bundled tiny model four ways — simd 'auto' with threads
// 'auto', 'simd128' on one thread, 'relaxed', and in the page's own thread — and posts back model.runtime, hidden
// states and fill-mask answers, which must equal what Node computes with the package here: to the bit wherever the
// SIMD128 kernels (or an exact fused kernel) run, close where the 7-bit pair form does. No driver: Firefox opens the
// page's URL and the page reports over HTTP (open-url.mjs). Skipped where firefox-esr is missing.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { createServer, listen } from '../../scripts/serve.mjs';
import { probeIsExact } from '../../js/wasm.js';
import { browserMissing, openUrl } from './open-url.mjs';
import { loadModelCases, worstTokenCosine } from '../node/helpers/common.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const skip = browserMissing('firefox') ?? false;
const MODEL = '/models/tiny/xlmr-tiny-random.q8_0.gguf';
const cases = loadModelCases().filter((c) => c.batch === 1);
const TEXTS = { embed: cases.map((c) => c.texts[0]).slice(0, 6), fill: cases.filter((c) => c.texts[0].includes('<mask>')).map((c) => c.texts[0]).slice(0, 4) };
const RUNS = [['auto', {}], ['simd128', { simd: 'simd128', threads: 1 }], ['relaxed', { simd: 'relaxed', threads: 1 }], ['inThread', { worker: false, threads: 1 }]];

const PAGE = `<!doctype html><meta charset="utf-8"><title>xlmr-wasm in Firefox</title>
<script type="module">
import { load } from '/js/index.js';
import { dotProbe } from '/js/wasm.js';
const post = (o) => fetch('/__result', { method: 'POST', body: JSON.stringify(o) });
try {
  const out = { ua: navigator.userAgent, isolated: crossOriginIsolated, probe: dotProbe(), runs: {} };
  for (const [name, opts] of ${JSON.stringify(RUNS)}) {
    const m = await load(new URL(${JSON.stringify(MODEL)}, location.href).href, { cache: false, ...opts });
    const embeds = [], fills = [];
    for (const t of ${JSON.stringify(TEXTS.embed)}) embeds.push(Array.from(await m.embed(t, { pooling: 'none', truncation: true })));
    for (const t of ${JSON.stringify(TEXTS.fill)}) fills.push(await m.fillMask(t));
    out.runs[name] = { runtime: m.runtime, embeds, fills };
    await m.dispose();
  }
  await post({ ok: true, out });
} catch (e) {
  await post({ ok: false, error: String(e && e.stack ? e.message + '\\n' + e.stack : e) });
}
</script>`;

test('the package in Firefox: model.runtime, hidden states and fill-mask equal Node\'s, in a Worker, on threads and in-thread', { skip, timeout: 300_000 }, async (t) => {
  let report;
  const got = new Promise((resolve) => { report = resolve; });
  const files = createServer({ isolated: true }).listeners('request')[0];
  const server = http.createServer((req, res) => {
    if (req.url === '/__page') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
      return res.end(PAGE);
    }
    if (req.url === '/__result' && req.method === 'POST') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => { res.end('ok'); report(JSON.parse(Buffer.concat(chunks).toString('utf8'))); });
      return;
    }
    return files(req, res);
  });
  const { url } = await listen(server);
  const ff = openUrl('firefox', `${url}/__page`);
  t.after(async () => {
    await ff.close();
    server.close();
  });
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`no result from Firefox in 240 s:\n${ff.log().slice(-3000)}`)), 240_000).unref());
  const early = ff.exited.then((code) => { throw new Error(`Firefox exited (${code}) before the page reported:\n${ff.log().slice(-3000)}`); });
  const r = await Promise.race([got, timeout, early]);
  assert.ok(r.ok, `the page failed: ${r.error}`);
  const { out } = r;
  t.diagnostic(`${out.ua}; cross-origin isolated: ${out.isolated}; fused dot probe ${out.probe}`);
  assert.equal(out.isolated, true);

  const { load } = await import('../../js/index.node.js');
  const ref = await load(path.join(ROOT, MODEL), { cache: false, simd: 'simd128', threads: 1 });
  t.after(() => ref.dispose());
  const want = { embeds: [], fills: [] };
  for (const text of TEXTS.embed) want.embeds.push(Array.from(await ref.embed(text, { pooling: 'none', truncation: true })));
  for (const text of TEXTS.fill) want.fills.push(await ref.fillMask(text));

  for (const [name] of RUNS) {
    const run = out.runs[name];
    const { kernel, simd, build, threads, worker } = run.runtime;
    t.diagnostic(`${name}: ${build}, simd ${simd}, kernel ${kernel}, ${threads} thread(s), ${worker ? 'Worker' : 'in-thread'}`);
    assert.equal(worker, name !== 'inThread');
    if (name === 'simd128' || name === 'inThread') assert.equal(kernel, 'simd128');
    if (name === 'auto') {
      assert.notEqual(kernel, 'pair-u7', "'auto' never runs the 7-bit form");
      assert.equal(simd, probeIsExact(out.probe) ? 'relaxed' : 'simd128', `'auto' follows the probe (${out.probe})`);
    }
    if (kernel !== 'pair-u7') {
      run.embeds.forEach((v, i) => assert.deepEqual(v, want.embeds[i], `${name}: text ${i} differs from Node's SIMD128`));
      assert.deepEqual(run.fills, want.fills, `${name}: fill-mask`);
    } else {
      const worst = Math.min(...run.embeds.map((v, i) => worstTokenCosine(v, want.embeds[i], 64)));
      assert.ok(worst >= 0.995, `${name} (pair-u7): worst token cosine to Node's SIMD128 ${worst}`);
      run.fills.forEach((f, i) => assert.equal(f[0].token, want.fills[i][0].token, `${name}: top token of fill ${i}`));
    }
  }
  assert.ok(out.runs.auto.runtime.threads >= 1);
});
