// Builds bench/rows_bench.c for wasm32-wasi (dist/xlmr.wasm's flags: -O3 -msimd128) and runs it under Node's WASI:
// the encoder's row and elementwise kernels (attention's softmax to int16, GELU, LayerNorm, activation quantization,
// the fill-mask softmax) in ns per element, and attention's int16 products in GOP/s, on base-model shapes.
//
//   node bench/rows.mjs [min_ms_per_case] [--relaxed] [--src DIR] [--json]
//     --relaxed: the relaxed build's kernels (its activation quantization is u7, or the exact kernels' where the
//                engine's fused dot is exact; the other row kernels are the SIMD128 ones)
//     --src DIR: the sources of another checkout (DIR/src, DIR/bench/rows_bench.c), e.g. a `git worktree` of the
//                commit before a change, to compare in one sitting

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.removeAllListeners('warning');
if (!process.execArgv.includes('--no-liftoff')) { // each case is one long call from main(): measure the optimizing tier
  const r = spawnSync(process.execPath, ['--no-liftoff', '--no-warnings', ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
// here, not at the top (gemm.mjs imports node:wasi too): the parent would print WASI's experimental warning
const { WASI } = await import('node:wasi');
const { buildKernelBench } = await import('./gemm.mjs');
const args = process.argv.slice(2);
const relaxed = args.includes('--relaxed'), json = args.includes('--json');
const srcAt = args.indexOf('--src');
const SRC = srcAt >= 0 ? path.resolve(args[srcAt + 1]) : ROOT;
const minMs = args.find((a, i) => /^\d/.test(a) && args[i - 1] !== '--src') ?? '300';

const out = buildKernelBench('rows_bench', { relaxed, src: SRC, out: path.join(ROOT, 'build', 'bench', `rows_bench${relaxed ? '-relaxed' : ''}-${process.pid}.wasm`) });
const tmp = `${out}.out`;
const fd = fs.openSync(tmp, 'w');
const wasi = new WASI({ version: 'preview1', args: [out, minMs], returnOnExit: true, stdout: fd });
const inst = await WebAssembly.instantiate(await WebAssembly.compile(fs.readFileSync(out)), wasi.getImportObject());
const rc = wasi.start(inst);
fs.closeSync(fd);
const rows = fs.readFileSync(tmp, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
fs.rmSync(tmp);
fs.rmSync(out);
if (rc !== 0) throw new Error(`rows_bench exited ${rc}`);
if (json) console.log(JSON.stringify(rows));
else {
  for (const r of rows) {
    if (r.error) console.log(`${r.case}: ${r.error}`);
    else if (r.gops !== undefined) console.log(`${r.case.padEnd(17)} ${r.rows} × ${r.n} × ${r.k}`.padEnd(33) + `${r.gops.toFixed(1)} GOP/s (${r.ms.toFixed(3)} ms)`);
    else console.log(`${r.case.padEnd(17)} ${String(r.rows).padStart(4)} × ${String(r.n).padEnd(6)}    ${r.ns_per_element.toFixed(3)} ns/element (${r.ms.toFixed(3)} ms)`);
  }
}
