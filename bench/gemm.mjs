// Builds bench/gemm_bench.c for wasm32-wasi (the flags of dist/xlmr.wasm: -O3 -msimd128) and runs it under
// Node's WASI: the Q8_0 GEMM kernel's GOP/s on the encoder's shapes, and its peak.
//
//   node bench/gemm.mjs [min_ms_per_shape [T N K]...] [--json]      (e.g. 300 1 250002 768: the MLM decoder's GEMV)
//   node bench/gemm.mjs --paired R [min_ms [T N K]...]   (both builds in one process, alternating R rounds: each
//        kernel's GOP/s and its ratio to SIMD128 in the same round; Node 22+)
//   --cold: each run of the layout kernel reads its weights from memory (copies rotated, ~96 MB), as in the encoder,
//        whose weights are past the last-level cache; without it they come from cache (BENCHMARKS.md, "Cold weights")
//   node bench/gemm.mjs --relaxed      (Node 22+: the relaxed build's kernels, the pair form and, where the engine's fused
//        dot is exact, the exact 8-bit one. Node 20: add --experimental-wasm-relaxed-simd --no-liftoff; Liftoff computes
//        the fused relaxed dot product wrong. Browsers: bench/browser.mjs --gemm)

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WASI } from 'node:wasi';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.removeAllListeners('warning');

/** A folder whose `wasm-opt` keeps the linker output as it is: Debian's wasm-opt (108) mangles relaxed-SIMD opcodes,
 *  and clang runs the wasm-opt on PATH. Put it first on PATH for -mrelaxed-simd builds. */
export function noWasmOptDir() {
  const bin = path.join(ROOT, 'build', 'bench', 'no-wasm-opt');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'wasm-opt'), '#!/bin/sh\nin="$1"; out=""; while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done\n[ -n "$out" ] && [ "$in" != "$out" ] && cp "$in" "$out"\nexit 0\n', { mode: 0o755 });
  return bin;
}

/** Builds bench/NAME.c (gemm_bench, rows_bench) with the kernels' sources for wasm32-wasi, as dist/xlmr.wasm is
 *  built (-O3 -msimd128; -mrelaxed-simd for relaxed). src: another checkout's root for the sources (its bench/NAME.c
 *  too where it has one). Returns the file written (out, or build/bench/NAME[-relaxed].wasm). */
