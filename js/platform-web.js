// Browser, Web Worker and edge (workerd) specifics: fetch, module Workers, the Cache API.
// No node:* imports here.

import { UnsupportedError, NetworkError, AbortError } from './errors.js';
import { Sha256 } from './sha256.js';
import { chooseBuild } from './wasm.js';
import { responseReader } from './sources.js';

const compiled = new Map();
const CACHE_ORIGIN = 'https://xlmr-wasm.cache/';

export const platform = {
  name: 'web',
  isNode: false,
  canSpawnWorker: typeof Worker === 'function',

  env() {
    return undefined;
  },

  defaultWasmUrl(threads = 1, simd = 'auto') {
    return new URL(`../dist/${chooseBuild(threads, simd)}`, import.meta.url).href;
  },

  /** Logical cores the browser reports (navigator.hardwareConcurrency; 1 where it is absent). */
  cores() {
    return globalThis.navigator?.hardwareConcurrency || 1;
  },

  /** A pool thread of the threaded build: { ready: Promise, terminate() }. */
  spawnThread(data) {
    if (typeof Worker !== 'function') throw new UnsupportedError('no Worker here for threads');
    const w = new Worker(new URL('./thread.web.js', import.meta.url), { type: 'module', name: `xlmr-wasm thread ${data.id}` });
    const ready = new Promise((resolve, reject) => {
      w.addEventListener('message', resolve, { once: true });
      w.addEventListener('error', (ev) => reject(new Error(ev.message || 'a pool thread failed to start')), { once: true });
    });
    w.postMessage(data);
    return { ready, terminate: () => w.terminate() };
  },

  async compileWasm(url) {
    const key = String(url);
    if (!compiled.has(key)) {
      const p = (async () => {
        let res;
        try {
          res = await fetch(key);
        } catch (e) {
          throw new NetworkError(`could not fetch the wasm build ${key}: ${e.message}`, { url: key, cause: e });
        }
        if (!res.ok) throw new NetworkError(`GET ${key} failed: HTTP ${res.status}`, { url: key, status: res.status });
        if (typeof WebAssembly.compileStreaming === 'function' && /application\/wasm/i.test(res.headers.get('content-type') || '')) {
          return WebAssembly.compileStreaming(res);
        }
        return WebAssembly.compile(await res.arrayBuffer()); // served without application/wasm
      })();
      compiled.set(key, p);
      p.catch(() => compiled.delete(key));
    }
    return compiled.get(key);
  },

  spawnWorker() {
    if (typeof Worker !== 'function') throw new UnsupportedError('this platform has no Worker; pass { worker: false }');
    const w = new Worker(new URL('./worker.web.js', import.meta.url), { type: 'module', name: 'xlmr-wasm' });
    return {
      post(msg, transfer) { w.postMessage(msg, transfer ?? []); },
      onMessage(fn) { w.addEventListener('message', (ev) => fn(ev.data)); },
      onError(fn) {
        w.addEventListener('error', (ev) => { ev.preventDefault?.(); fn(new Error(ev.message || 'the worker failed to start or crashed')); });
        w.addEventListener('messageerror', () => fn(new Error('a message from the worker could not be read')));
      },
      terminate() { w.terminate(); },
      ref() {},
      unref() {},
    };
  },

  sha256() {
    return new Sha256();
  },

  /** The Cache API (window and worker scopes, workerd); null where absent (silently no cache). */
  async openCache(option) {
    if (typeof caches === 'undefined' || typeof caches.open !== 'function') return null;
    let cache;
    try {
      cache = await caches.open(typeof option === 'string' && option ? option : 'xlmr-wasm');
    } catch {
      return null; // opaque origins, private modes
    }
    const url = (key) => `${CACHE_ORIGIN}${key}.gguf`;
    const plat = this;
    return {
      where: `Cache API "${typeof option === 'string' && option ? option : 'xlmr-wasm'}"`,
      async get(key, signal) {
        const res = await cache.match(url(key));
        if (!res) return null;
        let meta;
        try { meta = JSON.parse(res.headers.get('x-xlmr-meta') || 'null'); } catch { meta = null; }
        if (!meta) { await this.remove(key); return null; }
        return { meta, reader: responseReader(res, `cache entry ${key}`, signal) };
      },
      async remove(key) {
        try { await cache.delete(url(key)); } catch { /* ignore */ }
      },
      async put(key, meta, chunks, signal) {
        // The GGUF is produced in wasm memory chunk by chunk; each is copied once into the stream.
        const hash = plat.sha256();
        let size = 0;
        const it = chunks[Symbol.asyncIterator]();
        // Cache.put needs the size and hash in headers before the body, so the entry is written in two
        // steps: body under a temporary key, then re-put with the headers (Cache API bodies are disk-backed).
        const body = new ReadableStream({
          async pull(ctl) {
            if (signal?.aborted) { ctl.error(new AbortError('cache write aborted')); return; }
            const r = await it.next();
            if (r.done) { ctl.close(); return; }
            hash.update(r.value);
            size += r.value.byteLength;
            ctl.enqueue(r.value.slice());
          },
        });
        const tmpUrl = `${CACHE_ORIGIN}${key}.tmp`;
        await cache.put(tmpUrl, new Response(body, { headers: { 'content-type': 'application/octet-stream' } }));
        const full = { ...meta, size, sha256: hash.digest(), created: new Date().toISOString() };
        const stored = await cache.match(tmpUrl);
        await cache.put(url(key), new Response(stored.body, {
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(size), 'x-xlmr-meta': JSON.stringify(full) },
        }));
        await cache.delete(tmpUrl);
        return full;
      },
    };
  },
};
