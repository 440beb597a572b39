#!/usr/bin/env node
// bench/run.mjs — xlmr-wasm beside ONNX Runtime Web on the same random-weight XLM-R-base model.
//
//   npm run bench                      (= make bench = node bench/run.mjs)
//   node bench/run.mjs [--rounds 3] [--threads 1,2] [--only REGEX] [--quick] [--no-ort] [--no-write]
//                      [--peer-dir $PEER_DIR (/work/peer)] [--warmup-time 4000] [--min-time 3000]
//                      [--wasm-dir DIR (builds to measure instead of dist/)] [--nice -10] [--sides ours,ort] [--check-f32] [--no-gguf] [--runs 5] [--max-runs 15] [--quiet-max 0.4] [--quiet-wait 20] [--no-paired]
//                      [--append FILE (add to an earlier run's results, e.g. with --rounds 0 --only /pair)]
//                      [--variants auto,simd128 (with --rounds 0 --no-write: each latency case in one child, those builds
//                       of ours and ORT in turn; run the driver under another Node to measure that engine)]
//   node bench/run.mjs --report bench/results/FILE.jsonl   (re-write BENCHMARKS.md + SVG from a results file)
//
// The peer model comes from ../shared/tools/peer-model/make_models.py (PEER_DIR/models: encoder_q8.onnx,
// mlm_q8.onnx, hf/{config.json,model.safetensors,reference_io.safetensors}) and onnxruntime-web@1.30.0 in
// PEER_DIR/npm.  Our side loads hf/ (F32 safetensors quantized to Q8_0 while streaming) with a synthetic
// 250000-piece tokenizer written to PEER_DIR/bench (bench/synth-tokenizer.mjs), or PEER_DIR/bench/model-q8_0.gguf
// when present (the same weights converted by `xlmr convert`).  Without the peer model our side still runs.
//
// Every (case, side, threads) runs in a child process of its own (clean peak RSS, no JIT cross-talk).
// Rounds are interleaved: each round runs every case on every side back to back, the side order rotated
// per round, so drift on a shared machine hits both alike.  Before each child the driver waits (bounded)
// for other processes to leave the CPUs idle, and records how many cores others used during the timed runs.
// Per child: load, first run, warm-up (count and time: V8 tiers wasm up in the background), timed runs.
// Reported: median over all timed runs of clean children, spread = min–max of per-child medians, ratio =
// median over rounds of ours/ORT child medians from the same round.  After the rounds, one "paired" child per
// latency case and thread count loads both sides and alternates single runs (childPair): the ratio least
// disturbed by a host whose speed drifts from second to second.

import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { XlmrDriver, POOL } from './xlmr-driver.mjs';
import { synthTokenizer } from './synth-tokenizer.mjs';
import { writeReport } from './report.mjs';
import { chooseBuild } from '../js/wasm.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..');

function parseArgs(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) continue;
    const k = argv[i].slice(2);
    if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) a[k] = argv[++i];
    else a[k] = true;
  }
  return a;
}
const A = parseArgs(process.argv.slice(2));
const PEER = path.resolve(A['peer-dir'] ?? process.env.PEER_DIR ?? '/work/peer');
const MODELS = path.join(PEER, 'models');
const NPM_DIR = path.join(PEER, 'npm');
const HF = path.join(MODELS, 'hf');
const SPM = path.join(PEER, 'bench', 'sentencepiece.bpe.model');
const GGUF = path.join(PEER, 'bench', 'model-q8_0.gguf');

// Builds of our core: one thread (SIMD128) and, once it exists, the shared-memory threaded build.
const WASM = { 1: path.join(ROOT, 'dist/xlmr.wasm'), mt: path.join(ROOT, 'dist/xlmr-mt.wasm') };

// ------------------------------------------------------------------------------------------------
// shared helpers
// ------------------------------------------------------------------------------------------------
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function procStatus() {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [0, 0])[1]);
  return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
}

function busySeconds() { // machine-wide busy CPU seconds from /proc/stat (USER_HZ = 100)
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return (user + nice + system + irq + softirq + steal) / 100;
}

function busyCoresNow(ms = 1000) {
  const b0 = busySeconds(), t0 = Date.now();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return (busySeconds() - b0) / ((Date.now() - t0) / 1000);
}

