// A core run that needs nothing but WebAssembly (no fetch, Worker, TextEncoder, console), so that a bare engine
// shell — JavaScriptCore's `jsc`, Safari's engine — and Node compute the same things from the same bytes
// (tests/engines/jsc.test.mjs compares them). Synchronous: the module, the model loaded through the streaming
// loader in 64 KiB pieces, then per input text its ids, hidden states (T, H) and, for a text with <mask>, the top 5.

/** UTF-8 bytes of a string (surrogate pairs joined; a lone surrogate as U+FFFD, as TextEncoder does). */
export function utf8(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
    } else if (c >= 0xd800 && c < 0xe000) {
      c = 0xfffd;
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

function cstr(x, ptr) {
  const u8 = new Uint8Array(x.memory.buffer);
  let end = ptr, s = '';
  while (u8[end]) end++;
  for (let i = ptr; i < end; i++) s += String.fromCharCode(u8[i]); // ASCII: JSON and error messages
  return s;
}

/** The core's exports: a fresh instance, every import a stub (the core calls none on these paths). */
export function instantiateCore(wasmBytes) {
  const module = new WebAssembly.Module(wasmBytes);
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') throw new Error(`the core imports a ${imp.kind} (${imp.module}.${imp.name}): a threaded build?`);
    (imports[imp.module] ??= {})[imp.name] = () => 52; // WASI ENOSYS
  }
  const x = new WebAssembly.Instance(module, imports).exports;
  x._initialize?.();
  return x;
}

function put(x, bytes) {
  const p = x.xlmr_alloc(Math.max(1, bytes.length));
  if (!p) throw new Error('xlmr_alloc failed');
  new Uint8Array(x.memory.buffer).set(bytes, p);
  return p;
}

/** A model from { dtype, config (JSON bytes), tokenizer (.model bytes), weights (GGUF or safetensors bytes) }. */
export function loadModel(x, { dtype = 0, config, tokenizer, weights }) {
  const ld = x.xlmr_loader_new(dtype);
  const fail = (what) => new Error(`${what}: ${cstr(x, x.xlmr_loader_error(ld))}`);
  for (const [bytes, setter] of [[config, 'xlmr_loader_set_config'], [tokenizer, 'xlmr_loader_set_tokenizer']]) {
    if (!bytes) continue;
    const p = put(x, bytes);
    const st = x[setter](ld, p, bytes.length);
    x.xlmr_free(p);
    if (st !== 0) throw fail(setter);
  }
  for (let off = 0; off < weights.length;) {
    const room = x.xlmr_loader_room(ld);
    if (!room) break;
    const n = Math.min(room, 65536, weights.length - off);
    new Uint8Array(x.memory.buffer).set(weights.subarray(off, off + n), x.xlmr_loader_dest(ld));
    if (x.xlmr_loader_commit(ld, n) !== 0) throw fail('xlmr_loader_commit');
    off += n;
  }
  const m = x.xlmr_loader_finish(ld);
  if (!m) throw fail('xlmr_loader_finish');
  x.xlmr_loader_free(ld);
  return m;
}

/** Per input { text, maxLength } (ids truncated to maxLength when > 0): { ids, hidden: (T · H) numbers, fill:
 *  [{ id, score }] for a text with <mask> }. */
export function runTexts(x, m, inputs) {
  const info = JSON.parse(cstr(x, x.xlmr_model_info_json(m)));
  const H = info.hiddenSize;
  return inputs.map(({ text, maxLength = 0 }) => {
    const bytes = utf8(text), p = put(x, bytes);
    const T = x.xlmr_tokenize(m, p, bytes.length, maxLength);
    x.xlmr_free(p);
    if (T < 0) throw new Error(`xlmr_tokenize: status ${-T}`);
    const ids = Array.from(new Int32Array(x.memory.buffer, x.xlmr_result_ids(m), T));
    const pIds = x.xlmr_alloc(4 * T), pLen = x.xlmr_alloc(4), pOut = x.xlmr_alloc(4 * T * H);
    new Int32Array(x.memory.buffer, pIds, T).set(ids);
    new Int32Array(x.memory.buffer, pLen, 1)[0] = T;
    const st = x.xlmr_embed(m, pIds, pLen, 1, T, 0, 0, pOut);
    if (st !== 0) throw new Error(`xlmr_embed: ${cstr(x, x.xlmr_model_error(m))}`);
    const hidden = Array.from(new Float32Array(x.memory.buffer, pOut, T * H));
    const out = { ids, hidden };
    if (text.includes('<mask>')) {
      const k = 5, pTop = x.xlmr_alloc(4 * k * T), pScore = x.xlmr_alloc(4 * k * T);
      const n = x.xlmr_fill_mask(m, pIds, T, k, pTop, pScore);
      if (n < 0) throw new Error(`xlmr_fill_mask: status ${-n}`);
      const top = new Int32Array(x.memory.buffer, pTop, n * k), score = new Float32Array(x.memory.buffer, pScore, n * k);
      out.fill = Array.from(top, (id, i) => ({ id, score: score[i] }));
      x.xlmr_free(pTop);
      x.xlmr_free(pScore);
    }
    for (const q of [pIds, pLen, pOut]) x.xlmr_free(q);
    return out;
  });
}

/** Everything one engine computes: the build's instruction set, and per source its texts' results. */
export function runCore(wasmBytes, sources, inputs) {
  const x = instantiateCore(wasmBytes);
  const out = { simd: cstr(x, x.xlmr_build_simd()), sources: {} };
  for (const [name, src] of Object.entries(sources)) {
    const m = loadModel(x, src);
    out.sources[name] = runTexts(x, m, inputs);
    x.xlmr_model_free(m);
  }
  return out;
}
