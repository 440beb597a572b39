// The engine's ceiling for each int8 instruction mix of the GEMM kernels (bench/int8_peak.c): best GOP/s of 3 rounds.
//
//   node bench/int8-peak.mjs          (Node 22+, relaxed SIMD on by default; compare with bench/gemm.mjs --paired)

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WASI } from 'node:wasi';
import { fileURLToPath } from 'node:url';
import { noWasmOptDir } from './gemm.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.removeAllListeners('warning');
if (!process.execArgv.includes('--no-liftoff')) { // each loop is one long call: let it run in the optimizing tier
  const r = spawnSync(process.execPath, ['--no-liftoff', ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const out = path.join(ROOT, 'build', 'bench', 'int8_peak.wasm');
fs.mkdirSync(path.dirname(out), { recursive: true });
const p = spawnSync(process.env.CLANG ?? 'clang-19', ['--target=wasm32-wasi', '-O3', '-msimd128', '-mrelaxed-simd', '-std=c11',
  '-D_POSIX_C_SOURCE=200809L', path.join(ROOT, 'bench', 'int8_peak.c'), '-o', out],
{ encoding: 'utf8', env: { ...process.env, PATH: `${noWasmOptDir()}:${process.env.PATH}` } });
if (p.status !== 0) throw new Error(`building int8_peak failed:\n${p.stderr}`);
const tmp = path.join(ROOT, 'build', 'bench', `int8-peak-${process.pid}.out`);
const fd = fs.openSync(tmp, 'w');
const wasi = new WASI({ version: 'preview1', args: [out], returnOnExit: true, stdout: fd });
const inst = await WebAssembly.instantiate(await WebAssembly.compile(fs.readFileSync(out)), wasi.getImportObject());
wasi.start(inst);
fs.closeSync(fd);
const best = new Map();
for (const l of fs.readFileSync(tmp, 'utf8').trim().split('\n')) {
  const r = JSON.parse(l);
  best.set(r.mix, Math.max(best.get(r.mix) ?? 0, r.gops));
}
fs.rmSync(tmp);
console.log(`node ${process.version}, V8 ${process.versions.v8}: ${(spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '').trim()}`);
for (const [mix, g] of best) console.log(`${mix.padEnd(44)} ${g.toFixed(1)} GOP/s`);