/** Deterministic ids <s> random… </s> (the same generator as the peer's bench_ort.mjs). */
function makeIds(seq, vocab = 250002, seed = 1234) {
  let x = seed >>> 0;
  const rnd = () => { x = (x + 0x6D2B79F5) >>> 0; let t = x; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  const ids = new Int32Array(seq);
  for (let i = 0; i < seq; i++) ids[i] = 5 + Math.floor(rnd() * (vocab - 10));
  ids[0] = 0; ids[seq - 1] = 2;
  return ids;
}

function readSafetensors(file) {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  const out = {};
  for (const [k, h] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    const [s, e] = h.data_offsets;
    const raw = b.subarray(8 + n + s, 8 + n + e);
    const ab = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
    const T = { F32: Float32Array, I64: BigInt64Array, I32: Int32Array }[h.dtype];
    out[k] = { shape: h.shape, data: new T(ab) };
  }
  return out;
}

function cosine(a, b) {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}

function argmax(a, off, n) {
  let best = off;
  for (let i = off + 1; i < off + n; i++) if (a[i] > a[best]) best = i;
  return best - off;
}

/** Softmax at one row of logits and its top-k, as a fill-mask pipeline does after the graph. */
function topKSoftmax(logits, off, V, k) {
  let mx = -Infinity;
  for (let i = 0; i < V; i++) if (logits[off + i] > mx) mx = logits[off + i];
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(logits[off + i] - mx);
  const best = [];
  for (let i = 0; i < V; i++) {
    const v = logits[off + i];
    if (best.length < k || v > best[best.length - 1][1]) {
      best.push([i, v]);
      best.sort((p, q) => q[1] - p[1]);
      if (best.length > k) best.pop();
    }
  }
  return best.map(([i, v]) => ({ id: i, score: Math.exp(v - mx) / sum }));
}

// ------------------------------------------------------------------------------------------------
// the work: cases
// ------------------------------------------------------------------------------------------------
// kind: enc (encoder hidden states), fill (fill-mask, one mask, end to end from ids), load, check.
const CASES = [
  { name: 'enc16', kind: 'enc', B: 1, T: 16 },
  { name: 'enc128', kind: 'enc', B: 1, T: 128 },
  { name: 'enc512', kind: 'enc', B: 1, T: 512 },
  { name: 'enc8x128', kind: 'enc', B: 8, T: 128 },
  { name: 'fill16', kind: 'fill', B: 1, T: 16 },
  { name: 'fill128', kind: 'fill', B: 1, T: 128 },
  { name: 'load-file', kind: 'load', source: 'file' },
  { name: 'load-http', kind: 'load', source: 'http' },
];

const L = 12, H = 768, F = 3072, V = 250002;
/** Multiply-accumulates of the encoder for B×T tokens (GEMMs + attention QKᵀ and PV). */
export const encMacs = (B, T) => B * (L * (4 * H * H + 2 * H * F) * T + L * 2 * T * T * H);

// ------------------------------------------------------------------------------------------------
// child: ours
// ------------------------------------------------------------------------------------------------
function ourSource(cfg) {
  if (cfg.ourFormat === 'gguf') return { file: GGUF, opts: {} };
  return {
    file: path.join(HF, 'model.safetensors'),
    opts: { dtype: cfg.dtype ?? 'q8_0', config: fs.readFileSync(path.join(HF, 'config.json')), tokenizer: fs.readFileSync(SPM) },
  };
}

async function childOurs(cfg) {
  const { drv, base, run } = await setupOurs(cfg);
  if (!run) return base;
  return { ...base, ...timeRuns(cfg, run), wasmMemMB: drv.memoryBytes / 2 ** 20 };
}

/** Loads our side; for enc/fill cases also returns run(), one timed unit of work. */
async function setupOurs(cfg) {
  const wasm = cfg.threads === 1 ? cfg.wasm1 ?? WASM[1] : cfg.wasmMt ?? WASM.mt;
  const drv = await XlmrDriver.create(wasm, { threads: cfg.threads });
  const src = ourSource(cfg);
  const t0 = performance.now();
  if (cfg.kind === 'load' && cfg.source === 'http') await drv.loadUrl(`${cfg.baseUrl}/${path.relative(PEER, src.file)}`, src.opts);
  else drv.loadFile(src.file, src.opts);
  const loadMs = performance.now() - t0;
  const fileBytes = fs.statSync(src.file).size;
  const base = { initMs: drv.initMs, loadMs, fileBytes, wasmBytes: drv.wasmBytes, weightsInfo: drv.info };
  if (cfg.kind === 'load') return { drv, base: { ...base, wasmMemMB: drv.memoryBytes / 2 ** 20 } };
  if (cfg.kind === 'check') return { drv, base: { ...base, ...checkOurs(drv), wasmMemMB: drv.memoryBytes / 2 ** 20 } };

  let run;
  if (cfg.kind === 'enc') {
    const ids = new Int32Array(cfg.B * cfg.T);
    for (let b = 0; b < cfg.B; b++) ids.set(makeIds(cfg.T, V, 1234 + b), b * cfg.T);
    const lengths = new Int32Array(cfg.B).fill(cfg.T);
    run = () => drv.embed(ids, lengths, cfg.B, cfg.T, POOL.none, 0);
  } else {
    const ids = makeIds(cfg.T);
    ids[cfg.T >> 1] = V - 1; // <mask>
    run = () => drv.fillMask(ids, 5);
  }
  return { drv, base, run };
}

function checkOurs(drv) {
  const ref = readSafetensors(path.join(HF, 'reference_io.safetensors'));
  const [B, T] = ref.input_ids.shape;
  const ids = Int32Array.from(ref.input_ids.data, Number);
  const mask = Array.from(ref.attention_mask.data, Number);
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) lengths[b] += mask[b * T + t];
  const hid = drv.embed(ids, lengths, B, T, POOL.none, 0);
  const refH = ref.last_hidden_state.data;
  const tokCos = [];
  let diffMax = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < lengths[b]; t++) {
      const o = (b * T + t) * H;
      tokCos.push(cosine(hid.subarray(o, o + H), refH.subarray(o, o + H)));
      for (let i = 0; i < H; i++) diffMax = Math.max(diffMax, Math.abs(hid[o + i] - refH[o + i]));
    }
  }
  // MLM logits at every real token of each sequence, run alone
  const refL = ref.logits.data;
  let top1 = 0, n = 0;
  const logitCos = [];
  for (let b = 0; b < B; b++) {
    const seq = ids.slice(b * T, b * T + lengths[b]);
    const pos = Int32Array.from({ length: lengths[b] }, (_, i) => i);
    const lg = drv.logits(seq, pos);
    for (let t = 0; t < lengths[b]; t++) {
      const o = (b * T + t) * V;
      logitCos.push(cosine(lg.subarray(t * V, (t + 1) * V), refL.subarray(o, o + V)));
      top1 += argmax(lg, t * V, V) === argmax(refL, o, V) ? 1 : 0;
      n++;
    }
  }
  return {
    check: { minTokenCos: Math.min(...tokCos), meanTokenCos: tokCos.reduce((s, x) => s + x, 0) / tokCos.length, hiddenMaxAbs: diffMax,
      minLogitCos: Math.min(...logitCos), top1Agree: top1 / n, tokens: n },
  };
}

