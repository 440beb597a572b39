// Node specifics: files, worker_threads, the cache folder, sha256 from node:crypto.
// Everything that touches node:* lives here so browser bundles never see it.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FileError, AbortError, abortError } from './errors.js';
import { chooseBuild } from './wasm.js';

const CHUNK = 1 << 20;

function expandHome(p) {
  return p === '~' || p.startsWith('~/') || p.startsWith('~\\') ? path.join(os.homedir(), p.slice(1)) : p;
}

function toPath(p) {
  return /^file:\/\//i.test(p) ? fileURLToPath(p) : path.resolve(expandHome(p));
}

function fileError(e, p) {
  if (e?.code === 'ENOENT') return new FileError(`no such file or folder: ${p}`, { cause: e });
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return new FileError(`permission denied: ${p}`, { cause: e });
  if (e?.code === 'EISDIR') return new FileError(`${p} is a folder, expected a file`, { cause: e });
  return new FileError(`cannot read ${p}: ${e?.message ?? e}`, { cause: e });
}

const compiled = new Map();

export const platform = {
  name: 'node',
  isNode: true,
  canSpawnWorker: true,

  env(name) {
    const v = process.env[name];
    return v === '' ? undefined : v;
  },

  pathExists(p) {
    try { return fs.existsSync(toPath(p)); } catch { return false; }
  },

  resolvePath: toPath,

  /** { kind: 'file' | 'dir', size, mtimeMs, path } */
  async stat(p) {
    const abs = toPath(p);
    try {
      const st = await fsp.stat(abs);
      return { kind: st.isDirectory() ? 'dir' : 'file', size: st.size, mtimeMs: st.mtimeMs, path: abs };
    } catch (e) {
      throw fileError(e, abs);
    }
  },

  async listDir(p) {
    try { return await fsp.readdir(toPath(p)); } catch (e) { throw fileError(e, toPath(p)); }
  },

  joinPath: (...parts) => path.join(...parts),

  /** A local file -> reader with readInto (reads go straight into the given view, e.g. wasm memory). */
  async openFile(p, signal) {
    const abs = toPath(p);
    let fh;
    try {
      fh = await fsp.open(abs, 'r');
    } catch (e) {
      throw fileError(e, abs);
    }
    const size = (await fh.stat()).size;
    let pos = 0;
    let closed = false;
    const check = () => { if (signal?.aborted) throw abortError(signal); };
    return {
      label: abs,
      total: size,
      get received() { return pos; },
      async readInto(u8) {
        check();
        if (closed) return 0;
        const { bytesRead } = await fh.read(u8, 0, Math.min(u8.byteLength, CHUNK * 4), null);
        pos += bytesRead;
        if (bytesRead === 0 && pos !== size) throw new FileError(`${abs} ended after ${pos} bytes but its size was ${size}; was it changed while loading?`);
        return bytesRead;
      },
      async next() {
        check();
        if (closed) return null;
        const buf = new Uint8Array(CHUNK);
        const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
        pos += bytesRead;
        return bytesRead ? buf.subarray(0, bytesRead) : null;
      },
      async close() {
        if (closed) return;
        closed = true;
        await fh.close().catch(() => {});
      },
    };
  },

  /** The default build next to this file (dist/ beside js/), compiled once per thread. */
  defaultWasmUrl(threads = 1, simd = 'auto') {
    return new URL(`../dist/${chooseBuild(threads, simd)}`, import.meta.url).href;
  },

  /** Logical cores this process may use (os.availableParallelism, Node 18.14+). */
  cores() {
    return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  },

  /** A pool thread of the threaded build: { ready: Promise, terminate() }. */
  spawnThread(data) {
    const w = new Worker(new URL('./thread.node.js', import.meta.url), { workerData: data });
    w.unref();
    const ready = new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    return { ready, terminate: () => w.terminate() };
  },

  async compileWasm(url) {
    const key = String(url);
    if (!compiled.has(key)) {
      const p = (async () => {
        const file = /^file:/i.test(key) ? fileURLToPath(key) : key;
        let bytes;
        try {
          bytes = await fsp.readFile(file);
        } catch (e) {
          throw new FileError(`cannot read the wasm build ${file} (run make to build dist/): ${e.message}`, { cause: e });
        }
        return WebAssembly.compile(bytes);
      })();
      compiled.set(key, p);
      p.catch(() => compiled.delete(key));
    }
    return compiled.get(key);
  },

  /** A worker running js/worker.node.js, behind the small port interface the proxy uses. */
  spawnWorker() {
    const w = new Worker(new URL('./worker.node.js', import.meta.url));
    return {
      post(msg, transfer) { w.postMessage(msg, transfer); },
      onMessage(fn) { w.on('message', fn); },
      onError(fn) {
        w.on('error', (e) => fn(e));
        w.on('exit', (code) => fn(new Error(`the worker exited (code ${code})`), true));
      },
      terminate() { return w.terminate(); },
      ref() { w.ref(); },
      unref() { w.unref(); },
    };
  },

  sha256() {
    const h = crypto.createHash('sha256');
    return { update(b) { h.update(b); return this; }, digest() { return h.digest('hex'); } };
  },

  /** Cache folder: option string, else $XDG_CACHE_HOME/xlmr-wasm, else ~/.cache/xlmr-wasm. */
  cacheDir(option) {
    if (typeof option === 'string' && option) return toPath(option);
    const xdg = this.env('XDG_CACHE_HOME');
    return path.join(xdg ? toPath(xdg) : path.join(os.homedir(), '.cache'), 'xlmr-wasm');
  },

  async openCache(option) {
    return nodeCache(this.cacheDir(option), this);
  },
};

// ---- the cache folder: <key>.gguf + <key>.json {source, dtype, size, sha256, created} ----

function nodeCache(dir, plat) {
  const files = (key) => ({ data: path.join(dir, `${key}.gguf`), meta: path.join(dir, `${key}.json`) });
  return {
    where: dir,
    async get(key, signal) {
      const f = files(key);
      let meta;
      try {
        meta = JSON.parse(await fsp.readFile(f.meta, 'utf8'));
      } catch {
        return null;
      }
      let reader;
      try {
        reader = await plat.openFile(f.data, signal);
      } catch {
        await this.remove(key);
        return null;
      }
      return { meta, reader };
    },
    async remove(key) {
      const f = files(key);
      await fsp.rm(f.meta, { force: true }).catch(() => {});
      await fsp.rm(f.data, { force: true }).catch(() => {});
    },
    /** chunks: async iterable of Uint8Array (views into wasm memory: written before the next is asked for). */
    async put(key, meta, chunks, signal) {
      const f = files(key);
      await fsp.mkdir(dir, { recursive: true });
      const tmp = `${f.data}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
      const hash = plat.sha256();
      let size = 0;
      const fh = await fsp.open(tmp, 'w');
      try {
        for await (const c of chunks) {
          if (signal?.aborted) throw new AbortError('cache write aborted');
          hash.update(c);
          let off = 0;
          while (off < c.byteLength) {
            const { bytesWritten } = await fh.write(c, off, c.byteLength - off);
            off += bytesWritten;
          }
          size += c.byteLength;
        }
        await fh.close();
      } catch (e) {
        await fh.close().catch(() => {});
        await fsp.rm(tmp, { force: true }).catch(() => {});
        throw e;
      }
      const full = { ...meta, size, sha256: hash.digest(), created: new Date().toISOString() };
      await fsp.rename(tmp, f.data);
      await fsp.writeFile(f.meta, JSON.stringify(full, null, 2) + '\n');
      return full;
    },
  };
}
