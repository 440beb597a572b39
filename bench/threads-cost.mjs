// What threads: 'auto' costs against threads: 1 through the package (js/index.node.js), each in a fresh process:
// time from load() to a ready model, resident memory after loading and peak, and embed latency.
//
//   node bench/threads-cost.mjs [--model /work/peer/bench/model-q8_0.gguf] [--procs 3] [--runs 6] [--threads 1,auto]
//
// The processes alternate (1, auto, 1, auto, ...) so drift of a shared host hits both alike. The text is the same
// for every process (its token count printed); latency = median of runs after two warm-up calls.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf('--' + k); return i >= 0 ? args[i + 1] : d; };
const SELF = fileURLToPath(import.meta.url);

if (opt('child')) {
  const threads = opt('child') === 'auto' ? 'auto' : +opt('child');
  const { load } = await import('../js/index.node.js');
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const model = await load(opt('model'), { threads, cache: false });
  const loadMs = performance.now() - t0;
  const rssLoaded = process.memoryUsage().rss;
  const text = Array.from({ length: 60 }, (_, i) => ['alpha', 'beta', 'gamma', 'delta', 'omega'][i % 5] + i).join(' ');
  const tokens = (await model.tokenize(text)).ids.length;
  await model.embed(text); await model.embed(text);
  const times = [];
  for (let i = 0; i < +opt('runs'); i++) { const a = performance.now(); await model.embed(text); times.push(performance.now() - a); }
  times.sort((a, b) => a - b);
  const rssRun = process.memoryUsage().rss;
  const out = { threads, runtime: model.runtime, loadMs, rss0MB: rss0 / 2 ** 20, rssLoadedMB: rssLoaded / 2 ** 20, rssRunMB: rssRun / 2 ** 20,
    peakMB: process.resourceUsage().maxRSS / 1024, tokens, embedMs: times[times.length >> 1] };
  await model.dispose();
  console.log('RESULT ' + JSON.stringify(out));
  process.exit(0);
}

const model = opt('model', '/work/peer/bench/model-q8_0.gguf');
const kinds = opt('threads', '1,auto').split(',');
const rows = [];
for (let p = 0; p < +opt('procs', 3); p++) {
  for (const k of p % 2 ? [...kinds].reverse() : kinds) {
    const r = spawnSync(process.execPath, [SELF, '--child', k, '--model', model, '--runs', opt('runs', '6')], { encoding: 'utf8' });
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) { console.error(r.stdout, r.stderr); process.exit(1); }
    const res = JSON.parse(line.slice(7));
    rows.push(res);
    console.log(JSON.stringify(res));
  }
}
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
console.log(`\n${process.version}, ${model}\n| threads | runtime | load ms | RSS loaded MB | RSS after runs MB | peak RSS MB | embed ms (${rows[0].tokens} tokens) |\n|---|---|---|---|---|---|---|`);
for (const k of kinds) {
  const rs = rows.filter((r) => String(r.threads) === k);
  const rt = rs[0].runtime;
  const f = (key, d = 0) => `${med(rs.map((r) => r[key])).toFixed(d)} (${Math.min(...rs.map((r) => r[key])).toFixed(d)}–${Math.max(...rs.map((r) => r[key])).toFixed(d)})`;
  console.log(`| ${k} | ${rt.build}, ${rt.kernel}, ${rt.threads} thread(s) | ${f('loadMs')} | ${f('rssLoadedMB')} | ${f('rssRunMB')} | ${f('peakMB')} | ${f('embedMs', 1)} |`);
}