function timeRuns(cfg, run) {
  const tf = performance.now();
  run();
  const firstMs = performance.now() - tf;
  const w0 = performance.now();
  let nWarm = 1;
  while (nWarm < 50 && (nWarm < cfg.warmup || performance.now() - w0 < cfg.warmupTime)) { run(); nWarm++; }
  const times = [];
  const c0 = process.cpuUsage(), sb0 = busySeconds(), t0 = performance.now();
  while (times.length < cfg.maxRuns && (times.length < cfg.runs || performance.now() - t0 < cfg.minTime)) {
    const a = performance.now();
    run();
    times.push(performance.now() - a);
  }
  const wall = performance.now() - t0, cu = process.cpuUsage(c0);
  return { firstMs, nWarm, times, medianMs: median(times), cpuUtil: (cu.user + cu.system) / 1000 / wall,
    foreignCores: (busySeconds() - sb0 - (cu.user + cu.system) / 1e6) / (wall / 1000) };
}

async function timeRunsAsync(cfg, run) {
  const tf = performance.now();
  await run();
  const firstMs = performance.now() - tf;
  const w0 = performance.now();
  let nWarm = 1;
  while (nWarm < 50 && (nWarm < cfg.warmup || performance.now() - w0 < cfg.warmupTime)) { await run(); nWarm++; }
  const times = [];
  const c0 = process.cpuUsage(), sb0 = busySeconds(), t0 = performance.now();
  while (times.length < cfg.maxRuns && (times.length < cfg.runs || performance.now() - t0 < cfg.minTime)) {
    const a = performance.now();
    await run();
    times.push(performance.now() - a);
  }
  const wall = performance.now() - t0, cu = process.cpuUsage(c0);
  return { firstMs, nWarm, times, medianMs: median(times), cpuUtil: (cu.user + cu.system) / 1000 / wall,
    foreignCores: (busySeconds() - sb0 - (cu.user + cu.system) / 1e6) / (wall / 1000) };
}

