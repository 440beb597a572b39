// A/B of two builds of ours on the same work, in one process: both load the peer model, then single runs are
// alternated (A B, B A, A B, …) 30 ms apart, so each pair sees nearly the same machine. The host's speed drifts
// by ±30% from minute to minute (other tenants), so separate processes cannot resolve a few percent; pairs can
// (A/A pairs here spread ±5–7%: a change under ~3% stays unresolved). Before timing, both builds' outputs are
// compared: hidden states (enc), the CLS-pooled vector (cls: embed with pooling cls) or the logits at the mask and one more row (fill) must be bit-identical, unless
// --allow-diff says the change is meant to alter them.
//
//   node --no-concurrent-marking bench/ab.mjs A.wasm B.wasm [--case enc|cls|fill] [--seq 16] [--threads 1]
//        [--pairs 30] [--peer-dir /work/peer] [--allow-diff]
//
// With --threads N > 1 both files must be threaded builds (dist/xlmr-mt.wasm); each driver has its own workers,
// idle while the other runs. Prints the medians and the median of the per-pair ratios B / A with its
// interquartile range; exits 1 when the outputs differ (without --allow-diff).

import fs from 'node:fs';
import path from 'node:path';
import { XlmrDriver, POOL, syntheticIds } from './xlmr-driver.mjs';

const args = process.argv.slice(2);
const FLAGS = ['allow-diff', 'help'];
const named = {}, files = [];
for (let i = 0; i < args.length; i++) {
  const k = args[i].startsWith('--') ? args[i].slice(2) : null;
  if (k === null) files.push(args[i]);
  else named[k] = FLAGS.includes(k) ? true : args[++i];
}
const opt = (k, d) => named[k] ?? d;
if (files.length !== 2 || named.help) {
  console.error('usage: node --no-concurrent-marking bench/ab.mjs A.wasm B.wasm [--case enc|cls|fill] [--seq 16] [--threads 1] [--pairs 30] [--peer-dir DIR] [--allow-diff]');
  process.exit(2);
}
const kind = opt('case', 'enc'), T = +opt('seq', 16), threads = +opt('threads', 1), pairs = +opt('pairs', 30);
if (!['enc', 'cls', 'fill'].includes(kind) || !(T >= 3) || !(threads >= 1) || !(pairs >= 2)) {
  console.error('bench/ab.mjs: --case enc|cls|fill, --seq >= 3, --threads >= 1, --pairs >= 2');
  process.exit(2);
}
const PEER = path.resolve(opt('peer-dir', process.env.PEER_DIR ?? '/work/peer'));
const gguf = path.join(PEER, 'bench', 'model-q8_0.gguf');
if (!fs.existsSync(gguf)) {
  console.error(`bench/ab.mjs: ${gguf} is missing (BENCHMARKS.md, "How to reproduce")`);
  process.exit(2);
}

const create = (file) => XlmrDriver.create(file, { threads }).catch((e) => {
  console.error(`bench/ab.mjs: ${file}: ${e.message}` + (/relaxed/.test(e.message) ? ' (relaxed builds: node --experimental-wasm-relaxed-simd --no-liftoff)' : ''));
  process.exit(2);
});
const [da, db] = [await create(files[0]), await create(files[1])];
da.loadFile(gguf);
db.loadFile(gguf);
const V = da.info.vocabSize;
const ids = syntheticIds(1, T, V, { mask: kind === 'fill' });

const embedOnce = (d) => d.embed(ids, new Int32Array([T]), 1, T, kind === 'cls' ? POOL.cls : POOL.none, 0);
const outputs = (d) => (kind === 'fill' ? d.logits(ids, new Int32Array([T >> 1, 1])) : embedOnce(d));
const [oa, ob] = [outputs(da), outputs(db)];
let differ = 0;
for (let i = 0; i < oa.length; i++) if (!Object.is(oa[i], ob[i])) differ++;
console.log(`outputs: ${differ ? `${differ} of ${oa.length} values differ` : `bit-identical (${oa.length} values)`}`);
if (differ) { // how far apart, row by row (a token's hidden state, or one position's logits)
  const rows = kind === 'enc' ? T : kind === 'cls' ? 1 : 2, width = oa.length / rows;
  let worstCos = 1, maxAbs = 0, top1 = 0;
  for (let r = 0; r < rows; r++) {
    let ab = 0, aa = 0, bb = 0, ia = 0, ib = 0;
    for (let i = r * width; i < (r + 1) * width; i++) {
      ab += oa[i] * ob[i], aa += oa[i] * oa[i], bb += ob[i] * ob[i];
      maxAbs = Math.max(maxAbs, Math.abs(oa[i] - ob[i]));
      if (oa[i] > oa[r * width + ia]) ia = i - r * width;
      if (ob[i] > ob[r * width + ib]) ib = i - r * width;
    }
    worstCos = Math.min(worstCos, ab / Math.sqrt(aa * bb));
    top1 += ia === ib;
  }
  console.log(`  worst row cosine ${worstCos.toFixed(7)}, max |A - B| ${maxAbs.toPrecision(3)}, argmax same in ${top1} of ${rows} rows`);
}
if (differ && !named['allow-diff']) process.exit(1);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const run = async (d) => {
  await sleep(30);
  const t0 = performance.now();
  if (kind !== 'fill') embedOnce(d);
  else d.fillMask(ids, 5);
  return performance.now() - t0;
};
for (let i = 0; i < 4; i++) { await run(da); await run(db); }
const ta = [], tb = [], ratio = [];
for (let i = 0; i < pairs; i++) {
  let a, b;
  if (i % 2) { b = await run(db); a = await run(da); } else { a = await run(da); b = await run(db); }
  ta.push(a); tb.push(b); ratio.push(b / a);
}
const sorted = (x) => [...x].sort((p, q) => p - q);
const med = (x) => sorted(x)[x.length >> 1];
const r = sorted(ratio);
console.log(`${kind} seq ${T}, ${threads} thread${threads > 1 ? 's' : ''}, ${pairs} pairs: A ${med(ta).toFixed(1)} ms, B ${med(tb).toFixed(1)} ms, ` +
  `B/A ${med(ratio).toFixed(3)} (IQR ${r[Math.floor(r.length / 4)].toFixed(3)}–${r[Math.floor((3 * r.length) / 4)].toFixed(3)})`);
process.exit(0);
