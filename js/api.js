// The public API, shared by every entry point (index.node.js, index.js, index.workerd.js): load() and
// the Model object. A Model talks to a backend: the Worker proxy (worker: true) or an Engine in this
// thread (worker: false). Both queue calls and answer them in order; an error fails only its own call.

import { runOp } from './ops.js';
import {
  InvalidArgumentError, InvalidStateError, InternalError, OutOfMemoryError, UnsupportedError,
  toXlmrError, errorFromJSON, abortError, shown,
} from './errors.js';
import { autoThreads } from './wasm.js';
import { bytesReader } from './sources.js';

const DTYPES = ['q8_0', 'f16', 'f32', 'q4_0'];
const LOAD_OPTIONS = new Set(['onProgress', 'signal', 'worker', 'threads', 'simd', 'dtype', 'embeddingType', 'cache', 'wasmModule', 'wasmUrl', 'hubUrl', 'revision']);
const SIMD_CHOICES = ['auto', 'simd128', 'relaxed'];

/** { simd128?, relaxed? }: the SIMD128 and relaxed-SIMD cores precompiled, for the choice simd makes among the
 *  package's own builds (edge runtimes, which cannot compile wasm from bytes). */
function isModuleChoice(m) {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return false;
  const keys = Object.keys(m);
  return keys.length > 0 && keys.every((k) => (k === 'simd128' || k === 'relaxed') && (m[k] === undefined || m[k] instanceof WebAssembly.Module)) &&
    keys.some((k) => m[k] !== undefined);
}

function checkLoadOptions(o) {
  if (o === null || typeof o !== 'object') throw new InvalidArgumentError('load() options must be an object');
  for (const k of Object.keys(o)) {
    if (!LOAD_OPTIONS.has(k)) throw new InvalidArgumentError(`unknown load() option ${shown(k)}; known: ${[...LOAD_OPTIONS].join(', ')}`);
  }
  if (o.dtype !== undefined && !DTYPES.includes(o.dtype)) throw new InvalidArgumentError(`dtype must be one of ${DTYPES.join(', ')}, not ${shown(o.dtype)}`);
  if (o.embeddingType !== undefined && !DTYPES.includes(o.embeddingType)) throw new InvalidArgumentError(`embeddingType must be one of ${DTYPES.join(', ')}, not ${shown(o.embeddingType)}`);
  if (o.onProgress !== undefined && o.onProgress !== null && typeof o.onProgress !== 'function') throw new InvalidArgumentError('onProgress must be a function');
  if (o.signal != null && (typeof o.signal !== 'object' || typeof o.signal.aborted !== 'boolean')) throw new InvalidArgumentError('signal must be an AbortSignal');
  if (o.worker !== undefined && typeof o.worker !== 'boolean') throw new InvalidArgumentError('worker must be true or false');
  if (o.threads !== undefined && o.threads !== 'auto' && !(Number.isInteger(o.threads) && o.threads >= 1)) throw new InvalidArgumentError(`threads must be a positive integer or 'auto', not ${shown(o.threads)}`);
  if (o.simd !== undefined && !SIMD_CHOICES.includes(o.simd)) throw new InvalidArgumentError(`simd must be one of ${SIMD_CHOICES.join(', ')}, not ${shown(o.simd)}`);
  if (o.cache !== undefined && typeof o.cache !== 'boolean' && typeof o.cache !== 'string') throw new InvalidArgumentError('cache must be true, false or a folder/cache name');
  if (o.wasmModule !== undefined && !(o.wasmModule instanceof WebAssembly.Module) && !isModuleChoice(o.wasmModule)) {
    throw new InvalidArgumentError('wasmModule must be a WebAssembly.Module or { simd128, relaxed } of WebAssembly.Modules (either may be left out)');
  }
  for (const k of ['hubUrl', 'revision']) {
    if (o[k] !== undefined && typeof o[k] !== 'string') throw new InvalidArgumentError(`${k} must be a string`);
  }
  if (o.wasmUrl !== undefined && typeof o.wasmUrl !== 'string' && !(o.wasmUrl instanceof URL)) throw new InvalidArgumentError('wasmUrl must be a string or URL');
}