// ------------------------------------------------------------------------------------------------
// child: ONNX Runtime Web (wasm EP, SIMD, its threaded build), as transformers.js runs it in Node
// ------------------------------------------------------------------------------------------------
const IDENTITY_ONNX_B64 = 'CAc6NwoQCgF4EgF5IghJZGVudGl0eRIBZ1oPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEA4=';

async function childOrt(cfg) {
  const { base, run } = await setupOrt(cfg);
  if (!run) return base;
  return { ...base, ...(await timeRunsAsync(cfg, run)) };
}

/** Creates ORT's session; for enc/fill cases also returns run() (async), one timed unit of work. */
async function setupOrt(cfg) {
  const req = createRequire(path.join(NPM_DIR, 'package.json'));
  const ort = req('onnxruntime-web');
  ort.env.wasm.numThreads = cfg.threads;
  ort.env.wasm.simd = true;
  ort.env.wasm.proxy = false;
  const opts = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
  const ti = performance.now();
  await (await ort.InferenceSession.create(Buffer.from(IDENTITY_ONNX_B64, 'base64'), opts)).release();
  const initMs = performance.now() - ti;
  const model = cfg.ortModel ?? (cfg.kind === 'fill' ? 'mlm_q8' : 'encoder_q8');
  const file = path.join(MODELS, model + '.onnx');
  const t0 = performance.now();
  let bytes;
  if (cfg.kind === 'load' && cfg.source === 'http') bytes = new Uint8Array(await (await fetch(`${cfg.baseUrl}/models/${model}.onnx`)).arrayBuffer());
  else bytes = fs.readFileSync(file);
  const session = await ort.InferenceSession.create(bytes, opts);
  const loadMs = performance.now() - t0;
  bytes = null;
  const base = { initMs, loadMs, fileBytes: fs.statSync(file).size, ortModel: model };
  if (cfg.kind === 'load') return { base };
  const feedsFor = (ids, B, T) => ({
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [B, T]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(B * T).fill(1n), [B, T]),
  });
  if (cfg.kind === 'check') {
    const ref = readSafetensors(path.join(HF, 'reference_io.safetensors'));
    const [B, T] = ref.input_ids.shape;
    const feeds = { input_ids: new ort.Tensor('int64', ref.input_ids.data, [B, T]), attention_mask: new ort.Tensor('int64', ref.attention_mask.data, [B, T]) };
    const out = (await session.run(feeds)).last_hidden_state.data;
    const tokCos = [];
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
      if (!ref.attention_mask.data[b * T + t]) continue;
      const o = (b * T + t) * H;
      tokCos.push(cosine(out.subarray(o, o + H), ref.last_hidden_state.data.subarray(o, o + H)));
    }
    return { base: { ...base, check: { minTokenCos: Math.min(...tokCos), meanTokenCos: tokCos.reduce((s, x) => s + x, 0) / tokCos.length } } };
  }
  let run;
  if (cfg.kind === 'enc') {
    const ids = new Int32Array(cfg.B * cfg.T);
    for (let b = 0; b < cfg.B; b++) ids.set(makeIds(cfg.T, V, 1234 + b), b * cfg.T);
    const feeds = feedsFor(ids, cfg.B, cfg.T);
    run = async () => (await session.run(feeds)).last_hidden_state.data;
  } else {
    const ids = makeIds(cfg.T);
    const m = cfg.T >> 1;
    ids[m] = V - 1;
    const feeds = feedsFor(ids, 1, cfg.T);
    run = async () => topKSoftmax((await session.run(feeds)).logits.data, m * V, V, 5);
  }
  return { base, run };
}

