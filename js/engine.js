// The engine: one wasm instance holding at most one model, driven through the C API of src/xlmr.h.
// It runs wherever model code is allowed to run: inside the Worker (worker: true) or in the calling
// thread (worker: false). Everything here is synchronous wasm calls except loading, which streams.
//
// Loading: the C loader is a state machine that says where the next bytes go (xlmr_loader_dest) and how
// many fit there now (xlmr_loader_room); each network/file chunk is copied straight to that address, so
// the only copy of the model is the one in wasm memory. Views on wasm memory are re-created after every
// call into wasm (memory.grow detaches the old buffer).

import {
  XlmrError, ModelFormatError, NoMaskError, TooLongError, InvalidArgumentError, InvalidStateError, OutOfMemoryError,
  FileError, UnsupportedError, errorFromStatus, toXlmrError, abortError, shown,
} from './errors.js';
import { instantiate, isThreaded, canShareMemory, selectKernel, kernelName } from './wasm.js';
import { classifySource, openUrl, bytesReader, readAll, FOLDER_FILES, isMissingFile, openTokenizer, openWeights, openExtraWeights, wantsExtraWeights, withExtraWeights, WEIGHTS_ORDER } from './sources.js';

export const DTYPES = { q8_0: 0, f16: 1, f32: 2, q4_0: 3 };
const POOLING = { none: 0, cls: 1, mean: 2, last: 3 };
const M3_OUTPUTS = ['dense', 'sparse', 'colbert', 'all'];
const TRUNCATION = { longest_first: 0, only_first: 1, only_second: 2 }; // XLMR_TRUNC_*
const CACHE_FORMAT = 1; // bump when the cached GGUF layout changes
const GGUF_MAGIC = [0x47, 0x47, 0x55, 0x46]; // "GGUF"
const READ_SLICE = 4 << 20; // most bytes handed to one direct file read
const THREAD_STACK = 256 * 1024; // XLMR_THREAD_STACK (src/threads.h)
const OFFSETS_FILE = -1; // XLMR_OFFSETS_FILE: the rule the tokenizer's file implies (the hub's, or a tokenizer.json's)

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: false });

/** The error with the file it is about in front of its message (once). */
function named(e, label) {
  if (label && !e.message.includes(label)) e.message = `${label}: ${e.message}`;
  return e;
}

/** A folder file that cannot be opened: say which one, where, and what a model folder holds. */
function folderFileMissing(e, plan, name) {
  if (isMissingFile(e)) {
    e.message += ` — ${plan.label} is read as a Hugging Face model folder, which needs ${FOLDER_FILES.config}, ` +
      `${FOLDER_FILES.tokenizer} (or ${FOLDER_FILES.tokenizerJson}) and ${FOLDER_FILES.weights} (${name} is missing); for a single model file, ` +
      'give the path or URL of a .gguf';
  }
  return e;
}

/** wasmModule { simd128, relaxed } (precompiled cores) -> { module, wasm, name }: the choice simd makes among the
 *  package's builds, by the relaxed core's own probe: 'auto' the relaxed core where its kernel is exact (outputs
 *  bit-identical to SIMD128's), else SIMD128; 'relaxed' the relaxed core either way; 'simd128' SIMD128. Falls back
 *  to the one given when the other is missing, except that 'simd128' needs its core. */
async function chooseModule({ simd128, relaxed }, simd) {
  if (relaxed && simd !== 'simd128') {
    const wasm = await instantiate(relaxed);
    if (selectKernel(wasm.exports) !== 'pair-u7' || simd === 'relaxed' || !simd128) return { module: relaxed, wasm, name: 'wasmModule.relaxed' };
  }
  if (!simd128) throw new InvalidArgumentError("simd: 'simd128' with wasmModule { relaxed } alone: pass wasmModule.simd128 too");
  return { module: simd128, wasm: await instantiate(simd128), name: 'wasmModule.simd128' };
}

export class Engine {
  /** @param platform platform-node.js or platform-web.js; wasmModule optional precompiled module */
  static async create(platform, { wasmModule, wasmUrl, threads = 1, threadsRequired = true, simd = 'auto' } = {}) {
    // threads > 1 needs shared memory and a Worker for each extra thread; else one thread, silently. Pool threads
    // that do not start are an error when a count was asked for (threadsRequired), one thread under 'auto'.
    // simd 'relaxed' takes the relaxed-SIMD build where the engine validates it; 'auto' where its fused dot is exact
    // (chooseBuild); else SIMD128, silently. A relaxed core runs its exact kernel where it finds one (selectKernel).
    let want = threads > 1 && canShareMemory() && typeof platform.spawnThread === 'function' ? threads : 1;
    let url = null, module = wasmModule, wasm, build = 'wasmModule';
    if (module && !(module instanceof WebAssembly.Module)) {
      ({ module, wasm, name: build } = await chooseModule(module, simd));
    } else {
      if (!module) {
        url = String(wasmUrl ?? platform.defaultWasmUrl(want, simd)); // every build ships in dist/
        module = await platform.compileWasm(url);
      }
      wasm = await instantiate(module);
      const kernel = selectKernel(wasm.exports); // sets the exact kernel where the core's probe finds one
      if (simd === 'auto' && kernel === 'pair-u7' && !wasmModule && wasmUrl === undefined) {
        // the core's probe disagrees with the JS one: 'auto' never runs the 7-bit form
        url = String(platform.defaultWasmUrl(want, 'simd128'));
        module = await platform.compileWasm(url);
        wasm = await instantiate(module);
      }
      if (url) build = decodeURIComponent(url.split(/[\\/]/).pop());
    }
    if (!isThreaded(module)) want = 1;
    const engine = new Engine(platform, wasm);
    engine.build = build;
    if (want > 1) await engine.#startThreads(module, want - 1, threadsRequired);
    return engine;
  }