function plainOptions(o, allowed, what) {
  if (o === undefined || o === null) return {};
  if (typeof o !== 'object') throw new InvalidArgumentError(`${what} options must be an object`);
  const out = {};
  for (const [k, v] of Object.entries(o)) {
    if (!allowed.includes(k)) throw new InvalidArgumentError(`unknown ${what}() option ${shown(k)}; known: ${allowed.join(', ')}`);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

// ---- backends ----

class InThreadBackend {
  constructor(platform) {
    this.platform = platform;
    this.session = { engine: null };
    this.chain = Promise.resolve();
    this.closed = false;
  }

  call(op, args, { onProgress, signal } = {}) {
    const run = () => runOp(this.session, op, args, { platform: this.platform, onProgress, signal });
    const p = this.chain.then(run).catch((e) => { throw toXlmrError(e); });
    this.chain = p.catch(() => {});
    return p;
  }

  async *exportGguf() {
    const { engine } = this.session;
    let release;
    const turn = this.chain;
    this.chain = new Promise((r) => { release = r; });
    await turn;
    try {
      yield* engine.ggufChunks();
    } finally {
      release();
    }
  }

  terminate() {
    this.closed = true;
    try { this.session.engine?.dispose(true); } catch { /* ignore */ }
    this.session.engine = null;
  }
}

class WorkerBackend {
  constructor(platform) {
    this.platform = platform;
    this.port = platform.spawnWorker();
    this.pending = new Map(); // id -> { resolve, reject, onProgress }
    this.streams = new Map(); // sid -> reader on this side
    this.data = new Map(); // id -> receiver of exported GGUF chunks
    this.nextId = 1;
    this.dead = null;
    this.port.onMessage((m) => this.#onMessage(m));
    this.port.onError((e, exited) => this.#fail(e, exited));
    this.port.unref();
  }

  #fail(e, exited) {
    if (this.dead) return;
    const msg = String(e?.message ?? e);
    this.dead = e?.code === 'ERR_WORKER_OUT_OF_MEMORY' || /out of memory/i.test(msg)
      ? new OutOfMemoryError(`the worker ran out of memory: ${msg}`)
      : new InternalError(exited ? `the model worker stopped: ${msg}` : `the model worker crashed: ${msg}`);
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
    for (const r of this.streams.values()) r.close();
    this.streams.clear();
  }

  #onMessage(m) {
    switch (m?.type) {
      case 'result': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (!this.pending.size) this.port.unref();
        if (m.ok) p.resolve(m.result);
        else p.reject(errorFromJSON(m.error));
        return;
      }
      case 'progress': {
        const p = this.pending.get(m.id);
        if (p?.onProgress) try { p.onProgress(m.ev); } catch { /* a throwing callback does not break the load */ }
        return;
      }
      case 'pull': this.#pull(m.sid); return;
      case 'cancel': {
        const r = this.streams.get(m.sid);
        this.streams.delete(m.sid);
        r?.close();
        return;
      }
      case 'data': this.data.get(m.id)?.(m.chunk); return;
      default:
    }
  }

  async #pull(sid) {
    const r = this.streams.get(sid);
    if (!r) return;
    try {
      const c = await r.next();
      if (!c) {
        this.streams.delete(sid);
        this.port.post({ type: 'chunk', sid, done: true });
        return;
      }
      const copy = c.slice(); // the chunk may be a view of the caller's buffer or a pooled one
      this.port.post({ type: 'chunk', sid, chunk: copy }, [copy.buffer]);
    } catch (e) {
      this.streams.delete(sid);
      this.port.post({ type: 'chunk', sid, error: toXlmrError(e).toJSON() });
    }
  }

  /** A byte source the worker cannot receive whole: it pulls chunks from here. */
  streamHandle(value, signal) {
    const sid = this.nextId++;
    const reader = bytesReader(value, signal);
    this.streams.set(sid, reader);
    return { handle: { __xlmrStream: sid }, total: reader.total };
  }

  call(op, args, { onProgress, signal, transfer } = {}) {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      let onAbort = null;
      const done = () => { if (onAbort) signal.removeEventListener('abort', onAbort); };
      this.pending.set(id, {
        resolve: (v) => { done(); resolve(v); },
        reject: (e) => { done(); reject(e); },
        onProgress,
      });
      if (signal) {
        // The caller's promise rejects at once; the worker stops at its next chunk (and is terminated by load()).
        onAbort = () => {
          this.port.post({ type: 'abort', id });
          const p = this.pending.get(id);
          if (p) { this.pending.delete(id); p.reject(abortError(signal)); }
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.port.ref();
      this.port.post({ type: 'call', id, op, args }, transfer ?? []);
      if (signal?.aborted) onAbort();
    });
  }

  async *exportGguf() {
    if (this.dead) throw this.dead;
    const id = this.nextId++;
    const queue = [];
    let wake = null;
    this.data.set(id, (chunk) => { queue.push(chunk); wake?.(); });
    const result = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    let finished = false;
    let failure = null;
    result.then(() => { finished = true; wake?.(); }, (e) => { failure = e; wake?.(); });
    this.port.ref();
    this.port.post({ type: 'call', id, op: 'exportGguf', args: {} });
    try {
      for (;;) {
        this.port.post({ type: 'pull', id });
        while (!queue.length && !finished && !failure) await new Promise((r) => { wake = r; });
        wake = null;
        if (failure) throw failure;
        if (queue.length) { yield queue.shift(); continue; }
        if (finished) return;
      }
    } finally {
      this.data.delete(id);
    }
  }

  terminate() {
    if (!this.dead) this.dead = new InvalidStateError('the model was disposed');
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
    for (const r of this.streams.values()) r.close();
    this.streams.clear();
    return this.port.terminate();
  }
}