// ------------------------------------------------------------------------------------------------
// child: both sides in one process, single runs alternated (ours, ORT, ORT, ours, ...) PAIR_GAP_MS apart, so
// that the machine's drift (other tenants of the host come and go within seconds) hits both sides alike; the
// ratio is the median of the per-pair ratios. Peak RSS of such a child is both sides' and is not reported.
// ------------------------------------------------------------------------------------------------
const PAIR_GAP_MS = 30; // lets either side's spinning pool threads go idle before the other runs

async function childPair(cfg) {
  const ours = await setupOurs(cfg), ort = await setupOrt(cfg);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const runOurs = async () => ours.run(), runOrt = ort.run;
  const timed = async (f) => { await sleep(PAIR_GAP_MS); const a = performance.now(); await f(); return performance.now() - a; };
  const w0 = performance.now();
  for (let i = 0; i < 50 && (i < cfg.warmup || performance.now() - w0 < 2 * cfg.warmupTime); i++) { await timed(runOurs); await timed(runOrt); }
  const oursTimes = [], ortTimes = [], ratios = [];
  const t0 = performance.now();
  while (ratios.length < 2 * cfg.maxRuns && (ratios.length < 2 * cfg.runs || performance.now() - t0 < 2 * cfg.minTime)) {
    const first = ratios.length % 2 === 0;
    const a = first ? await timed(runOurs) : NaN, b = await timed(runOrt), c = first ? a : await timed(runOurs);
    oursTimes.push(c);
    ortTimes.push(b);
    ratios.push(c / b);
  }
  const q = (xs, p) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
  return { oursInitMs: ours.base.initMs, ortInitMs: ort.base.initMs, oursTimes, ortTimes, ratios, oursMedianMs: median(oursTimes),
    ortMedianMs: median(ortTimes), ratioMedian: median(ratios), ratioQ1: q(ratios, 0.25), ratioQ3: q(ratios, 0.75) };
}

// --variants auto,simd128: one child per latency case and thread count loads each named build of ours and ORT and
// runs them in turn, the order rotated every round (a, b, ORT; b, ORT, a; ...), PAIR_GAP_MS apart; each variant's
// ratio is the median over rounds of its time / ORT's time in the same round. auto = the build the package's
// simd: 'auto' loads on this engine (js/wasm.js chooseBuild: the relaxed builds, running the exact fused kernel,
// where the engine's fused dot is exact; else the SIMD128 builds), simd128 = the SIMD128 builds, pair-u7 = the
// relaxed builds on the u7 pair form (simd: 'relaxed' where the fused dot is not exact).
export const VARIANT_BUILDS = { simd128: ['xlmr.wasm', 'xlmr-mt.wasm'],
  'pair-u7': ['xlmr-relaxed.wasm#pair-u7', 'xlmr-relaxed-mt.wasm#pair-u7'] };

async function childVariants(cfg) {
  const sides = [];
  for (const v of cfg.variants) {
    const builds = v === 'auto' ? [chooseBuild(1, 'auto'), chooseBuild(2, 'auto')] : VARIANT_BUILDS[v];
    const [w1, wm] = builds.map((f) => path.join(cfg.snapDir, f));
    const s = await setupOurs({ ...cfg, wasm1: w1, wasmMt: wm });
    sides.push({ name: v, kernel: s.drv.kernel, run: async () => s.run(), initMs: s.base.initMs });
  }
  const ort = await setupOrt(cfg);
  sides.push({ name: 'ort', run: ort.run, initMs: ort.base.initMs });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const timed = async (f) => { await sleep(PAIR_GAP_MS); const a = performance.now(); await f(); return performance.now() - a; };
  const w0 = performance.now();
  for (let i = 0; i < 50 && (i < cfg.warmup || performance.now() - w0 < 2 * cfg.warmupTime); i++) for (const s of sides) await timed(s.run);
  const times = sides.map(() => []);
  const t0 = performance.now();
  for (let r = 0; r < cfg.maxRuns && (r < cfg.runs || performance.now() - t0 < sides.length * cfg.minTime); r++) {
    const order = sides.map((_, i) => (i + r) % sides.length);
    if (r % 2) order.reverse();
    for (const i of order) times[i].push(await timed(sides[i].run));
  }
  const q = (xs, p) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
  const ortTimes = times[sides.length - 1];
  const variants = sides.slice(0, -1).map((s, i) => {
    const ratios = times[i].map((t, r) => t / ortTimes[r]);
    return { name: s.name, kernel: s.kernel, initMs: s.initMs, times: times[i], medianMs: median(times[i]),
      ratioMedian: median(ratios), ratioQ1: q(ratios, 0.25), ratioQ3: q(ratios, 0.75) };
  });
  return { variants, ortTimes, ortMedianMs: median(ortTimes), ortInitMs: ort.base.initMs, rounds: ortTimes.length };
}