  async #startThreads(module, n, required) {
    const x = this.x;
    const got = x.xlmr_threads_set(n);
    if (got <= 1) return;
    this.threads = [];
    this.threadStacks = [];
    try {
      for (let id = 0; id < n; id++) {
        const base = this.#alloc(THREAD_STACK);
        this.threadStacks.push(base);
        this.threads.push(this.platform.spawnThread({ module, memory: this.wasm.memory, stackTop: (base + THREAD_STACK) & ~15, id }));
      }
      await Promise.all(this.threads.map((t) => t.ready));
    } catch (e) {
      this.#stopThreads();
      if (required) throw new UnsupportedError(`could not start ${n} pool threads: ${e?.message ?? e}`);
      return;
    }
    this.nThreads = got;
  }

  #stopThreads() {
    if (!this.threads) return;
    try { this.x.xlmr_threads_stop(); } catch { /* ignore */ }
    for (const t of this.threads) t.terminate();
    this.threads = null;
    this.nThreads = 1;
    // The stacks stay allocated: a stopping thread may still be on its stack; the instance goes away soon.
  }

  /** Which core runs: { build, simd, kernel, threads }; simd as the core reports it, kernel the int8 GEMM's
   *  ('simd128', 'vnni-exact' / 'sdot-exact': bit-identical to it, 'pair-u7': 7-bit activations). */
  runtime() {
    return { build: this.build ?? 'custom', simd: this.#cstr(this.x.xlmr_build_simd()), kernel: kernelName(this.x), threads: this.nThreads ?? 1 };
  }

  constructor(platform, wasm) {
    this.platform = platform;
    this.wasm = wasm;
    this.x = wasm.exports;
    this.model = 0;
    this.config = null;
    this.pieces = new Map();
    this.liveLoaders = 0;
    this.lastLoad = null; // { source: 'cache' | 'origin', format, converted, cacheDropped, cacheSaved }
  }

  // ---- memory helpers ----
  get u8() { return new Uint8Array(this.wasm.memory.buffer); }

  #call(name, ...args) {
    const fn = this.x[name]; // instantiate() checked that the module exports every name called here
    // After a trap the instance's heap may be half-updated: refuse to compute on it rather than return garbage.
    // Freeing is still attempted (dispose), everything else says what to do.
    if (this.trapped && !/_free$/.test(name)) {
      throw new InvalidStateError(`an earlier call crashed the WebAssembly instance (${this.trapped.message}); dispose() the model and load it again`);
    }
    const sp = this.x.stackSave?.(); // Emscripten builds: put the stack back after a trap
    try {
      return fn(...args);
    } catch (e) {
      if (sp !== undefined) try { this.x.stackRestore(sp); } catch { /* ignore */ }
      const err = toXlmrError(e);
      if (e instanceof WebAssembly.RuntimeError || (e instanceof RangeError && /call stack/i.test(e.message))) this.trapped = err;
      throw err;
    }
  }

  #cstr(ptr) {
    if (!ptr) return '';
    const u8 = this.u8;
    let end = ptr;
    while (u8[end] !== 0) end++;
    return utf8d.decode(u8.slice(ptr, end)); // a copy: TextDecoder refuses views of shared memory
  }

  #alloc(n) {
    const p = this.#call('xlmr_alloc', Math.max(1, n));
    if (!p) throw new OutOfMemoryError(`could not allocate ${n} bytes of wasm memory`);
    return p;
  }

  #free(p) {
    if (p) this.#call('xlmr_free', p);
  }

  #putBytes(bytes) {
    const p = this.#alloc(bytes.byteLength);
    this.u8.set(bytes, p);
    return p;
  }

  #putString(text) {
    // encode() then copy, not encodeInto(): browsers refuse views of shared memory (the threaded build).
    const bytes = utf8.encode(text);
    return { ptr: this.#putBytes(bytes), len: bytes.byteLength };
  }

  #putI32(values) {
    const p = this.#alloc(values.length * 4);
    new Int32Array(this.wasm.memory.buffer, p, values.length).set(values);
    return p;
  }

  #modelError(ret) {
    return errorFromStatus(-ret, this.#cstr(this.#call('xlmr_model_error', this.model)));
  }

  #loaderError(ld, fallback) {
    const status = this.#call('xlmr_loader_status', ld);
    const msg = this.#cstr(this.#call('xlmr_loader_error', ld));
    return errorFromStatus(status || 1, msg || fallback || 'the model file was rejected');
  }

  #need() {
    if (!this.model) throw new InvalidStateError('no model is loaded (disposed?)');
  }

  // ---- loading ----

  /**
   * source: see sources.js; opts: { dtype, embeddingType, cache, hubUrl, revision, onProgress, signal }.
   * Returns the config. On any error everything allocated is freed and the engine can load again.
   */
  async load(source, opts = {}) {
    if (this.model) throw new InvalidStateError('this engine already holds a model');
    const { dtype = 'q8_0', embeddingType, cache = true, hubUrl, revision, signal } = opts;
    const names = Object.keys(DTYPES).map((d) => `'${d}'`).join(', ');
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPES, dtype)) throw new InvalidArgumentError(`dtype must be one of ${names}, not ${shown(dtype)}`);
    if (embeddingType !== undefined && (typeof embeddingType !== 'string' || !Object.hasOwn(DTYPES, embeddingType))) {
      throw new InvalidArgumentError(`embeddingType must be one of ${names}, not ${shown(embeddingType)}`);
    }
    this.embeddingType = embeddingType; // the word-embedding table's type for this load (#newLoader), the dtype's when undefined
    const onProgress = typeof opts.onProgress === 'function' ? opts.onProgress : null;
    const p = this.platform;
    // A throwing progress callback must not break the load (it behaves the same across the Worker boundary).
    const report = (ev) => { if (onProgress) try { onProgress(ev); } catch { /* ignore */ } };
    if (signal?.aborted) throw abortError(signal);

    const desc = classifySource(source, {
      hubUrl, revision, env: (n) => p.env(n), isNode: p.isNode, pathExists: p.pathExists?.bind(p),
    });
    const plan = await this.#plan(desc, signal, opts.streamTotal);
    const info = { source: 'origin', format: null, converted: false, cacheDropped: null, cacheSaved: null, cacheKey: null };
    this.lastLoad = info;

    let store = null;
    let key = null;
    if (plan.kind === 'folder' && cache !== false) {
      try { store = await p.openCache(cache); } catch { store = null; }
      if (store) {
        // embeddingType only when given: the keys of earlier loads stay valid
        key = p.sha256().update(utf8.encode(JSON.stringify({ v: CACHE_FORMAT, id: plan.identity, dtype, embeddingType }))).digest().slice(0, 40);
        info.cacheKey = key;
        const ok = await this.#loadFromCache(store, key, dtype, report, signal, info);
        if (ok) return this.#ready(report);
      }
    }

    await this.#loadPlan(plan, dtype, report, signal, info);
    if (store && info.converted) {
      try {
        info.cacheSaved = await this.#saveToCache(store, key, { source: plan.identity, dtype, embeddingType }, report, signal);
      } catch (e) {
        if (signal?.aborted) { this.dispose(); throw abortError(signal); }
        info.cacheSaved = null; // a cache that cannot be written is no reason to fail the load
        info.cacheError = e?.message ?? String(e);
      }
    }
    return this.#ready(report);
  }

  #ready(report) {
    const json = this.#cstr(this.#call('xlmr_model_info_json', this.model));
    let cfg = {};
    try { cfg = JSON.parse(json); } catch { cfg = {}; }
    // Ids the JS layer needs, with the file's values when the core reports them.
    this.padId = cfg.padTokenId ?? 1;
    this.maskId = cfg.maskTokenId ?? cfg.vocabSize - 1;
    cfg.maxTokens ??= cfg.maxPositions - this.padId - 1;
    try { cfg.labels = JSON.parse(this.#cstr(this.#call('xlmr_model_labels_json', this.model))); } catch { cfg.labels = []; }
    this.config = cfg;
    report({ phase: 'ready', loaded: 1, total: 1 });
    return cfg;
  }

  /** A descriptor -> how to open its files. */
  async #plan(desc, signal, streamTotal) {
    const p = this.platform;
    if (desc.type === 'bytes') {
      const label = desc.value?.constructor?.name ?? 'bytes';
      return { kind: 'single', phase: 'read', label, open: async () => bytesReader(desc.value, signal, streamTotal) };
    }
    if (desc.type === 'url') {
      if (desc.layout === 'file') {
        return { kind: 'single', phase: 'download', label: desc.url, open: () => openUrl(desc.url, { signal }) };
      }
      const base = desc.url;
      return {
        kind: 'folder', phase: 'download', label: base, weights: desc.weights,
        identity: new URL(desc.weights, base).href,
        open: (name) => openUrl(new URL(name, base).href, { signal }),
      };
    }
    // a local path (Node)
    const st = await p.stat(desc.path);
    if (st.kind === 'file') {
      if (/\.(?:safetensors|bin|pt|index\.json)$/i.test(st.path)) {
        const dir = st.path.replace(/[\\/][^\\/]*$/, '');
        return this.#folderPlan(dir, st.path.slice(dir.length + 1), st, signal);
      }
      return { kind: 'single', phase: 'read', label: st.path, open: () => p.openFile(st.path, signal) };
    }
    const names = await p.listDir(st.path);
    const weights = WEIGHTS_ORDER.find((n) => names.includes(n));
    if (weights) {
      const wst = await p.stat(p.joinPath(st.path, weights));
      return this.#folderPlan(st.path, weights, wst, signal);
    }
    const ggufs = names.filter((n) => /\.gguf$/i.test(n)).sort();
    if (ggufs.length >= 1) {
      const pick = ggufs.includes('model.gguf') ? 'model.gguf' : ggufs[0];
      const f = p.joinPath(st.path, pick);
      return { kind: 'single', phase: 'read', label: f, open: () => p.openFile(f, signal) };
    }
    throw new FileError(`${st.path} holds neither ${FOLDER_FILES.weights} (with ${FOLDER_FILES.config} and ${FOLDER_FILES.tokenizer}) nor a .gguf file`);
  }

  #folderPlan(dir, weights, wst, signal) {
    const p = this.platform;
    return {
      kind: 'folder', phase: 'read', label: dir, weights,
      identity: `file:${p.joinPath(dir, weights)}:${wst.size}:${Math.round(wst.mtimeMs)}`,
      open: (name) => p.openFile(p.joinPath(dir, name), signal),
    };
  }

  #newLoader(dtype) {
    const ld = this.#call('xlmr_loader_new', DTYPES[dtype]);
    if (!ld) throw new OutOfMemoryError('could not allocate the model loader');
    this.liveLoaders++;
    if (this.embeddingType !== undefined) this.#call('xlmr_loader_set_embedding_type', ld, DTYPES[this.embeddingType]);
    return ld;
  }

  #freeLoader(ld) {
    if (!ld) return;
    this.liveLoaders--;
    try { this.#call('xlmr_loader_free', ld); } catch { /* trapped: nothing more to free */ }
  }

  async #loadPlan(plan, dtype, report, signal, info) {
    let ld = this.#newLoader(dtype);
    let extrasWanted = false;
    try {
      if (plan.kind === 'folder') {
        for (let [what, setter] of [['config', 'xlmr_loader_set_config'], ['tokenizer', 'xlmr_loader_set_tokenizer']]) {
          let name = FOLDER_FILES[what], reader;
          try {
            if (what === 'tokenizer') {
              const tok = await openTokenizer(plan.open);
              ({ reader, name } = tok);
              if (tok.json) setter = 'xlmr_loader_set_tokenizer_json';
            } else {
              reader = await plan.open(name);
            }
          } catch (e) {
            throw folderFileMissing(e, plan, name);
          }
          report({ phase: plan.phase, file: name, loaded: 0, total: reader.total ?? 0 });
          const bytes = await readAll(reader, name === FOLDER_FILES.config ? 16 << 20 : 256 << 20);
          if (signal?.aborted) throw abortError(signal);
          report({ phase: plan.phase, file: name, loaded: bytes.byteLength, total: bytes.byteLength });
          if (what === 'config') extrasWanted = wantsExtraWeights(bytes);
          const ptr = this.#putBytes(bytes);
          let st;
          try { st = this.#call(setter, ld, ptr, bytes.byteLength); } finally { this.#free(ptr); }
          if (st !== 0) throw named(this.#loaderError(ld), reader.label ?? name);
        }
        await this.#sentenceTransformers(ld, plan, report, signal);
      }
      let weights;
      try {
        weights = plan.kind === 'folder' ? await openWeights(plan.open, plan.weights) : { reader: await plan.open() };
      } catch (e) {
        throw plan.kind === 'folder' ? folderFileMissing(e, plan, plan.weights) : e;
      }
      const extras = extrasWanted ? await openExtraWeights(plan.open) : [];
      if (extras.length) weights = withExtraWeights(weights, extras);
      if (weights.index) await this.#streamShards(ld, plan, weights, { report, signal, info });
      else await this.#stream(ld, weights.reader, { phase: plan.phase, file: weights.name ?? plan.label, report, signal, info });
      this.#finish(ld, weights.reader?.label ?? weights.name);
    } finally {
      this.#freeLoader(ld);
      ld = 0;
    }
  }

  /** A sentence-transformers folder: modules.json's Pooling module (its config.json) and a Normalize module become
   *  embed()'s defaults (the core keeps them, and writes them into the GGUF). A folder without modules.json, or
   *  whose modules hold no Pooling, gives none. */
  async #sentenceTransformers(ld, plan, report, signal) {
    let modules;
    try {
      modules = await readAll(await plan.open('modules.json'), 1 << 20);
    } catch (e) {
      if (isMissingFile(e)) return;
      throw e;
    }
    try { modules = JSON.parse(utf8d.decode(modules)); } catch { modules = null; }
    if (!Array.isArray(modules)) throw new ModelFormatError(`${plan.label}: modules.json is not a JSON list of modules`);
    const type = (m) => (typeof m?.type === 'string' ? m.type : '');
    const pooling = modules.find((m) => type(m).endsWith('.Pooling'));
    if (!pooling) return;
    const normalize = modules.some((m) => type(m).endsWith('.Normalize')) ? 1 : 0;
    const name = `${typeof pooling.path === 'string' && pooling.path ? `${pooling.path.replace(/\/+$/, '')}/` : ''}config.json`;
    let bytes;
    try {
      bytes = await readAll(await plan.open(name), 1 << 20);
    } catch (e) {
      throw folderFileMissing(e, plan, name);
    }
    if (signal?.aborted) throw abortError(signal);
    report({ phase: plan.phase, file: name, loaded: bytes.byteLength, total: bytes.byteLength });
    const ptr = this.#putBytes(bytes);
    let st;
    try { st = this.#call('xlmr_loader_set_pooling', ld, ptr, bytes.byteLength, normalize); } finally { this.#free(ptr); }
    if (st !== 0) throw named(this.#loaderError(ld), name);
  }

  /** Several weight files into one model: the index to the loader, then each file streamed in turn (a shard's name,
   *  or { file, prefix, reader }: BGE-M3's extra heads, whose tensor names get the prefix). */
  async #streamShards(ld, plan, { name, index, files }, { report, signal, info }) {
    const bytes = new TextEncoder().encode(index);
    const ptr = this.#putBytes(bytes);
    let st;
    try { st = this.#call('xlmr_loader_set_index', ld, ptr, bytes.byteLength); } finally { this.#free(ptr); }
    if (st !== 0) throw named(this.#loaderError(ld), name);
    let at = 0;
    try {
      for (; at < files.length; at++) await this.#streamFile(ld, plan, files[at], at, { report, signal, info });
    } finally {
      for (const f of files.slice(at + 1)) f.reader?.close(); // opened ahead (extra heads) and never streamed
    }
  }

  /** File i of a multi-file load: after the previous one (xlmr_loader_next_file), its name prefix, its bytes. */
  async #streamFile(ld, plan, f, i, { report, signal, info }) {
    const { file, prefix, reader: opened } = typeof f === 'string' ? { file: f } : f;
    if (i && this.#call('xlmr_loader_next_file', ld) !== 0) throw named(this.#loaderError(ld), file);
    if (prefix) {
      const pb = new TextEncoder().encode(prefix);
      const pp = this.#putBytes(pb);
      let st;
      try { st = this.#call('xlmr_loader_set_file_prefix', ld, pp, pb.byteLength); } finally { this.#free(pp); }
      if (st !== 0) throw named(this.#loaderError(ld), file);
    }
    let reader = opened;
    if (!reader) try { reader = await plan.open(file); } catch (e) { throw folderFileMissing(e, plan, file); }
    await this.#stream(ld, reader, { phase: plan.phase, file, report, signal, info });
  }

  #finish(ld, label) {
    const m = this.#call('xlmr_loader_finish', ld);
    if (!m) {
      throw named(this.#loaderError(ld, 'incomplete'), label);
    }
    this.model = m;
    this.pieces.clear();
  }

  /** The copy loop: reader chunks -> xlmr_loader_dest, until the loader's tables say the file is complete. */
  async #stream(ld, reader, { phase, file, report, signal, info, hash }) {
    let pending = null; // the rest of a chunk that did not fit
    let loaded = 0;
    let first = true;
    const total = () => reader.total ?? (this.#call('xlmr_loader_total', ld) || 0);
    const onAbort = () => { reader.close(); };
    signal?.addEventListener('abort', onAbort, { once: true });
    let lastReport = -1;
    const progress = (force) => {
      const t = total();
      if (force || loaded - lastReport >= Math.max(1 << 14, t / 1000)) {
        lastReport = loaded;
        report({ phase, file, loaded, total: t });
      }
    };
    try {
      progress(true);
      for (;;) {
        if (signal?.aborted) throw abortError(signal);
        const room = this.#call('xlmr_loader_room', ld);
        if (room === 0) break;
        let n = 0;
        if (pending && pending.byteLength) {
          n = Math.min(room, pending.byteLength);
          this.u8.set(pending.subarray(0, n), this.#call('xlmr_loader_dest', ld));
          if (hash) hash.update(pending.subarray(0, n));
          pending = pending.subarray(n);
        } else if (reader.readInto) {
          const dest = this.#call('xlmr_loader_dest', ld);
          const view = new Uint8Array(this.wasm.memory.buffer, dest, Math.min(room, READ_SLICE));
          n = await reader.readInto(view);
          if (n === 0) break;
          if (hash) hash.update(view.subarray(0, n));
        } else {
          const chunk = await reader.next();
          if (!chunk) break;
          pending = chunk;
          continue;
        }
        if (first) {
          first = false;
          const head = new Uint8Array(this.wasm.memory.buffer, this.#call('xlmr_loader_dest', ld), Math.min(n, 4));
          if (info) {
            info.format = GGUF_MAGIC.every((b, i) => head[i] === b) ? 'gguf' : head[0] === 0x50 && head[1] === 0x4b ? 'pytorch' : 'safetensors';
            info.converted = info.format !== 'gguf';
          }
        }
        const st = this.#call('xlmr_loader_commit', ld, n);
        loaded += n;
        if (st !== 0) throw named(this.#loaderError(ld), reader.label);
        progress(false);
      }
      if (signal?.aborted) throw abortError(signal);
      const status = this.#call('xlmr_loader_status', ld);
      if (status !== 0) throw named(this.#loaderError(ld), reader.label);
      // A source that ended early is for xlmr_loader_finish to judge (a GGUF may omit its final padding).
      // One that has more than the loader's tables describe is not a single model file.
      let extra = pending ? pending.byteLength : 0;
      if (!extra && reader.total !== undefined) extra = reader.total - loaded;
      if (!extra && !reader.readInto && reader.total === undefined) {
        const more = await reader.next();
        if (more) extra = more.byteLength;
      }
      if (extra > 0) {
        throw new ModelFormatError(`${reader.label} is ${extra} bytes longer than its tables say (${loaded} bytes): not a single model file, or a corrupted one`);
      }
      progress(true);
      if (signal?.aborted) throw abortError(signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await reader.close();
    }
  }

  async #loadFromCache(store, key, dtype, report, signal, info) {
    let hit;
    try { hit = await store.get(key, signal); } catch { hit = null; }
    if (!hit) return false;
    const { meta, reader } = hit;
    let ld = 0;
    try {
      if (meta.dtype !== dtype || meta.embeddingType !== this.embeddingType || (reader.total !== undefined && meta.size !== undefined && reader.total !== meta.size)) {
        throw new ModelFormatError(`cache entry ${key}: size ${reader.total} differs from the recorded ${meta.size}`);
      }
      ld = this.#newLoader(dtype);
      const hash = meta.sha256 ? this.platform.sha256() : null;
      await this.#stream(ld, reader, { phase: 'cache', file: `${key}.gguf`, report, signal, info: null, hash });
      if (hash) {
        const got = hash.digest();
        if (got !== meta.sha256) throw new ModelFormatError(`cache entry ${key}: sha256 ${got} differs from the recorded ${meta.sha256}`);
      }
      this.#finish(ld, `cache entry ${key}`);
      Object.assign(info, { source: 'cache', format: 'gguf', converted: false });
      return true;
    } catch (e) {
      await reader.close();
      if (signal?.aborted) throw abortError(signal);
      if (!(e instanceof XlmrError) || e.code === 'ERR_OUT_OF_MEMORY') throw e;
      // A damaged entry: drop it and fetch from the origin.
      info.cacheDropped = e.message;
      await store.remove(key);
      return false;
    } finally {
      this.#freeLoader(ld);
    }
  }

  /**
   * A copy of the model cut to the vocabulary of corpus (its texts one per line; vocab_trim.c says what is kept):
   * { gguf: Uint8Array, report }. heldOut: [{ name, texts }] texts not trimmed on, whose share tokenized unchanged
   * the report gives per name. vocabSize: fill up to this many pieces with the corpus scripts' best-scoring ones.
   */
  trim(corpus, { vocabSize = 0, heldOut = [] } = {}) {
    this.#need();
    const s = this.#putString(corpus);
    let t = 0;
    try {
      t = this.#call('xlmr_trim', this.model, s.ptr, s.len, vocabSize);
      if (!t) throw this.#modelError(-(this.#call('xlmr_model_status', this.model) || 2));
      const info = JSON.parse(this.#cstr(this.#call('xlmr_model_info_json', t)));
      const report = { vocabSize: info.vocabSize, originalVocabSize: info.trimmedFrom, corpusTexts: nonEmptyLines(corpus), heldOut: [] };
      for (const { name, texts } of heldOut) {
        const text = texts.join('\n');
        const h = this.#putString(text);
        try {
          const same = this.#call('xlmr_tokenize_same', this.model, t, h.ptr, h.len);
          if (same < 0) throw this.#modelError(same);
          const n = nonEmptyLines(text);
          report.heldOut.push({ name, texts: n, unchanged: same, share: n ? same / n : null });
        } finally {
          this.#free(h.ptr);
        }
      }
      return { gguf: this.#writeAll(t), report };
    } finally {
      this.#free(s.ptr);
      if (t) this.#call('xlmr_model_free', t);
    }
  }

  /** Model m (a pointer) as one GGUF file in a fresh Uint8Array. */
  #writeAll(m) {
    const w = this.#call('xlmr_writer_new', m);
    if (!w) throw this.#modelError(-2);
    try {
      const out = new Uint8Array(this.#call('xlmr_writer_total', w));
      for (let at = 0; ;) {
        const ptr = this.#call('xlmr_writer_chunk', w);
        const n = this.#call('xlmr_writer_chunk_len', w);
        if (!n) return out;
        out.set(new Uint8Array(this.wasm.memory.buffer, ptr, n), at);
        at += n;
      }
    } finally {
      this.#call('xlmr_writer_free', w);
    }
  }

  /** The loaded model as GGUF, chunk by chunk (views into wasm memory, valid until the next chunk). */
  async *ggufChunks() {
    this.#need();
    const w = this.#call('xlmr_writer_new', this.model);
    if (!w) throw this.#modelError(-2);
    try {
      for (;;) {
        const ptr = this.#call('xlmr_writer_chunk', w);
        const n = this.#call('xlmr_writer_chunk_len', w);
        if (!n) break;
        yield new Uint8Array(this.wasm.memory.buffer, ptr, n);
      }
    } finally {
      this.#call('xlmr_writer_free', w);
    }
  }

  /** Size of the GGUF ggufChunks() would write. */
  ggufSize() {
    this.#need();
    const w = this.#call('xlmr_writer_new', this.model);
    if (!w) throw this.#modelError(-2);
    try { return this.#call('xlmr_writer_total', w); } finally { this.#call('xlmr_writer_free', w); }
  }

  async #saveToCache(store, key, meta, report, signal) {
    const total = this.ggufSize();
    report({ phase: 'save', file: `${key}.gguf`, loaded: 0, total });
    let written = 0;
    const self = this;
    async function* counted() {
      for await (const c of self.ggufChunks()) {
        written += c.byteLength;
        report({ phase: 'save', file: `${key}.gguf`, loaded: written, total });
        yield c;
      }
    }
    const full = await store.put(key, meta, counted(), signal);
    return { key, where: store.where, size: full?.size };
  }

  // ---- model calls ----

  #ids(text, maxLen) {
    if (typeof text !== 'string') throw new InvalidArgumentError(`expected a string, got ${text === null ? 'null' : typeof text}`);
    const s = this.#putString(text);
    try {
      const n = this.#call('xlmr_tokenize', this.model, s.ptr, s.len, maxLen);
      if (n < 0) throw this.#modelError(n);
      const p = this.#call('xlmr_result_ids', this.model);
      return Int32Array.from(new Int32Array(this.wasm.memory.buffer, p, n));
    } finally {
      this.#free(s.ptr);
    }
  }

  #tooLong(n, what) {
    return new TooLongError(`${what} is ${n} tokens; this model takes at most ${this.config.maxTokens} (pass { truncation: true } to cut it)`);
  }

  #piece(id) {
    let s = this.pieces.get(id);
    if (s === undefined) {
      s = this.#cstr(this.#call('xlmr_token_piece', this.model, id));
      this.pieces.set(id, s);
    }
    return s;
  }

  #decode(ids, skipSpecial) {
    const p = this.#putI32(ids);
    try {
      const n = this.#call('xlmr_decode', this.model, p, ids.length, skipSpecial ? 1 : 0);
      if (n < 0) throw this.#modelError(n);
      const t = this.#call('xlmr_result_text', this.model);
      return utf8d.decode(new Uint8Array(this.wasm.memory.buffer, t, n).slice());
    } finally {
      this.#free(p);
    }
  }

  tokenize(text, { truncation = false, offsets = false } = {}) {
    this.#need();
    const maxLen = truncation ? this.config.maxTokens : 0;
    if (offsets) {
      const e = this.encode(text, maxLen);
      const ids = Array.from(e.ids);
      const spans = ids.map((_, i) => [e.offsets[2 * i], e.offsets[2 * i + 1]]);
      return { ids, tokens: ids.map((id) => this.#piece(id)), offsets: spans };
    }
    const ids = this.#ids(text, maxLen);
    const out = Array.from(ids);
    return { ids: out, tokens: out.map((id) => this.#piece(id)) };
  }

  fillMask(text, { topK = 5, truncation = false } = {}) {
    this.#need();
    const cfg = this.config;
    if (!Number.isInteger(topK) || topK < 1) throw new InvalidArgumentError(`topK must be a positive integer, not ${shown(topK)}`);
    const k = Math.min(topK, cfg.vocabSize);
    const ids = this.#ids(text, truncation ? cfg.maxTokens : 0);
    if (ids.length > cfg.maxTokens) throw this.#tooLong(ids.length, 'the text');
    const maskAt = [];
    ids.forEach((id, t) => { if (id === this.maskId) maskAt.push(t); });
    if (!maskAt.length) {
      if (truncation && ids.length >= cfg.maxTokens && this.#ids(text, 0).includes(this.maskId)) {
        throw new NoMaskError(`every <mask> of the text lies past the first ${cfg.maxTokens} tokens and was cut off by truncation: put <mask> earlier or shorten the text`);
      }
      throw new NoMaskError('the text has no <mask> token: write <mask> where a word should be predicted');
    }
    const T = ids.length;
    const pIds = this.#putI32(ids);
    let pOutIds = 0, pOutScores = 0;
    let outIds, outScores, nm;
    try {
      pOutIds = this.#alloc(maskAt.length * k * 4);
      pOutScores = this.#alloc(maskAt.length * k * 4);
      nm = this.#call('xlmr_fill_mask', this.model, pIds, T, k, pOutIds, pOutScores);
      if (nm < 0) throw this.#modelError(nm);
      outIds = Int32Array.from(new Int32Array(this.wasm.memory.buffer, pOutIds, nm * k));
      outScores = Float32Array.from(new Float32Array(this.wasm.memory.buffer, pOutScores, nm * k));
    } finally {
      this.#free(pIds); this.#free(pOutIds); this.#free(pOutScores);
    }
    const single = nm === 1;
    const lists = [];
    for (let i = 0; i < nm; i++) {
      const list = [];
      for (let j = 0; j < k; j++) {
        const token = outIds[i * k + j];
        const seq = Array.from(ids);
        seq[maskAt[i]] = token;
        list.push({
          score: outScores[i * k + j],
          token,
          token_str: this.#decode([token], false),
          // As the fill-mask pipeline: padding removed, specials dropped only for a single mask.
          sequence: this.#decode(seq.filter((id) => id !== this.padId), single),
        });
      }
      lists.push(list);
    }
    return single ? lists[0] : lists;
  }

  /** Defaults from the model's own files (a sentence-transformers folder, a GGUF's bert.pooling_type), else mean
   *  pooling, L2-normalised; `output` other than 'dense' for BGE-M3's sparse and multi-vector outputs. */
  embed(texts, { pooling, normalize, output = 'dense', truncation = false, batchSize = 16 } = {}) {
    this.#need();
    const cfg = this.config;
    pooling ??= cfg.pooling ?? (cfg.head === 'bge-m3' ? 'cls' : 'mean'); // BGE-M3's dense vector is its <s> row
    normalize ??= cfg.normalize ?? true;
    const single = typeof texts === 'string';
    const list = single ? [texts] : texts;
    if (!Array.isArray(list)) throw new InvalidArgumentError('embed() takes a string or an array of strings');
    // own keys only: `in` would accept 'toString' & co, and the core would write (B, T, H) into a (B, H) buffer
    if (typeof pooling !== 'string' || !Object.hasOwn(POOLING, pooling)) throw new InvalidArgumentError(`pooling must be 'mean', 'cls', 'last' or 'none', not ${shown(pooling)}`);
    if (!M3_OUTPUTS.includes(output)) throw new InvalidArgumentError(`output must be 'dense', 'sparse', 'colbert' or 'all', not ${shown(output)}`);
    if (output !== 'dense' && cfg.head !== 'bge-m3') {
      throw new UnsupportedError(`output '${output}' needs BGE-M3's sparse and ColBERT heads (colbert_linear, sparse_linear); this model has ${cfg.head ? `a ${cfg.head} head` : 'neither'}`);
    }
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError(`batchSize must be a positive integer, not ${shown(batchSize)}`);
    const H = cfg.hiddenSize;
    const all = list.map((t, i) => {
      const ids = this.#ids(t, truncation ? cfg.maxTokens : 0);
      if (ids.length > cfg.maxTokens) throw this.#tooLong(ids.length, single ? 'the text' : `text ${i}`);
      return ids;
    });
    const out = [];
    for (let b0 = 0; b0 < all.length; b0 += batchSize) {
      const batch = all.slice(b0, b0 + batchSize);
      const B = batch.length;
      let T = 0; // a loop, not Math.max(...batch): spreading 100k+ texts overflows the call stack
      for (const a of batch) T = Math.max(T, a.length);
      const flat = new Int32Array(B * T).fill(this.padId);
      batch.forEach((a, b) => flat.set(a, b * T));
      if (output !== 'dense') {
        out.push(...this.#m3Batch(flat, batch, T, output));
        continue;
      }
      const nOut = pooling === 'none' ? B * T * H : B * H;
      const pIds = this.#putI32(flat);
      let pLen = 0, pOut = 0;
      try {
        pLen = this.#putI32(batch.map((a) => a.length));
        pOut = this.#alloc(nOut * 4);
        const st = this.#call('xlmr_embed', this.model, pIds, pLen, B, T, POOLING[pooling], normalize ? 1 : 0, pOut);
        if (st < 0) throw this.#modelError(st);
        const res = new Float32Array(this.wasm.memory.buffer, pOut, nOut);
        for (let b = 0; b < B; b++) {
          if (pooling === 'none') out.push(res.slice(b * T * H, (b * T + batch[b].length) * H));
          else out.push(res.slice(b * H, (b + 1) * H));
        }
      } finally {
        this.#free(pIds); this.#free(pLen); this.#free(pOut);
      }
    }
    return single ? out[0] : out;
  }

  /** BGE-M3's outputs of one padded batch (flat (B, T) ids) as FlagEmbedding's encode returns them: dense
   *  Float32Array(H); sparse { [id]: weight }, the largest weight per id, <s> </s> <pad> <unk> and weights <= 0 left
   *  out; colbert Float32Array((length - 1) * H), a row per token after <s>; 'all' -> { dense, sparse, colbert }. */
  #m3Batch(flat, batch, T, output) {
    const cfg = this.config, H = cfg.hiddenSize, B = batch.length;
    const want = (o) => output === o || output === 'all';
    const skip = new Set([cfg.bosTokenId, cfg.eosTokenId, this.padId, cfg.unkTokenId]);
    const pIds = this.#putI32(flat);
    let pLen = 0, pDense = 0, pSparse = 0, pColbert = 0;
    try {
      pLen = this.#putI32(batch.map((a) => a.length));
      if (want('dense')) pDense = this.#alloc(B * H * 4);
      if (want('sparse')) pSparse = this.#alloc(B * T * 4);
      if (want('colbert')) pColbert = this.#alloc(B * T * H * 4);
      const st = this.#call('xlmr_m3_embed', this.model, pIds, pLen, B, T, pDense, pSparse, pColbert);
      if (st < 0) throw this.#modelError(st);
      const buf = this.wasm.memory.buffer;
      return batch.map((ids, b) => {
        const r = {};
        if (pDense) r.dense = new Float32Array(buf, pDense + b * H * 4, H).slice();
        if (pSparse) {
          const w = new Float32Array(buf, pSparse + b * T * 4, ids.length);
          r.sparse = {};
          ids.forEach((id, t) => { if (!skip.has(id) && w[t] > 0 && w[t] > (r.sparse[id] ?? 0)) r.sparse[id] = w[t]; });
        }
        if (pColbert) r.colbert = new Float32Array(buf, pColbert + (b * T + 1) * H * 4, (ids.length - 1) * H).slice();
        return output === 'all' ? r : r[output];
      });
    } finally {
      this.#free(pIds); this.#free(pLen); this.#free(pDense); this.#free(pSparse); this.#free(pColbert);
    }
  }

  // ---- primitives of the task heads (js/tasks/*.js do the rest) ----

  /** The model's head and labels: { head, numLabels, problemType, labels }. */
  headInfo() {
    this.#need();
    const cfg = this.config;
    return { head: cfg.head ?? null, numLabels: cfg.numLabels ?? 0, problemType: cfg.problemType ?? null, labels: cfg.labels ?? [], maxTokens: cfg.maxTokens };
  }

  /** Text -> { ids, offsets } with <s> </s> (offsets: Int32Array (2n), UTF-16 [start, end) of text, the rule of the tokenizer's file). */
  encode(text, maxLen = 0) {
    this.#need();
    if (typeof text !== 'string') throw new InvalidArgumentError(`expected a string, got ${text === null ? 'null' : typeof text}`);
    const s = this.#putString(text);
    try {
      const n = this.#call('xlmr_tokenize_offsets', this.model, s.ptr, s.len, maxLen, OFFSETS_FILE);
      if (n < 0) throw this.#modelError(n);
      const buf = this.wasm.memory.buffer;
      return {
        ids: Int32Array.from(new Int32Array(buf, this.#call('xlmr_result_ids', this.model), n)),
        offsets: Int32Array.from(new Int32Array(this.wasm.memory.buffer, this.#call('xlmr_result_offsets', this.model), 2 * n)),
      };
    } finally {
      this.#free(s.ptr);
    }
  }

  /**
   * <s> a </s></s> b </s> -> windows [{ ids, offsets, seq }] (seq per id: 0 a, 1 b, -1 added specials; offsets
   * into a's or b's own text). strategy 'longest_first' | 'only_first' | 'only_second'; maxLen 0: no limit;
   * stride >= 0 (only_*): every overflowing window.
   */
  encodePair(a, b, { maxLen = 0, strategy = 'longest_first', stride = -1 } = {}) {
    this.#need();
    const code = TRUNCATION[strategy];
    if (code === undefined) throw new InvalidArgumentError(`truncation must be one of ${Object.keys(TRUNCATION).join(', ')}, not ${shown(strategy)}`);
    for (const t of [a, b]) if (typeof t !== 'string') throw new InvalidArgumentError(`expected a string, got ${t === null ? 'null' : typeof t}`);
    const sa = this.#putString(a);
    let sb = null;
    try {
      sb = this.#putString(b);
      const nw = this.#call('xlmr_tokenize_pair', this.model, sa.ptr, sa.len, sb.ptr, sb.len, maxLen, code, stride, OFFSETS_FILE);
      if (nw < 0) throw this.#modelError(nw);
      const view = (name, n) => Int32Array.from(new Int32Array(this.wasm.memory.buffer, this.#call(name, this.model), n));
      const starts = view('xlmr_result_window_starts', nw + 1);
      const total = starts[nw];
      const ids = view('xlmr_result_ids', total), seq = view('xlmr_result_sequence_ids', total), offs = view('xlmr_result_offsets', 2 * total);
      const windows = [];
      for (let w = 0; w < nw; w++) {
        const lo = starts[w], hi = starts[w + 1];
        windows.push({ ids: ids.slice(lo, hi), seq: seq.slice(lo, hi), offsets: offs.slice(2 * lo, 2 * hi) });
      }
      return windows;
    } finally {
      this.#free(sa.ptr);
      if (sb) this.#free(sb.ptr);
    }
  }

  /**
   * The head's logits for id sequences, batched (each batch padded to its longest): kind 'sequence' ->
   * Float32Array (numLabels) per sequence; 'token' -> Float32Array (T * n) per sequence, n = numLabels
   * (token classification) or 2 (question answering: start, end).
   */
  headLogits(kind, seqs, batchSize = 16) {
    this.#need();
    const cfg = this.config;
    const fn = kind === 'sequence' ? 'xlmr_classify' : 'xlmr_token_logits';
    const n = kind === 'sequence' || cfg.head !== 'question-answering' ? cfg.numLabels || 1 : 2;
    const out = [];
    for (let b0 = 0; b0 < seqs.length; b0 += batchSize) {
      const batch = seqs.slice(b0, b0 + batchSize);
      const B = batch.length;
      let T = 0;
      for (const a of batch) T = Math.max(T, a.length);
      const flat = new Int32Array(B * T).fill(this.padId);
      batch.forEach((a, i) => flat.set(a, i * T));
      const per = kind === 'sequence' ? n : T * n;
      const pIds = this.#putI32(flat);
      let pLen = 0, pOut = 0;
      try {
        pLen = this.#putI32(batch.map((a) => a.length));
        pOut = this.#alloc(B * per * 4);
        const st = this.#call(fn, this.model, pIds, pLen, B, T, pOut);
        if (st !== 0) throw this.#modelError(st < 0 ? st : -st);
        const res = new Float32Array(this.wasm.memory.buffer, pOut, B * per);
        for (let i = 0; i < B; i++) out.push(kind === 'sequence' ? res.slice(i * n, (i + 1) * n) : res.slice(i * per, i * per + batch[i].length * n));
      } finally {
        this.#free(pIds); this.#free(pLen); this.#free(pOut);
      }
    }
    return out;
  }

  /** The piece of an id (convert_ids_to_tokens). */
  piece(id) {
    return this.#piece(id);
  }

  /** Diagnostics for tests: wasm memory size and handles still open. */
  stats() {
    return { memoryBytes: this.wasm.memory.buffer.byteLength, liveLoaders: this.liveLoaders, hasModel: !!this.model };
  }

  /** Frees the model; `final` also stops the pool threads (the engine is not used again). */
  dispose(final = false) {
    if (final) this.#stopThreads();
    if (this.model) {
      const m = this.model;
      this.model = 0;
      try { this.#call('xlmr_model_free', m); } catch { /* trapped */ }
    }
    this.config = null;
    this.pieces.clear();
  }
}

/** Lines of text with something on them (what the core counts as texts: vocab_trim.c). */
function nonEmptyLines(text) {
  let n = 0;
  for (const line of text.split('\n')) if (line.replace(/\r$/, '') !== '') n++;
  return n;
}