// ---- the model ----

/** trim()'s corpus -> [{ name, texts }]: an array is one group named "corpus". */
function corpusGroups(corpus) {
  const groups = Array.isArray(corpus) ? [['corpus', corpus]] : corpus && typeof corpus === 'object' ? Object.entries(corpus) : null;
  if (!groups || !groups.length) throw new InvalidArgumentError('trim() needs { corpus: string[] } or { corpus: { name: string[], ... } }');
  for (const [name, texts] of groups) {
    if (!Array.isArray(texts)) throw new InvalidArgumentError(`trim(): corpus ${name} is not an array of strings`);
    for (let i = 0; i < texts.length; i++) {
      if (typeof texts[i] !== 'string') throw new InvalidArgumentError(`trim(): corpus ${name}, item ${i} is ${i in texts ? typeof texts[i] : 'a hole'}, not a string`);
    }
  }
  return groups.map(([name, texts]) => ({ name, texts }));
}

export class Model {
  #backend;
  #disposed = false;

  constructor(backend, config, info, mode, runtime) {
    this.#backend = backend;
    /** { hiddenSize, numLayers, numHeads, vocabSize, maxPositions, … } from the file. */
    this.config = Object.freeze({ ...config });
    /** How this model was loaded: { source: 'origin'|'cache', format, converted, cacheSaved, cacheDropped }. */
    this.loadInfo = Object.freeze({ ...info });
    /** 'worker' | 'in-thread' */
    this.mode = mode;
    /** Which core runs and how: { build, simd, threads, worker }. */
    this.runtime = Object.freeze({ ...runtime, worker: mode === 'worker' });
  }

