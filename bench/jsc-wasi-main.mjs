// jsc -m bench/jsc-wasi-main.mjs -- PROGRAM.wasm WARMUP_MS MS: runs a kernel benchmark (gemm_bench, rows_bench) in
// JavaScriptCore's shell through the pages' WASI (wasi-browser.mjs), twice on one compiled module as the pages do (a
// short warm-up that tiers every function up, then the measured run), and prints the measured run's JSON lines as
// one JSON array. bench/browser-kernels.mjs --browsers ...,jsc runs it; the shell's read(), print() and
// preciseTime() only.
import { runWasiModule } from './wasi-browser.mjs';

const [file, warmupMs, ms] = arguments;
const mod = new WebAssembly.Module(read(file, 'binary'));
const name = file.replace(/.*\//, '').replace(/\.wasm$/, '');
const now = () => preciseTime() * 1000;
runWasiModule(mod, [name, warmupMs], now);
print(JSON.stringify(runWasiModule(mod, [name, ms], now)));
