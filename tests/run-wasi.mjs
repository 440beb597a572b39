// Runs a C test program compiled to wasm32-wasi under Node's WASI, with the repository
// root as its working directory, so the same tests run native and as wasm (SIMD128 kernels).
// The Makefile runs it with --no-concurrent-marking: Node 20's concurrent GC marker crashes at random
// under node:wasi once wasm memory passes ~100 MB (plain WebAssembly without WASI is unaffected).
import { WASI } from 'node:wasi';
import { readFile } from 'node:fs/promises';
import process from 'node:process';

process.removeAllListeners('warning'); // WASI prints an "experimental" warning on every run
const [file, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env: {}, preopens: { '.': process.cwd() }, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