  #call(op, args, extra) {
    if (this.#disposed) return Promise.reject(new InvalidStateError('this model was disposed'));
    return this.#backend.call(op, args, extra);
  }

  async fillMask(text, options) {
    const o = plainOptions(options, ['topK', 'truncation'], 'fillMask');
    if (typeof text !== 'string') throw new InvalidArgumentError('fillMask() takes a string containing <mask>');
    return this.#call('fillMask', { text, options: o });
  }

  async embed(texts, options) {
    const o = plainOptions(options, ['pooling', 'normalize', 'output', 'truncation', 'batchSize'], 'embed');
    if (typeof texts !== 'string') {
      if (!Array.isArray(texts)) throw new InvalidArgumentError('embed() takes a string or an array of strings');
      // an index loop, not every(): every() skips the holes of a sparse array
      for (let i = 0; i < texts.length; i++) {
        if (typeof texts[i] !== 'string') {
          throw new InvalidArgumentError(`embed() takes a string or an array of strings; item ${i} is ${i in texts ? typeof texts[i] : 'a hole (sparse array)'}`);
        }
      }
    }
    return this.#call('embed', { texts, options: o });
  }

  async tokenize(text, options) {
    const o = plainOptions(options, ['truncation', 'offsets'], 'tokenize');
    if (typeof text !== 'string') throw new InvalidArgumentError('tokenize() takes a string');
    return this.#call('tokenize', { text, options: o });
  }

  /** Sequence classification: see js/tasks/text-classification.js (text_classification.py's outputs). */
  async classify(inputs, options) {
    const o = plainOptions(options, ['topK', 'functionToApply', 'truncation'], 'classify');
    return this.#call('classify', { inputs, options: o });
  }

  /** A cross-encoder's scores of (query, document) pairs, sorted: [{ index, score, document? }]. */
  async rerank(query, documents, options) {
    const o = plainOptions(options, ['topK', 'returnDocuments', 'truncation', 'rawScores', 'batchSize'], 'rerank');
    return this.#call('rerank', { query, documents, options: o });
  }

  /** Zero-shot classification with an NLI head: { sequence, labels, scores }. */
  async zeroShot(text, candidateLabels, options) {
    const o = plainOptions(options, ['hypothesisTemplate', 'multiLabel'], 'zeroShot');
    return this.#call('zeroShot', { text, candidateLabels, options: o });
  }

  /** Token classification (NER): [{ entity | entity_group, score, index?, word, start, end }]. */
  async tokenClassify(text, options) {
    const o = plainOptions(options, ['aggregationStrategy', 'ignoreLabels', 'stride'], 'tokenClassify');
    return this.#call('tokenClassify', { text, options: o });
  }

  /** Extractive question answering: { score, start, end, answer } (a list when topK > 1). */
  async answer(input, options) {
    const o = plainOptions(options, ['topK', 'maxAnswerLen', 'maxSeqLen', 'docStride', 'handleImpossibleAnswer', 'alignToWords'], 'answer');
    return this.#call('answer', { input, options: o });
  }

