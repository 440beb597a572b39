// The kernel benchmarks (bench/gemm_bench.c, bench/rows_bench.c: the SIMD128 build's Q8_0 GEMM, the row kernels and
// attention's int16 products) in browsers, side by side: Debian's chromium and firefox-esr, headless, each opening a
// page that runs them under a WASI shim (wasi-browser.mjs) and posts the results back (tests/browser/open-url.mjs,
// no driver); and, as "jsc", in JavaScriptCore's shell (Safari's engine, WebKitGTK's build: jsc-wasi-main.mjs, the
// same shim). Where one engine runs the encoder slower than another, this says which kernel.
//
//   node bench/browser-kernels.mjs [--browsers chromium,firefox,jsc] [--ms 300] [--only rows,gemm] [--timeout 900] [--json]
//
// Each program runs twice per engine, a short warm-up (every function tiered up) and the measured run.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildKernelBench } from './gemm.mjs';
import { browserMissing, openUrl } from '../tests/browser/open-url.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf('--' + k); return i >= 0 ? args[i + 1] : d; };
const browsers = opt('browsers', 'chromium,firefox').split(',');
const ms = opt('ms', '300');
const json = args.includes('--json');
const limitS = +opt('timeout', 900);
const JSC = process.env.JSC_BIN ?? '/usr/bin/jsc';
for (const b of browsers) {
  const why = b === 'jsc' ? (fs.existsSync(JSC) ? null : `${JSC} not found: apt-get install -y --no-install-recommends libjavascriptcoregtk-4.0-bin (or set JSC_BIN)`) : browserMissing(b);
  if (why) throw new Error(why);
}
const only = opt('only', 'rows,gemm').split(',');

const files = {
  '/gemm.wasm': buildKernelBench('gemm_bench'),
  '/rows.wasm': buildKernelBench('rows_bench'),
  '/wasi-browser.mjs': path.join(ROOT, 'bench', 'wasi-browser.mjs'),
};
const PAGE = `<!doctype html><title>kernels</title><script type="module">
import { runWasi } from '/wasi-browser.mjs';
const post = (p, o) => fetch(p, { method: 'POST', body: JSON.stringify(o) });
try {
  const out = { ua: navigator.userAgent };
  for (const name of ${JSON.stringify(only)}) {
    await post('/progress', { line: name + ': warm-up' });
    await runWasi('/' + name + '.wasm', [name, '50']);
    await post('/progress', { line: name + ': measuring' });
    out[name] = await runWasi('/' + name + '.wasm', [name, ${JSON.stringify(ms)}]);
  }
  await post('/done', out);
} catch (e) { await post('/done', { error: String(e) + ' ' + (e && e.stack) }); }
</script>`;

// cross-origin isolated: performance.now() in 5 µs steps in Chromium rather than 100 µs (Firefox's profile asks for
// full resolution, open-url.mjs)
const ISOLATED = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
let settle = null;
const server = http.createServer((req, res) => {
  const p = new URL(req.url, 'http://x').pathname;
  if (p === '/') return res.writeHead(200, { 'content-type': 'text/html', ...ISOLATED }).end(PAGE);
  if (p === '/progress' && req.method === 'POST') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { res.end('ok'); console.error(JSON.parse(Buffer.concat(chunks).toString('utf8')).line); });
    return;
  }
  if (p === '/done' && req.method === 'POST') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { res.end('ok'); settle?.(JSON.parse(Buffer.concat(chunks).toString('utf8'))); });
    return;
  }
  const f = files[p];
  if (!f) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': f.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', 'content-length': fs.statSync(f).size, ...ISOLATED });
  fs.createReadStream(f).pipe(res);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}`;

/** The page's work in JavaScriptCore's shell: the same programs, warm-up and measured run, and its answer's shape. */
function runJsc() {
  const out = { ua: 'jsc (' + spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'libjavascriptcoregtk-4.0-bin'], { encoding: 'utf8' }).stdout.trim() + ')' };
  for (const name of only) {
    console.error(`jsc ${name}: measuring`);
    const r = spawnSync(JSC, ['-m', path.join(ROOT, 'bench', 'jsc-wasi-main.mjs'), '--', files['/' + name + '.wasm'], '50', ms], { encoding: 'utf8', timeout: limitS * 1000, maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`jsc ${name}: ${r.error?.message ?? ''}${r.stderr}${r.stdout.slice(-2000)}`);
    out[name] = JSON.parse(r.stdout.trim().split('\n').pop());
  }
  return out;
}

const results = {};
for (const b of browsers) {
  if (b === 'jsc') { results[b] = runJsc(); continue; }
  const done = new Promise((resolve) => { settle = resolve; });
  const browser = openUrl(b, base + '/');
  try {
    const late = new Promise((resolve) => setTimeout(() => resolve({ error: `no result in ${limitS} s:\n${browser.log().slice(-3000)}` }), limitS * 1000).unref());
    const r = await Promise.race([done, late, browser.exited.then((code) => ({ error: `${b} exited (${code}):\n${browser.log().slice(-3000)}` }))]);
    if (r.error) throw new Error(`${b}: ${r.error}`);
    results[b] = r;
  } finally {
    await browser.close();
  }
}
server.close();

if (json) {
  console.log(JSON.stringify(results));
} else {
  for (const b of browsers) console.log(`# ${b}: ${results[b].ua}`);
  const key = (r) => `${r.case} ${r.rows} × ${r.n}${r.k ? ' × ' + r.k : ''}`;
  console.log(`\n| row kernel | ${browsers.map((b) => `${b} ns/element`).join(' | ')} |\n|---|${browsers.map(() => '---').join('|')}|`);
  for (const r of (results[browsers[0]].rows ?? []).filter((x) => x.gops === undefined && x.ns_per_element !== undefined)) {
    console.log(`| ${key(r)} | ${browsers.map((b) => results[b].rows.find((x) => key(x) === key(r))?.ns_per_element.toFixed(3) ?? '—').join(' | ')} |`);
  }
  console.log(`\n| int16 attention products | ${browsers.map((b) => `${b} GOP/s`).join(' | ')} |\n|---|${browsers.map(() => '---').join('|')}|`);
  for (const r of (results[browsers[0]].rows ?? []).filter((x) => x.gops !== undefined)) {
    console.log(`| ${key(r)} | ${browsers.map((b) => results[b].rows.find((x) => key(x) === key(r))?.gops.toFixed(1) ?? '—').join(' | ')} |`);
  }
  const g = (r) => `${r.T} × ${r.N} × ${r.K}`;
  console.log(`\n| Q8_0 GEMM (T × N × K), SIMD128 | ${browsers.map((b) => `${b} GOP/s (rows layout)`).join(' | ')} |\n|---|${browsers.map(() => '---').join('|')}|`);
  for (const r of (results[browsers[0]].gemm ?? []).filter((x) => x.kernel)) {
    console.log(`| ${g(r)} | ${browsers.map((b) => { const x = results[b].gemm.find((y) => y.kernel && g(y) === g(r)); return x ? `${x.gops.toFixed(1)} (${x.rows_gops.toFixed(1)})` : '—'; }).join(' | ')} |`);
  }
}