async function child(cfg) {
  let res;
  try {
    res = cfg.side === 'ours' ? await childOurs(cfg) : cfg.side === 'pair' ? await childPair(cfg)
      : cfg.side === 'variants' ? await childVariants(cfg) : await childOrt(cfg);
    const st = procStatus();
    res = { ...cfg, ok: true, ...res, rssEndMB: st.rssMB, peakRssMB: Math.max(st.hwmMB, process.resourceUsage().maxRSS / 1024) };
  } catch (e) {
    res = { ...cfg, ok: false, error: String(e?.stack ?? e).slice(0, 600) };
  }
  process.stdout.write('RESULT ' + JSON.stringify(res) + '\n');
  process.exit(0); // ORT's pthread workers would otherwise keep the process alive
}

// ------------------------------------------------------------------------------------------------
// driver
// ------------------------------------------------------------------------------------------------
function serveFiles(root) { // the local HTTP server the load cases fetch from (in the driver process)
  const server = http.createServer((req, res) => {
    const p = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!p.startsWith(root) || !fs.existsSync(p) || !fs.statSync(p).isFile()) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': fs.statSync(p).size });
    fs.createReadStream(p, { highWaterMark: 1 << 20 }).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

const NICE = (() => { // -10 if we may raise priority (root), else 0
  const want = +(A.nice ?? -10);
  if (want >= 0) return want;
  try { os.setPriority(0, os.getPriority(0)); return process.getuid?.() === 0 ? want : 0; } catch { return 0; }
})();

function runChild(cfg) {
  return new Promise((resolve) => {
    // both sides run at the same raised priority (when allowed) so other tenants' builds disturb them less
    const argv = [process.execPath, SELF, '--child', JSON.stringify(cfg)];
    const cmd = NICE !== 0 ? ['nice', '-n', String(NICE), ...argv] : argv;
    const p = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 900e3);
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      resolve(line ? JSON.parse(line.slice(7)) : { ...cfg, ok: false, error: `exit ${code}: ${err.slice(-600)}` });
    });
  });
}

function machineFacts() {
  const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const ver = (name) => { try { return JSON.parse(fs.readFileSync(path.join(NPM_DIR, 'node_modules', name, 'package.json'), 'utf8')).version; } catch { return null; } };
  const wasmSize = (f) => (fs.existsSync(f) ? fs.statSync(f).size : null);
  let commit = null, dirty = null;
  try {
    commit = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    dirty = spawnSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'Makefile'], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  } catch { /* not a checkout */ }
  return {
    cpuModel: (cpu.match(/^model name\s*:\s*(.*)$/m) || [])[1], nproc: os.cpus().length, memGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version, v8: process.versions.v8, ortWeb: ver('onnxruntime-web'), commit, dirty,
    wasmBytes: { 'xlmr.wasm': wasmSize(WASM[1]), 'xlmr-mt.wasm': wasmSize(WASM.mt), 'xlmr-relaxed.wasm': wasmSize(path.join(ROOT, 'dist/xlmr-relaxed.wasm')) },
  };
}