  /**
   * A copy of this model cut down to the vocabulary of a corpus, as one GGUF file: { gguf: Uint8Array, report }.
   * corpus: texts (string[]) or named groups of them ({ de: [...], fr: [...] }; each line of a text counts as one).
   * heldOut (0.1): that share of each group (every k-th text) is not trimmed on; the report says, per group, how
   * many of those still tokenize to the same pieces. vocabSize: fill up to this many pieces with the best-scoring
   * ones of the corpus's scripts. The corpus itself always tokenizes exactly as with the full model.
   */
  async trim(options) {
    const o = plainOptions(options, ['corpus', 'vocabSize', 'heldOut'], 'trim');
    const heldOut = o.heldOut ?? 0.1;
    if (typeof heldOut !== 'number' || !(heldOut >= 0 && heldOut < 1)) throw new InvalidArgumentError(`heldOut must be a number in [0, 1), not ${shown(heldOut)}`);
    const vocabSize = o.vocabSize ?? 0;
    if (!Number.isInteger(vocabSize) || vocabSize < 0) throw new InvalidArgumentError(`vocabSize must be a non-negative integer, not ${shown(vocabSize)}`);
    const every = heldOut > 0 ? Math.max(2, Math.round(1 / heldOut)) : 0;
    const train = [], held = [];
    for (const { name, texts } of corpusGroups(o.corpus)) {
      const lines = texts.flatMap((t) => t.split('\n')).filter((t) => t.trim() !== '');
      const aside = [];
      lines.forEach((t, i) => (every && i % every === every - 1 ? aside : train).push(t));
      held.push({ name, texts: aside });
    }
    if (!train.length) throw new InvalidArgumentError('trim() needs a corpus with some text in it');
    const { gguf, report } = await this.#call('trim', { corpus: train.join('\n'), options: { vocabSize, heldOut: every ? held : [] } });
    return { gguf, report: { ...report, heldOutFraction: heldOut } };
  }

  /** The model as a GGUF file, chunk by chunk (Uint8Array; copy or write each before asking for the next). */
  exportGguf() {
    if (this.#disposed) throw new InvalidStateError('this model was disposed');
    return this.#backend.exportGguf();
  }

  /** Diagnostics: wasm memory size, open loaders (tests). */
  async stats() {
    return this.#call('stats', {});
  }

  get disposed() {
    return this.#disposed;
  }

  async dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      await this.#backend.call('dispose', {});
    } catch { /* already gone */ }
    await this.#backend.terminate();
  }
}

/** load() for one platform (node or web). `defaults` fills options (workerd: wasmModule, worker: false). */
export function makeLoad(platform, defaults = {}) {
  return async function load(source, options = {}) {
    checkLoadOptions(options);
    const o = { ...defaults, ...options };
    const { onProgress, signal } = o;
    if (signal?.aborted) throw abortError(signal);
    const useWorker = o.worker ?? platform.canSpawnWorker;
    if (useWorker && !platform.canSpawnWorker) throw new UnsupportedError('this platform has no Worker: pass { worker: false }');
    const backend = useWorker ? new WorkerBackend(platform) : new InThreadBackend(platform);
    const loadOptions = {};
    for (const k of ['dtype', 'embeddingType', 'cache', 'hubUrl', 'revision']) if (o[k] !== undefined) loadOptions[k] = o[k];
    try {
      const init = { wasmModule: o.wasmModule, wasmUrl: o.wasmUrl === undefined ? undefined : String(o.wasmUrl), threads: (o.threads ?? 'auto') === 'auto' ? autoThreads(platform.cores?.()) : o.threads, threadsRequired: o.threads !== undefined && o.threads !== 'auto', simd: o.simd ?? 'auto' };
      await backend.call('init', init);
      let src = source;
      if (useWorker) {
        // Strings, URLs and Blobs cross as they are (the worker fetches/reads them); in-memory bytes and
        // streams are pulled chunk by chunk from this thread, so nothing is cloned whole.
        if (src instanceof URL) src = src.href;
        else if (src instanceof ArrayBuffer || ArrayBuffer.isView(src) || (typeof Response !== 'undefined' && src instanceof Response) || (typeof ReadableStream !== 'undefined' && src instanceof ReadableStream)) {
          const { handle, total } = backend.streamHandle(src, signal);
          src = handle;
          loadOptions.streamTotal = total;
        }
      }
      const { config, info, runtime } = await backend.call('load', { source: src, options: loadOptions, progress: !!onProgress }, { onProgress, signal });
      if (signal?.aborted) throw abortError(signal); // aborted while the last step ran: still an abort
      return new Model(backend, config, info, useWorker ? 'worker' : 'in-thread', runtime);
    } catch (e) {
      await backend.terminate();
      throw toXlmrError(e);
    }
  };
}
