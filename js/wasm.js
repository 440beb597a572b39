// Instantiating the core. dist/xlmr.wasm (clang + wasi-libc reactor) imports nothing; dist/xlmr-emcc.wasm
// (Emscripten STANDALONE_WASM) imports env.emscripten_notify_memory_growth and a few WASI calls. The import
// object is generated from WebAssembly.Module.imports(), so either build (or a future one) instantiates
// without an Emscripten runtime: nothing the core needs does I/O, so the stubs are no-ops or refusals.

import { InternalError, UnsupportedError, XlmrError } from './errors.js';

/** Names the JS layer calls; a module missing one of them is not this package's core. */
export const REQUIRED_EXPORTS = [
  'memory', 'xlmr_alloc', 'xlmr_free',
  'xlmr_loader_new', 'xlmr_loader_set_config', 'xlmr_loader_set_tokenizer', 'xlmr_loader_dest', 'xlmr_loader_room',
  'xlmr_loader_commit', 'xlmr_loader_total', 'xlmr_loader_received', 'xlmr_loader_status', 'xlmr_loader_error',
  'xlmr_loader_finish', 'xlmr_loader_free',
  'xlmr_writer_new', 'xlmr_writer_chunk', 'xlmr_writer_chunk_len', 'xlmr_writer_total', 'xlmr_writer_free',
  'xlmr_model_free', 'xlmr_model_error', 'xlmr_model_info_json', 'xlmr_build_simd',
  'xlmr_tokenize', 'xlmr_result_ids', 'xlmr_token_piece', 'xlmr_decode', 'xlmr_result_text',
  'xlmr_embed', 'xlmr_fill_mask',
  'xlmr_tokenize_offsets', 'xlmr_result_offsets', 'xlmr_tokenize_pair', 'xlmr_result_sequence_ids', 'xlmr_result_window_starts',
  'xlmr_classify', 'xlmr_token_logits', 'xlmr_model_labels_json', 'xlmr_m3_embed',
  'xlmr_loader_set_tokenizer_json', 'xlmr_loader_set_pooling', 'xlmr_loader_set_index', 'xlmr_loader_next_file',
  'xlmr_loader_set_file_prefix', 'xlmr_loader_set_embedding_type', 'xlmr_trim', 'xlmr_tokenize_same', 'xlmr_model_status',
];
const THREADED_EXPORTS = ['xlmr_threads_set', 'xlmr_thread_main', 'xlmr_threads_stop', '__stack_pointer'];

const WASI_ERRNO_BADF = 8;
const WASI_ERRNO_NOSYS = 52;

function wasiStubs(getMemory) {
  const view = () => new DataView(getMemory().buffer);
  return {
    proc_exit(code) { throw new InternalError(`the wasm module called exit(${code})`); },
    fd_write(fd, iovs, iovsLen, nwritten) {
      // stdout/stderr: the core never prints; swallow whatever a libc path might write.
      const dv = view();
      let n = 0;
      for (let i = 0; i < iovsLen; i++) n += dv.getUint32(iovs + i * 8 + 4, true);
      dv.setUint32(nwritten, n, true);
      return 0;
    },
    clock_time_get(id, precision, out) {
      const ns = BigInt(Math.round((globalThis.performance?.timeOrigin ?? 0) + (globalThis.performance?.now() ?? Date.now()))) * 1000000n;
      view().setBigUint64(out, ns, true);
      return 0;
    },
    random_get(buf, len) {
      const u8 = new Uint8Array(getMemory().buffer, buf, len);
      for (let i = 0; i < len; i += 65536) globalThis.crypto.getRandomValues(u8.subarray(i, Math.min(len, i + 65536)));
      return 0;
    },
    environ_sizes_get(count, size) { const dv = view(); dv.setUint32(count, 0, true); dv.setUint32(size, 0, true); return 0; },
    environ_get() { return 0; },
    args_sizes_get(count, size) { const dv = view(); dv.setUint32(count, 0, true); dv.setUint32(size, 0, true); return 0; },
    args_get() { return 0; },
    fd_close() { return WASI_ERRNO_BADF; },
    fd_fdstat_get() { return WASI_ERRNO_BADF; },
    fd_seek() { return WASI_ERRNO_BADF; },
    fd_read() { return WASI_ERRNO_BADF; },
    fd_prestat_get() { return WASI_ERRNO_BADF; },
    fd_prestat_dir_name() { return WASI_ERRNO_BADF; },
    sched_yield() { return 0; },
  };
}

/** Import object for any build of the core, generated from what the module declares. The threaded
 *  build imports its (shared) memory as env.memory: pass it as sharedMemory. */