async function driver() {
  const haveOrt = !A['no-ort'] && String(A.sides ?? 'ours,ort').split(',').includes('ort') && fs.existsSync(path.join(MODELS, 'encoder_q8.onnx')) && fs.existsSync(path.join(NPM_DIR, 'node_modules/onnxruntime-web'));
  if (!fs.existsSync(path.join(HF, 'model.safetensors'))) {
    console.log(`bench: no peer model at ${MODELS} (run ../shared/tools/peer-model/make_models.py with PEER_DIR=${PEER}); nothing to measure.`);
    return;
  }
  const sidesWanted = String(A.sides ?? 'ours,ort').split(',');
  const haveOurs = sidesWanted.includes('ours');
  if (haveOurs && !fs.existsSync(WASM[1])) { console.log('bench: dist/xlmr.wasm missing (make wasm)'); process.exitCode = 1; return; }
  if (!fs.existsSync(SPM)) {
    fs.mkdirSync(path.dirname(SPM), { recursive: true });
    fs.writeFileSync(SPM, synthTokenizer(250000));
  }
  const ourFormat = fs.existsSync(GGUF) && !A['no-gguf'] ? 'gguf' : 'safetensors';
  // measure one build for the whole run: others may rebuild dist/ meanwhile
  const snap = path.join(ROOT, 'build', 'bench', 'snapshot');
  fs.mkdirSync(snap, { recursive: true });
  const wasm1 = path.join(snap, 'xlmr.wasm'), wasmMt = path.join(snap, 'xlmr-mt.wasm');
  const from = A['wasm-dir'] ? { 1: path.join(A['wasm-dir'], 'xlmr.wasm'), mt: path.join(A['wasm-dir'], 'xlmr-mt.wasm') } : WASM;
  fs.rmSync(wasm1, { force: true });
  fs.rmSync(wasmMt, { force: true });
  if (fs.existsSync(from[1])) fs.copyFileSync(from[1], wasm1);
  if (fs.existsSync(from.mt)) fs.copyFileSync(from.mt, wasmMt);
  const variants = A.variants ? String(A.variants).split(',') : null;
  for (const v of variants ?? []) if (v !== 'auto' && !VARIANT_BUILDS[v]) throw new Error(`--variants: unknown ${v} (auto, ${Object.keys(VARIANT_BUILDS).join(', ')})`);
  for (const f of variants ? ['xlmr-relaxed.wasm', 'xlmr-relaxed-mt.wasm'] : []) {
    const src = path.join(A['wasm-dir'] ?? path.join(ROOT, 'dist'), f);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(snap, f));
  }
  const quick = !!A.quick;
  const rounds = +(A.rounds ?? (quick ? 1 : 3));
  const threads = String(A.threads ?? '1,2').split(',').map(Number);
  const base = { wasm1, wasmMt, runs: +(A.runs ?? (quick ? 3 : 5)), warmup: +(A.warmup ?? 2), warmupTime: +(A['warmup-time'] ?? (quick ? 1500 : 4000)),
    minTime: +(A['min-time'] ?? (quick ? 1000 : 3000)), maxRuns: +(A['max-runs'] ?? 15) };
  const only = A.only ? new RegExp(A.only) : null;
  const quietMax = +(A['quiet-max'] ?? 0.4), quietWait = +(A['quiet-wait'] ?? 20);
  const server = await serveFiles(PEER);
  const baseUrl = `http://127.0.0.1:${server.address().port}`;
  const facts = { ...machineFacts(), ...(A['wasm-dir'] ? { dirty: [], wasmDir: A['wasm-dir'] } : {}), ourFormat, haveOrt, nice: NICE, argv: process.argv.slice(2), start: new Date().toISOString() };
  const outDir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const outFile = A.append ?? A.out ?? path.join(outDir, `run-${facts.start.replace(/[:.]/g, '-')}.jsonl`);
  if (A.append) fs.appendFileSync(outFile, JSON.stringify({ appended: facts }) + '\n'); // e.g. --rounds 0 --append FILE: add the paired children to a run
  else fs.writeFileSync(outFile, JSON.stringify({ facts }) + '\n');
  console.log(JSON.stringify(facts));

  const jobs = []; // [round, cfg]
  // correctness first (once per side)
  if (haveOurs) jobs.push([0, { side: 'ours', kind: 'check', name: 'check', threads: 1, ourFormat: 'safetensors', dtype: 'q8_0' }]);
  if (haveOurs && A['check-f32']) jobs.push([0, { side: 'ours', kind: 'check', name: 'check-f32', threads: 1, ourFormat: 'safetensors', dtype: 'f32' }]);
  if (haveOrt) jobs.push([0, { side: 'ort', kind: 'check', name: 'check', threads: 1 }]);
  for (let r = 0; r < rounds; r++) {
    for (const c of CASES) {
      for (const t of threads) {
        const sides = [];
        if (haveOurs && (t === 1 || fs.existsSync(wasmMt))) sides.push({ side: 'ours', ourFormat });
        if (haveOurs && c.kind === 'load' && ourFormat === 'gguf') sides.push({ side: 'ours', ourFormat: 'safetensors' });
        if (haveOrt) {
          if (c.kind === 'load') sides.push({ side: 'ort', ortModel: 'encoder_q8' }, { side: 'ort', ortModel: 'mlm_q8' });
          else sides.push({ side: 'ort' });
        }
        if (c.kind === 'load' && t !== threads[0]) continue; // loading is single-threaded on both sides
        for (let i = 0; i < sides.length; i++) jobs.push([r, { ...base, ...c, ...sides[(i + r) % sides.length], threads: t, round: r, baseUrl }]);
      }
    }
  }
  if (variants && haveOurs && haveOrt) { // one child per latency case and thread count: every variant and ORT in turn
    for (const c of CASES.filter((x) => x.kind === 'enc' || x.kind === 'fill'))
      for (const t of threads) jobs.push([rounds, { ...base, ...c, side: 'variants', variants, snapDir: snap, ourFormat, threads: t, round: rounds, baseUrl }]);
  } else if (haveOurs && haveOrt && !A['no-paired']) { // after the rounds: one paired child per latency case and thread count
    for (const c of CASES.filter((x) => x.kind === 'enc' || x.kind === 'fill'))
      for (const t of threads) if (t === 1 || fs.existsSync(wasmMt)) jobs.push([rounds, { ...base, ...c, side: 'pair', ourFormat, threads: t, round: rounds, baseUrl }]);
  }
  const rows = [];
  for (const [r, cfg] of jobs) {
    const tag = `${cfg.name}/${cfg.side}${cfg.ourFormat ? '-' + cfg.ourFormat : ''}${cfg.ortModel ? '-' + cfg.ortModel : ''}/${cfg.threads}t`;
    if (only && !only.test(tag)) continue;
    let res;
    for (let attempt = 0; attempt < 2; attempt++) {
      const qw0 = Date.now();
      let bq = busyCoresNow(500);
      while (bq > quietMax && Date.now() - qw0 < quietWait * 1000) bq = busyCoresNow(1000);
      res = await runChild(cfg);
      res.busyBefore = bq;
      res.attempt = attempt;
      if (!res.ok || !(res.foreignCores > 0.5)) break; // re-run once when others loaded the CPUs meanwhile
    }
    rows.push(res);
    fs.appendFileSync(outFile, JSON.stringify(res) + '\n');
    const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
    console.log(`[round ${r}] ${tag}: ${!res.ok ? 'FAILED ' + res.error
      : res.kind === 'check' ? JSON.stringify(res.check)
        : res.side === 'variants' ? `ORT ${f(res.ortMedianMs)} ms; ` + res.variants.map((v) => `${v.name} (${v.kernel}) ${f(v.medianMs)} ms, ratio ${v.ratioMedian.toFixed(2)} (IQR ${v.ratioQ1.toFixed(2)}–${v.ratioQ3.toFixed(2)})`).join('; ') + ` (${res.rounds} rounds)`
        : res.side === 'pair' ? `paired: ours ${f(res.oursMedianMs)} ms, ORT ${f(res.ortMedianMs)} ms, ratio ${res.ratioMedian.toFixed(2)} (IQR ${res.ratioQ1.toFixed(2)}–${res.ratioQ3.toFixed(2)}, ${res.ratios.length} pairs)`
        : res.kind === 'load' ? `load ${f(res.loadMs)} ms (${f(res.fileBytes / 1e6 / (res.loadMs / 1000))} MB/s), peak ${f(res.peakRssMB)} MB`
          : `median ${f(res.medianMs)} ms (${res.times.length} runs, ${res.nWarm} warm), peak ${f(res.peakRssMB)} MB, other ${f(res.foreignCores)}`}`);
  }
  server.close();
  console.log(`results: ${path.relative(ROOT, outFile)}`);
  if (!A['no-write']) writeReport(outFile, { root: ROOT });
}

if (A.child) await child(JSON.parse(A.child));
else if (A.report) writeReport(A.report, { root: ROOT });
else await driver();
