// Where the time goes, in wasm: builds the core like dist/xlmr.wasm but keeps the function names
// (build/bench/xlmr-names.wasm, no --strip-all), runs one case under V8's sampling profiler (node:inspector,
// in process) and prints self time per wasm function.
//
//   node bench/profile.mjs [--case enc128|enc16|enc512|fill128|...] [--runs 5] [--warmup 3] [--wasm FILE]
//                          [--flags "-mrelaxed-simd"] [--threads 2] [--peer-dir /work/peer]
//
// With --threads N > 1 the build is the threaded one (as dist/xlmr-mt.wasm) and N - 1 workers join; the profiler
// samples the calling thread only, so time in par_run is that thread waiting for the others (imbalance).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { XlmrDriver, POOL, syntheticIds } from './xlmr-driver.mjs';
import { noWasmOptDir } from './gemm.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf('--' + k); return i >= 0 ? args[i + 1] : d; };
const PEER = opt('peer-dir', process.env.PEER_DIR ?? '/work/peer');
const name = opt('case', 'enc128');
const runs = +opt('runs', 5), warmup = +opt('warmup', 3), threads = +opt('threads', 1);

function build() {
  const out = path.join(ROOT, 'build', 'bench', threads > 1 ? 'xlmr-mt-names.wasm' : 'xlmr-names.wasm');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const srcs = fs.readdirSync(path.join(ROOT, 'src')).filter((f) => f.endsWith('.c')).map((f) => path.join(ROOT, 'src', f));
  const extra = (opt('flags', '') || '').split(' ').filter(Boolean);
  // clang runs the wasm-opt on PATH with -O3, which drops the name section: put a wrapper adding --debuginfo first;
  // for -mrelaxed-simd one that keeps the linker output (Debian's wasm-opt cannot read relaxed-SIMD opcodes).
  const relaxed = extra.includes('-mrelaxed-simd');
  let bin = path.join(ROOT, 'build', 'bench', 'bin');
  if (relaxed) bin = noWasmOptDir();
  else {
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'wasm-opt'), '#!/bin/sh\nexec /usr/bin/wasm-opt --debuginfo "$@"\n', { mode: 0o755 });
  }
  const a = ['--target=wasm32-wasi', '-O3', '-msimd128', ...extra, '-DNDEBUG', '-std=c11', '-D_POSIX_C_SOURCE=200809L',
    '-mexec-model=reactor', '-Wl,--no-entry', '-Wl,-z,stack-size=1048576', '-Wl,--initial-memory=16777216',
    '-Wl,--max-memory=4294967296', ...(threads > 1 ? ['-matomics', '-mbulk-memory', '-DXLMR_THREADS', '-Wl,--shared-memory',
      '-Wl,--import-memory', '-Wl,--no-check-features', '-Wl,--export=__stack_pointer'] : []), ...srcs, '-o', out, '-lm'];
  fs.rmSync(out, { force: true });
  const env = { ...process.env, PATH: fs.existsSync('/usr/bin/wasm-opt') ? `${bin}:${process.env.PATH}` : process.env.PATH };
  const p = spawnSync(process.env.CLANG ?? 'clang-19', a, { encoding: 'utf8', env });
  if (p.status !== 0 || !fs.existsSync(out)) throw new Error(`build failed: ${p.stderr}`);
  return out;
}

const wasm = opt('wasm', null) ?? build();
const drv = await XlmrDriver.create(wasm, { threads });
const gguf = path.join(PEER, 'bench', 'model-q8_0.gguf');
const load = (d) => {
  if (fs.existsSync(gguf) && name !== 'load-st') return d.loadFile(gguf);
  const hf = path.join(PEER, 'models', 'hf');
  return d.loadFile(path.join(hf, 'model.safetensors'), { config: fs.readFileSync(path.join(hf, 'config.json')),
    tokenizer: fs.readFileSync(path.join(PEER, 'bench', 'sentencepiece.bpe.model')) });
};
if (name.startsWith('load')) { // profile loading itself: fresh instances, so memory starts empty each time
  const ds = [];
  for (let i = 0; i < runs + warmup; i++) ds.push(await XlmrDriver.create(wasm));
  for (let i = 0; i < warmup; i++) load(ds[i]);
  var run = () => load(ds.pop());
} else load(drv);
const m = name.match(/^(enc|fill)(\d+)(?:x(\d+))?$/) ?? [null, 'load', '0'];
const B = m[3] ? +m[2] : 1, T = m[3] ? +m[3] : +m[2] || 1;
const V = drv.info?.vocabSize ?? 250002;
const ids = syntheticIds(B, T, V, { mask: m[1] === 'fill' });
if (m[1] !== 'load') run = m[1] === 'enc' ? () => drv.embed(ids, new Int32Array(B).fill(T), B, T, POOL.none, 0) : () => drv.fillMask(ids, 5);
for (let i = 0; i < warmup; i++) run();

const session = new inspector.Session();
session.connect();
const post = (method, params) => new Promise((ok, ko) => session.post(method, params, (e, r) => (e ? ko(e) : ok(r))));
await post('Profiler.enable');
await post('Profiler.setSamplingInterval', { interval: 200 });
await post('Profiler.start');
const t0 = performance.now();
for (let i = 0; i < runs; i++) run();
const wall = performance.now() - t0;
const { profile } = await post('Profiler.stop');

const self = new Map();
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const counts = new Map();
for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
let total = 0;
for (const [id, c] of counts) {
  const n = byId.get(id);
  const fn = n.callFrame.functionName || `(${n.callFrame.url || 'anonymous'})`;
  self.set(fn, (self.get(fn) ?? 0) + c);
  total += c;
}
console.log(`${name}: ${runs} runs, ${(wall / runs).toFixed(1)} ms/run (under the profiler), ${total} samples`);
for (const [fn, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`${(100 * c / total).toFixed(1).padStart(6)}%  ${(wall / runs * c / total).toFixed(1).padStart(8)} ms  ${fn}`);
}