export function makeImports(module, getMemory, sharedMemory = null) {
  const imports = {};
  const wasi = wasiStubs(getMemory);
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind === 'memory' && sharedMemory) {
      (imports[imp.module] ??= {})[imp.name] = sharedMemory;
      continue;
    }
    if (imp.kind !== 'function') {
      throw new UnsupportedError(`the wasm module imports ${imp.kind} ${imp.module}.${imp.name}; this loader provides functions only`);
    }
    const ns = (imports[imp.module] ??= {});
    if (imp.module === 'env' && imp.name === 'emscripten_notify_memory_growth') {
      ns[imp.name] = () => {}; // views are re-created after every call anyway
    } else if (/^wasi/.test(imp.module) && wasi[imp.name]) {
      ns[imp.name] = wasi[imp.name];
    } else if (/^wasi/.test(imp.module)) {
      ns[imp.name] = () => WASI_ERRNO_NOSYS;
    } else {
      ns[imp.name] = () => { throw new InternalError(`the wasm module called ${imp.module}.${imp.name}, which this loader does not provide`); };
    }
  }
  return imports;
}

/** True when the module is a threaded build (imports a memory, shared). */
export function isThreaded(module) {
  return WebAssembly.Module.imports(module).some((i) => i.kind === 'memory');
}

/** The shared memory the threaded build declares: 16 MiB to start, 4 GiB at most (Makefile WASM_LINK). */
export function newSharedMemory() {
  return new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true });
}

/** Module -> { instance, exports, memory } with `_initialize` run once. */
export async function instantiate(module) {
  if (!(module instanceof WebAssembly.Module)) throw new UnsupportedError('wasmModule must be a WebAssembly.Module');
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const threaded = isThreaded(module); // imports its memory instead of exporting it
  const need = threaded ? [...REQUIRED_EXPORTS.filter((n) => n !== 'memory'), ...THREADED_EXPORTS] : REQUIRED_EXPORTS;
  const missing = need.filter((n) => !names.has(n));
  if (missing.length) {
    throw new UnsupportedError(`the wasm module lacks ${missing.slice(0, 6).join(', ')}${missing.length > 6 ? ` and ${missing.length - 6} more` : ''}: it is not a complete build of the xlmr core (run make)`);
  }
  let memory = isThreaded(module) ? newSharedMemory() : null;
  const instance = await WebAssembly.instantiate(module, makeImports(module, () => memory, memory));
  memory ??= instance.exports.memory;
  try {
    if (typeof instance.exports._initialize === 'function') instance.exports._initialize();
  } catch (e) {
    if (e instanceof XlmrError) throw e;
    throw new InternalError(`initialising the wasm module failed: ${e?.message ?? e}`, { cause: e });
  }
  return { instance, exports: instance.exports, memory };
}

// A tiny module with one SIMD128 instruction: engines without SIMD refuse to validate it.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export function hasSimd() {
  try { return WebAssembly.validate(SIMD_PROBE); } catch { return false; }
}

// The same with the one relaxed-SIMD instruction the relaxed build's kernels use, i16x8.relaxed_dot_i8x16_i7x16_s:
// engines without relaxed SIMD (Node 20 without --experimental-wasm-relaxed-simd, Safari, Firefox < 120) refuse it.
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 0, 253, 15, 65, 0, 253, 15,
  253, 146, 2, 11,
]);

export function hasRelaxedSimd() {
  try { return WebAssembly.validate(RELAXED_PROBE); } catch { return false; }
}

// One function (a, b) -> lane 0 of i32x4.relaxed_dot_i8x16_i7x16_add_s(i8x16.splat(a), i8x16.splat(b), 0): what the
// engine does with the fused dot's saturating cases, before a build is chosen (the core's xlmr_dot_probe, the same
// cases, decides the kernel once the build runs).
const DOT_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1, 127, 3, 2, 1, 0, 7, 5, 1, 1, 100, 0, 0,
  10, 22, 1, 20, 0, 32, 0, 253, 15, 32, 1, 253, 15, 65, 0, 253, 17, 253, 147, 2, 253, 27, 0, 11,
]);

/** The fused relaxed dot product's behaviour on this engine, as the core's xlmr_dot_probe numbers it (the same
 *  cases): 1 unsigned × signed exact (x86 AVX-VNNI), 2 signed × signed exact (AVX-VNNI-INT8, Arm sdot), 3 saturating
 *  (x86 without VNNI), 4 signed × signed in int16 pairs, wrapping only at (−128)² (Arm without dotprod, and V8's
 *  baseline tier on any Arm), 5 other; 0 without relaxed SIMD. */
