// A stand-in for the wasm exports of src/xlmr.h with a toy file format, to test the JS loading loop
// (chunk copying, partial rooms, truncation, extra bytes, aborts, leaks) independently of the real core.
// Toy file: "TOYM" + u32 LE payload length + payload. The loader hands out room in slices of at most
// `slice` bytes, like a real loader moving between tensors. Memory is a real WebAssembly.Memory.

export function toyFile(payloadBytes, fill = (i) => (i * 31 + 7) & 255) {
  const out = new Uint8Array(8 + payloadBytes);
  out.set([0x54, 0x4f, 0x59, 0x4d]);
  new DataView(out.buffer).setUint32(4, payloadBytes, true);
  for (let i = 0; i < payloadBytes; i++) out[8 + i] = fill(i);
  return out;
}

export function fakeCore({ slice = 50000, trapAt = -1, trapKind = 'grow' } = {}) {
  let trap = trapAt;
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 4096 });
  let top = 1024;
  const blocks = new Map(); // ptr -> size (live allocations)
  const free = []; // reusable blocks [ptr, size]
  const enc = new TextEncoder();
  const loaders = new Map();
  const models = new Map();
  let nextHandle = 1;

  function alloc(n) {
    n = (n + 15) & ~15;
    const i = free.findIndex(([, s]) => s >= n);
    if (i >= 0) { const [p, s] = free.splice(i, 1)[0]; blocks.set(p, s); return p; }
    while (top + n > memory.buffer.byteLength) {
      try { memory.grow(Math.ceil((top + n - memory.buffer.byteLength) / 65536)); } catch { return 0; }
    }
    const p = top; top += n; blocks.set(p, n); return p;
  }
  function dealloc(p) { if (!p) return; const s = blocks.get(p); if (s === undefined) throw new Error(`double free ${p}`); blocks.delete(p); free.push([p, s]); }
  function cstr(s) { const b = enc.encode(s + '\0'); const p = alloc(b.length); new Uint8Array(memory.buffer).set(b, p); return p; }

  const exports = {
    memory,
    xlmr_alloc: alloc,
    xlmr_free: dealloc,
    xlmr_loader_new(dtype) {
      const h = nextHandle++;
      const hdr = alloc(8);
      loaders.set(h, { hdr, block: 0, received: 0, total: 0, status: 0, err: 0, config: false });
      return h;
    },
    xlmr_loader_set_config(h) { loaders.get(h).config = true; return 0; },
    xlmr_loader_set_tokenizer() { return 0; },
    xlmr_loader_dest(h) {
      const L = loaders.get(h);
      return L.received < 8 ? L.hdr + L.received : L.block + (L.received - 8);
    },
    xlmr_loader_room(h) {
      const L = loaders.get(h);
      if (L.status) return 0;
      if (L.received < 8) return 8 - L.received;
      const left = L.total - L.received;
      const inSlice = slice - ((L.received - 8) % slice);
      return Math.min(left, inSlice);
    },
    xlmr_loader_commit(h, n) {
      const L = loaders.get(h);
      if (trap >= 0 && L.received + n > trap) {
        trap = -1; // once: what V8 throws when a wasm memory cannot grow any more, or a real trap
        if (trapKind === 'unreachable') throw new WebAssembly.RuntimeError('unreachable');
        throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
      }
      const room = exports.xlmr_loader_room(h);
      if (n > room) { L.status = 5; L.err = cstr(`commit of ${n} bytes with room ${room}`); return 5; }
      L.received += n;
      if (L.received === 8 && !L.block) {
        const u8 = new Uint8Array(memory.buffer, L.hdr, 8);
        if (u8[0] !== 0x54 || u8[1] !== 0x4f || u8[2] !== 0x59 || u8[3] !== 0x4d) {
          L.status = 1; L.err = cstr('not a toy model: bad magic'); return 1;
        }
        const len = new DataView(memory.buffer).getUint32(L.hdr + 4, true);
        L.total = 8 + len;
        L.block = alloc(Math.max(len, 1));
        if (!L.block) { L.status = 2; L.err = cstr(`cannot allocate ${len} bytes`); return 2; }
      }
      return 0;
    },
    xlmr_loader_total(h) { return loaders.get(h).total; },
    xlmr_loader_received(h) { return loaders.get(h).received; },
    xlmr_loader_status(h) { return loaders.get(h).status; },
    xlmr_loader_error(h) { return loaders.get(h).err; },
    xlmr_loader_finish(h) {
      const L = loaders.get(h);
      if (L.status) return 0;
      if (L.received < 8 || L.received < L.total) { L.status = 1; L.err = cstr(`truncated: ${L.received} of ${L.total} bytes`); return 0; }
      let sum = 0;
      const u8 = new Uint8Array(memory.buffer, L.block, L.total - 8);
      for (let i = 0; i < u8.length; i++) sum = (sum * 31 + u8[i]) >>> 0;
      const m = nextHandle++;
      models.set(m, { block: L.block, sum, info: cstr(JSON.stringify({ hiddenSize: 4, numLayers: 1, numHeads: 1, vocabSize: 10, maxPositions: 514, checksum: sum, bytes: L.total - 8 })) });
      L.block = 0;
      return m;
    },
    xlmr_loader_free(h) {
      const L = loaders.get(h);
      if (!L) return;
      dealloc(L.hdr); dealloc(L.block); dealloc(L.err);
      loaders.delete(h);
    },
    xlmr_model_free(m) { const M = models.get(m); if (!M) return; dealloc(M.block); dealloc(M.info); models.delete(m); },
    xlmr_model_error() { return 0; },
    xlmr_model_info_json(m) { return models.get(m).info; },
  };
  return {
    exports,
    memory,
    get liveBlocks() { return blocks.size; },
    get liveLoaders() { return loaders.size; },
    get liveModels() { return models.size; },
  };
}
