// Bench-only driver over the exported C API of dist/xlmr*.wasm (src/xlmr.h): instantiate, stream a weights
// file into the loader (from a file or an HTTP response), run xlmr_embed / xlmr_fill_mask / xlmr_logits on
// token ids.  Deliberately independent of js/ so the benchmark measures the core alone and keeps working
// while the package API changes.

import { selectKernel, kernelName } from '../js/wasm.js';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';

const WASI_NOSYS = 52;

/** Stubs for whatever the module imports (the clang build imports nothing; emcc's imports a few WASI calls;
 * the threaded build imports its shared memory as env.memory). */
export function importsFor(module, mem, sharedMemory = null) {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    const ns = (imports[imp.module] ??= {});
    if (imp.kind === 'memory' && sharedMemory) { ns[imp.name] = sharedMemory; continue; }
    if (imp.kind !== 'function') throw new Error(`unexpected import ${imp.kind} ${imp.module}.${imp.name}`);
    if (imp.name === 'proc_exit') ns[imp.name] = (c) => { throw new Error(`wasm exit(${c})`); };
    else if (imp.name === 'fd_write') {
      ns[imp.name] = (fd, iovs, n, nw) => {
        const dv = new DataView(mem().buffer);
        let t = 0;
        for (let i = 0; i < n; i++) t += dv.getUint32(iovs + 8 * i + 4, true);
        dv.setUint32(nw, t, true);
        return 0;
      };
    } else if (imp.name === 'clock_time_get') {
      ns[imp.name] = (id, prec, out) => {
        new DataView(mem().buffer).setBigUint64(out, BigInt(Math.round(performance.now() * 1e6)), true);
        return 0;
      };
    } else ns[imp.name] = () => (/^wasi/.test(imp.module) ? WASI_NOSYS : 0);
  }
  return imports;
}

export const DTYPE = { q8_0: 0, f16: 1, f32: 2 };
export const POOL = { none: 0, cls: 1, mean: 2 };

/** B sequences of T piece ids (a fixed hash of the position, never a special piece), each framed by <s> = 0 and
 * </s> = 2 as the tokenizer would; with mask, the first sequence's middle piece is the peer model's <mask> (its
 * last piece, V - 1). The input of bench/profile.mjs and bench/ab.mjs, so their figures are of the same work. */
export function syntheticIds(B, T, V, { mask = false } = {}) {
  const ids = new Int32Array(B * T);
  for (let i = 0; i < ids.length; i++) ids[i] = 5 + ((i * 2654435761) >>> 0) % (V - 10);
  for (let b = 0; b < B; b++) { ids[b * T] = 0; ids[b * T + T - 1] = 2; }
  if (mask) ids[T >> 1] = V - 1;
  return ids;
}