export function dotProbe() {
  let d;
  try { d = new WebAssembly.Instance(new WebAssembly.Module(DOT_PROBE)).exports.d; } catch { return 0; }
  if (d(-50, 3) !== -600) return 5;
  const ff = d(-128, -1), h80 = d(-128, -128);
  if (ff === -130560 && h80 === -65536) return 1;
  if (ff === -65536 && h80 === -65536) return 3;
  if (ff !== 512 || (h80 !== 65536 && h80 !== -65536)) return 5;
  if (d(-128, 127) !== -65024 || d(-128, -127) !== 65024) return 5; // the largest pairs 8-bit activations meet
  return h80 === 65536 ? 2 : 4;
}

/** Whether the relaxed core has an exact 8-bit kernel on an engine with this dotProbe() (its
 *  xlmr_int8_kernel_exact decides which): the unsigned one (1), or the signed one (2 and 4: on activations in
 *  [−127, 127] both compute the exact sums, so V8 on Arm may answer either, by the tier the probe ran in). */
export function probeIsExact(probe) {
  return probe === 1 || probe === 2 || probe === 4;
}

/** The int8 kernel a core of this build runs on this engine, set once after instantiating: in a relaxed build the
 *  exact 8-bit kernel where xlmr_dot_probe finds an exact fused dot, else the u7 pair form. Returns its name. */
export function selectKernel(exports) {
  if (typeof exports.xlmr_int8_kernel_exact !== 'function') return null; // a core from before the probe
  const kernel = exports.xlmr_int8_kernel_exact();
  if (kernel > 0) exports.xlmr_int8_kernel(kernel);
  return kernelName(exports);
}

/** 'simd128' (SIMD128 build), 'pair-u7', 'vnni-exact' or 'sdot-exact' (relaxed builds), null for an older core. */
export function kernelName(exports) {
  if (typeof exports.xlmr_int8_kernel !== 'function') return null;
  const k = exports.xlmr_int8_kernel(-1);
  const relaxed = exports.xlmr_dot_probe() !== 0;
  return !relaxed ? 'simd128' : ['pair-u7', 'vnni-exact', 'sdot-exact'][k] ?? null;
}

/** Shared memory and threads in this context (SharedArrayBuffer exists only on cross-origin isolated pages). */
export function canShareMemory() {
  if (typeof SharedArrayBuffer !== 'function' || globalThis.crossOriginIsolated === false) return false;
  try { newSharedMemory(); return true; } catch { return false; }
}

/** Most threads `threads: 'auto'` asks for. The split (GEMM output columns, attention heads, rows) is tested for
 *  equal outputs up to 3 threads and timed at 2 (BENCHMARKS.md: a 2-core machine); past 4, small batches give each
 *  thread little work while every thread is another worker with its own stack. */
export const AUTO_THREADS_MAX = 4;

/** `threads: 'auto'`: one thread per core the platform reports, at most AUTO_THREADS_MAX (the engine still falls
 *  back to 1 where memory cannot be shared). */
export function autoThreads(cores) {
  const n = Number.isFinite(cores) ? Math.floor(cores) : 1;
  return Math.max(1, Math.min(AUTO_THREADS_MAX, n));
}

/** The build file name to use on this engine: the threaded build when threads > 1 can run; the relaxed-SIMD one
 *  when asked for (simd 'relaxed') and the engine validates relaxed SIMD, or, for simd 'auto', where the engine's
 *  fused dot is exact (probeIsExact: outputs bit-identical to SIMD128's, faster); else SIMD128. */
export function chooseBuild(threads = 1, simd = 'auto') {
  if (typeof WebAssembly === 'undefined') throw new UnsupportedError('this platform has no WebAssembly');
  if (!hasSimd()) throw new UnsupportedError('this engine lacks WebAssembly SIMD128, which xlmr-wasm needs (Chrome 91+, Firefox 89+, Safari 16.4+, Node 16.4+)');
  const useRelaxed = simd === 'relaxed' ? hasRelaxedSimd() : simd === 'auto' && hasRelaxedSimd() && probeIsExact(dotProbe());
  const relaxed = useRelaxed ? '-relaxed' : '';
  return `xlmr${relaxed}${threads > 1 ? '-mt' : ''}.wasm`;
}

/** A pool thread: the same module on the same shared memory, its own stack, running xlmr_thread_main
 *  until the main instance calls xlmr_threads_stop (src/threads.h). Runs inside thread.*.js. */
export function runPoolThread({ module, memory, stackTop, id }, ready) {
  const instance = new WebAssembly.Instance(module, makeImports(module, () => memory, memory));
  instance.exports.__stack_pointer.value = stackTop;
  ready();
  instance.exports.xlmr_thread_main(id);
}