export function buildKernelBench(name, { relaxed = false, src = ROOT, out } = {}) {
  out ??= path.join(ROOT, 'build', 'bench', `${name}${relaxed ? '-relaxed' : ''}.wasm`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const srcs = fs.readdirSync(path.join(src, 'src')).filter((f) => /^(kernels.*|quant|common|threads)\.c$/.test(f)).map((f) => path.join(src, 'src', f));
  const main = path.join(fs.existsSync(path.join(src, 'bench', `${name}.c`)) ? src : ROOT, 'bench', `${name}.c`);
  const args = ['--target=wasm32-wasi', '-O3', '-msimd128', ...(relaxed ? ['-mrelaxed-simd'] : []), '-DNDEBUG', '-std=c11',
    '-D_POSIX_C_SOURCE=200809L', '-I' + path.join(src, 'src'), '-Wl,-z,stack-size=1048576', '-Wl,--max-memory=4294967296',
    main, ...srcs, '-o', out, '-lm'];
  // Debian's wasm-opt (108) mangles relaxed-SIMD opcodes: give clang a stand-in that keeps the linker output
  const env = { ...process.env };
  if (relaxed) env.PATH = `${noWasmOptDir()}:${env.PATH}`;
  const p = spawnSync(process.env.CLANG ?? 'clang-19', args, { encoding: 'utf8', env });
  if (p.status !== 0) throw new Error(`building ${name} failed:\n${p.stderr}`);
  return out;
}

export function buildGemmBench({ relaxed = false } = {}) {
  return buildKernelBench('gemm_bench', { relaxed });
}

export async function runGemmBench(file, minMs = 1500, shapes = [], { cold = false } = {}) {
  const lines = [];
  // capture stdout through a pipe file
  const tmp = path.join(ROOT, 'build', 'bench', `gemm-${process.pid}.out`);
  const fd = fs.openSync(tmp, 'w');
  const wasi2 = new WASI({ version: 'preview1', args: [file, String(minMs), ...shapes.map(String)], env: cold ? { GEMM_COLD: '1' } : {}, returnOnExit: true, stdout: fd });
  const mod = await WebAssembly.compile(fs.readFileSync(file));
  const inst = await WebAssembly.instantiate(mod, wasi2.getImportObject());
  const rc = wasi2.start(inst);
  fs.closeSync(fd);
  for (const l of fs.readFileSync(tmp, 'utf8').trim().split('\n')) if (l) lines.push(JSON.parse(l));
  fs.rmSync(tmp);
  if (rc !== 0) throw new Error(`gemm_bench exited ${rc}`);
  return lines;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

/** --paired R: the SIMD128 and the relaxed build in this one process, alternating for R rounds (the order swapped
 *  every round), so a shared host's slow phases hit both; per shape and kernel the median GOP/s and the median
 *  over rounds of kernel / SIMD128 in the same round. */
async function paired(rounds, minMs, shapes, json, cold) {
  const files = { simd128: buildGemmBench(), relaxed: buildGemmBench({ relaxed: true }) };
  const seen = new Map(); // "T N K kernel" -> { gops: [], ratio: [] }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? ['relaxed', 'simd128'] : ['simd128', 'relaxed'];
    const got = {};
    for (const b of order) got[b] = (await runGemmBench(files[b], minMs, shapes, { cold })).filter((x) => x.kernel);
    for (const x of [...got.simd128, ...got.relaxed]) {
      const base = got.simd128.find((y) => y.T === x.T && y.N === x.N && y.K === x.K);
      const key = `${x.T} ${x.N} ${x.K} ${x.kernel}`;
      if (!seen.has(key)) seen.set(key, { T: x.T, N: x.N, K: x.K, kernel: x.kernel, gops: [], ratio: [] });
      seen.get(key).gops.push(x.gops);
      seen.get(key).ratio.push(x.gops / base.gops);
    }
  }
  const rows = [...seen.values()].map((x) => ({ ...x, medianGops: median(x.gops), medianRatio: median(x.ratio) }));
  if (json) console.log(JSON.stringify(rows));
  else for (const x of rows) console.log(`${x.kernel.padEnd(10)} T ${String(x.T).padStart(3)}  N ${String(x.N).padStart(6)}  K ${String(x.K).padStart(4)}: median ${x.medianGops.toFixed(1)} GOP/s over ${rounds} rounds; / SIMD128 in the same round: median ${x.medianRatio.toFixed(2)} (${Math.min(...x.ratio).toFixed(2)}–${Math.max(...x.ratio).toFixed(2)})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && !process.execArgv.includes('--no-liftoff')) {
  // The whole benchmark is one call of main(): on Node 20 the kernel then never leaves V8's baseline tier
  // (Liftoff, ~14 GOP/s here), while in the encoder, called from JS, it tiers up to TurboFan (~40 GOP/s).
  // Measure the optimized code: run again with --no-liftoff. (--no-concurrent-marking: Node 20 crashes in GC
  // after a WASI run with a large memory, e.g. the 250002-row decoder shape.)
  const p = spawnSync(process.execPath, ['--no-liftoff', '--no-concurrent-marking', ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(p.status ?? 1);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const rounds = args.includes('--paired') ? +args[args.indexOf('--paired') + 1] : 0;
  const nums = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--paired');
  const minMs = +(nums[0] ?? 1500);
  if (rounds) {
    await paired(rounds, minMs, nums.slice(1), args.includes('--json'), args.includes('--cold'));
    process.exit(0);
  }
  const file = buildGemmBench({ relaxed: args.includes('--relaxed') });
  const rows = await runGemmBench(file, minMs, nums.slice(1), { cold: args.includes('--cold') });
  if (args.includes('--json')) console.log(JSON.stringify(rows));
  else for (const r of rows) console.log(r.peak_gops !== undefined ? `peak ${r.peak_gops} GOP/s`
    : `${(r.kernel ?? '').padEnd(10)} T ${String(r.T).padStart(3)}  N ${String(r.N).padStart(6)}  K ${String(r.K).padStart(4)}: ${r.ms.toFixed(2)} ms  ${r.gops.toFixed(1)} GOP/s (best ${r.gops_best.toFixed(1)}; ${r.layout} layout; row-major ${r.rows_gops.toFixed(1)}; Q4_0 ${r.q4_0_gops.toFixed(1)}), quantize ${r.quantize_ms.toFixed(3)} ms`);
}