export class XlmrDriver {
  /** threads > 1 needs the threaded build: threads - 1 workers join the calling thread. A relaxed build runs the
   *  package's kernel choice (the exact 8-bit kernel where the engine has it, else the u7 pair form); a path ending
   *  in #pair-u7 keeps the pair form. d.kernel names what runs. */
  static async create(wasmPathKernel, { threads = 1 } = {}) {
    const t0 = performance.now();
    const [wasmPath, kernelWanted] = String(wasmPathKernel).split('#');
    const bytes = fs.readFileSync(wasmPath);
    const module = await WebAssembly.compile(bytes);
    const memImport = WebAssembly.Module.imports(module).find((i) => i.kind === 'memory');
    // shared memory, as the threaded build declares it: 16 MiB to start, 4 GiB at most
    const shared = memImport ? new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true }) : null;
    let instance;
    instance = await WebAssembly.instantiate(module, importsFor(module, () => shared ?? instance.exports.memory, shared));
    if (instance.exports._initialize) instance.exports._initialize();
    const d = new XlmrDriver(instance.exports, shared);
    d.kernel = kernelWanted === 'pair-u7' ? kernelName(instance.exports) : selectKernel(instance.exports);
    d.workers = [];
    if (threads > 1) {
      if (!shared || !instance.exports.xlmr_thread_main) throw new Error(`${wasmPath} is not a threaded build`);
      const n = threads - 1;
      instance.exports.xlmr_threads_set(n);
      const STACK = 256 * 1024;
      await Promise.all(Array.from({ length: n }, (_, id) => {
        const base = instance.exports.xlmr_alloc(STACK);
        const w = new Worker(new URL('./xlmr-worker.mjs', import.meta.url), { workerData: { module, memory: shared, stackTop: (base + STACK) & ~15, id } });
        w.unref();
        d.workers.push(w);
        return new Promise((ok, ko) => { w.once('message', ok); w.once('error', ko); });
      }));
    }
    d.initMs = performance.now() - t0;
    d.wasmBytes = bytes.length;
    return d;
  }

  constructor(x, shared = null) {
    this.x = x;
    this.mem = shared ?? x.memory;
    this.model = 0;
  }

  get memoryBytes() { return this.mem.buffer.byteLength; }
  u8() { return new Uint8Array(this.mem.buffer); }
  str(p) {
    if (!p) return '';
    const u = this.u8();
    let e = p;
    while (u[e]) e++;
    return Buffer.from(u.subarray(p, e)).toString('utf8');
  }

  /** Copies bytes into wasm memory; returns the pointer (caller frees with free()). */
  put(bytes) {
    const p = this.x.xlmr_alloc(bytes.length || 1);
    if (!p) throw new Error('xlmr_alloc failed');
    this.u8().set(bytes, p);
    return p;
  }
  free(p) { if (p) this.x.xlmr_free(p); }

  beginLoad({ dtype = 'q8_0', config = null, tokenizer = null } = {}) {
    const x = this.x;
    const ld = x.xlmr_loader_new(DTYPE[dtype]);
    if (!ld) throw new Error('xlmr_loader_new failed');
    const check = (rc, what) => {
      if (rc < 0 || (rc > 0 && rc !== 0)) throw new Error(`${what}: status ${rc}: ${this.str(x.xlmr_loader_error(ld))}`);
    };
    if (config) { const p = this.put(config); check(x.xlmr_loader_set_config(ld, p, config.length), 'set_config'); this.free(p); }
    if (tokenizer) { const p = this.put(tokenizer); check(x.xlmr_loader_set_tokenizer(ld, p, tokenizer.length), 'set_tokenizer'); this.free(p); }
    return ld;
  }

  /** Pushes one chunk through dest/room/commit. Returns false once the loader takes no more. */
  feed(ld, chunk) {
    const x = this.x;
    let off = 0;
    while (off < chunk.length) {
      const room = x.xlmr_loader_room(ld);
      if (room === 0) return false;
      const n = Math.min(room, chunk.length - off);
      this.u8().set(chunk.subarray(off, off + n), x.xlmr_loader_dest(ld));
      const rc = x.xlmr_loader_commit(ld, n);
      if (rc !== 0) throw new Error(`loader_commit: status ${rc}: ${this.str(x.xlmr_loader_error(ld))}`);
      off += n;
    }
    return true;
  }

  finishLoad(ld) {
    const x = this.x;
    const m = x.xlmr_loader_finish(ld);
    const err = m ? '' : this.str(x.xlmr_loader_error(ld));
    x.xlmr_loader_free(ld);
    if (!m) throw new Error(`loader_finish: ${err}`);
    this.model = m;
    this.info = JSON.parse(this.str(x.xlmr_model_info_json(m)));
    return this.info;
  }

  /** Reads the file straight into the loader's destination (no intermediate JS buffer). */
  loadFile(weightsPath, opts = {}) {
    const x = this.x;
    const ld = this.beginLoad(opts);
    const fd = fs.openSync(weightsPath, 'r');
    try {
      const CHUNK = 8 << 20;
      for (;;) {
        const room = x.xlmr_loader_room(ld);
        if (room === 0) break;
        const dest = x.xlmr_loader_dest(ld);
        const n = fs.readSync(fd, this.u8(), dest, Math.min(room, CHUNK), null);
        if (n === 0) break;
        const rc = x.xlmr_loader_commit(ld, n);
        if (rc !== 0) throw new Error(`loader_commit: status ${rc}: ${this.str(x.xlmr_loader_error(ld))}`);
      }
    } finally {
      fs.closeSync(fd);
    }
    return this.finishLoad(ld);
  }

  /** Streams an HTTP response body into the loader, chunk by chunk as it arrives. */
  async loadUrl(url, opts = {}) {
    const ld = this.beginLoad(opts);
    const r = await fetch(url);
    if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
    const reader = r.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!this.feed(ld, value)) { await reader.cancel(); break; }
    }
    return this.finishLoad(ld);
  }

  /** ids: Int32Array (B*T), lengths: Int32Array (B). Returns a Float32Array copy of the output. */
  embed(ids, lengths, B, T, pooling = POOL.none, normalize = 0) {
    const x = this.x;
    const H = this.info.hiddenSize;
    const nOut = pooling === POOL.none ? B * T * H : B * H;
    const pi = this.put(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength));
    const pl = this.put(new Uint8Array(lengths.buffer, lengths.byteOffset, lengths.byteLength));
    const po = x.xlmr_alloc(nOut * 4);
    try {
      const rc = x.xlmr_embed(this.model, pi, pl, B, T, pooling, normalize, po);
      if (rc < 0 || rc > 0) throw new Error(`xlmr_embed: status ${rc}: ${this.str(x.xlmr_model_error(this.model))}`);
      return new Float32Array(this.mem.buffer, po, nOut).slice();
    } finally {
      this.free(pi); this.free(pl); this.free(po);
    }
  }

  fillMask(ids, topK = 5) {
    const x = this.x;
    const T = ids.length;
    const pi = this.put(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength));
    const maxMasks = T;
    const poi = x.xlmr_alloc(maxMasks * topK * 4), pos = x.xlmr_alloc(maxMasks * topK * 4);
    try {
      const n = x.xlmr_fill_mask(this.model, pi, T, topK, poi, pos);
      if (n < 0) throw new Error(`xlmr_fill_mask: status ${-n}: ${this.str(x.xlmr_model_error(this.model))}`);
      return { ids: new Int32Array(this.mem.buffer, poi, n * topK).slice(), scores: new Float32Array(this.mem.buffer, pos, n * topK).slice() };
    } finally {
      this.free(pi); this.free(poi); this.free(pos);
    }
  }

  logits(ids, positions) {
    const x = this.x;
    const V = this.info.vocabSize;
    const pi = this.put(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength));
    const pp = this.put(new Uint8Array(positions.buffer, positions.byteOffset, positions.byteLength));
    const po = x.xlmr_alloc(positions.length * V * 4);
    try {
      const rc = x.xlmr_logits(this.model, pi, ids.length, pp, positions.length, po);
      if (rc < 0) throw new Error(`xlmr_logits: status ${-rc}: ${this.str(x.xlmr_model_error(this.model))}`);
      return new Float32Array(this.mem.buffer, po, positions.length * V).slice();
    } finally {
      this.free(pi); this.free(pp); this.free(po);
    }
  }
}
