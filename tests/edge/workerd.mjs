// Running the edge example under workerd (npm `workerd`, which ships its binary) for tests: a free
// port, the process's memory from /proc, and the isolate's heap through workerd's inspector.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const EXAMPLE_DIR = path.join(ROOT, 'examples', 'edge');
export const EXAMPLE_CONFIG = path.join(EXAMPLE_DIR, 'config.capnp');

/** { bin } or { skip: 'why' }. */
export function findWorkerd() {
  if (process.env.WORKERD_BIN) {
    return fs.existsSync(process.env.WORKERD_BIN) ? { bin: process.env.WORKERD_BIN } : { skip: `WORKERD_BIN=${process.env.WORKERD_BIN} does not exist` };
  }
  let bin;
  try {
    bin = createRequire(import.meta.url)('workerd').default;
  } catch {
    return { skip: 'npm package workerd is not installed: run npm ci' };
  }
  if (!bin || !fs.existsSync(bin)) return { skip: `the workerd package has no binary for ${process.platform}-${process.arch}` };
  return { bin };
}

/** [{ name, kind, embed }] of the config's modules list. */
export function configModules(text) {
  const out = [];
  const re = /\(\s*name\s*=\s*"([^"]+)"\s*,\s*(esModule|data|wasm|text|json)\s*=\s*embed\s*"([^"]+)"\s*\)/g;
  for (let m; (m = re.exec(text));) out.push({ name: m[1], kind: m[2], embed: m[3] });
  return out;
}

/** Repository-relative paths of every module statically imported from `entry` (relative specifiers only). */
export function importGraph(entry) {
  const seen = new Set();
  const todo = [path.resolve(ROOT, entry)];
  const re = /^\s*(?:import|export)\s[^'";]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|^\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/gm;
  while (todo.length) {
    const file = todo.pop();
    const rel = path.relative(ROOT, file).split(path.sep).join('/');
    if (seen.has(rel)) continue;
    seen.add(rel);
    if (!/\.m?js$/.test(file)) continue;
    const src = fs.readFileSync(file, 'utf8');
    for (let m; (m = re.exec(src));) todo.push(path.resolve(path.dirname(file), m[1] ?? m[2]));
  }
  return [...seen].sort();
}

export async function freePort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** VmRSS / VmHWM (peak) of a process in bytes, from /proc (Linux); null elsewhere. */
export function procMemory(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return null;
  }
}

/**
 * Starts `workerd serve config` on 127.0.0.1 with an inspector (and `args`, e.g. `--directory-path models=DIR`);
 * resolves once the HTTP socket answers.
 * Returns { url, inspectorPort, pid, log(), stop() }.
 */
export async function startWorkerd(bin, configPath, { timeoutMs = 30_000, args = [] } = {}) {
  const port = await freePort();
  const inspectorPort = await freePort();
  // cwd: the example's disk service names models/tiny relative to the working directory.
  const child = spawn(bin, ['serve', configPath, `--socket-addr=http=127.0.0.1:${port}`, `--inspector-addr=127.0.0.1:${inspectorPort}`, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT,
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    // workerd may wait for open connections (the inspector) before exiting on SIGTERM.
    const t = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 2000);
    await gone;
    clearTimeout(t);
  };
  const t0 = Date.now();
  for (;;) {
    if (exited) throw new Error(`workerd exited (${exited.code ?? exited.signal}) before serving:\n${output}`);
    if (Date.now() - t0 > timeoutMs) { await stop(); throw new Error(`workerd did not listen within ${timeoutMs} ms:\n${output}`); }
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, inspectorPort, pid: child.pid, log: () => output, stop };
}

/**
 * The isolate's V8 heap (Runtime.getHeapUsage through the inspector): { usedSize, totalSize,
 * embedderHeapUsedSize, backingStorageSize } in bytes. Runs a helper in a child Node (Node 20 has
 * WebSocket only behind a flag); null when that fails.
 */
export async function isolateHeap(inspectorPort, { timeoutMs = 10_000 } = {}) {
  const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), 'heap-usage.mjs');
  const args = typeof WebSocket === 'function' ? [] : ['--experimental-websocket'];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...args, helper, String(inspectorPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      try { resolve(code === 0 ? JSON.parse(out) : null); } catch { resolve(null); }
    });
  });
}

/** POST JSON, answer { status, body }. */
export async function postJson(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  let parsed;
  try { parsed = JSON.parse(text); } catch { parsed = text; }
  return { status: res.status, body: parsed };
}

/**
 * An HTTP server on 127.0.0.1 standing in for object storage: GET /<name> serves the file <dir>/<name> with its
 * Content-Length (and R2's get, as workerd's r2Bucket binding sends it, the object <name>), in `chunkBytes` pieces `chunkDelayMs` apart (a slow link, so concurrent requests overlap).
 * `breakNext(n)`: the next n GETs send the headers and half the file, then cut the connection.
 * `requests` counts GETs by path. Returns { address: '127.0.0.1:PORT', requests, breakNext, close }.
 */
export async function modelServer(dir, { chunkBytes = 1 << 16, chunkDelayMs = 0 } = {}) {
  const requests = new Map();
  let toBreak = 0;
  const server = http.createServer(async (req, res) => {
    // workerd's R2 binding (an r2Bucket binding to this service) sends its operation as JSON in cf-r2-request.
    const r2 = req.headers['cf-r2-request'] ? JSON.parse(req.headers['cf-r2-request']) : null;
    const name = r2 ? String(r2.object ?? '') : decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '');
    const file = path.join(dir, name);
    const found = req.method === 'GET' && !name.includes('..') && (!r2 || r2.method === 'get') && fs.existsSync(file);
    if (!found) {
      const error = JSON.stringify({ version: 0, v4code: 10007, message: 'The specified key does not exist.' });
      res.writeHead(404, r2 ? { 'cf-r2-error': error } : {}).end();
      return;
    }
    requests.set(name, (requests.get(name) ?? 0) + 1);
    const size = fs.statSync(file).size;
    const cut = toBreak > 0 ? (toBreak--, Math.floor(size / 2)) : size;
    // R2's answer: the object's metadata (R2HeadResponse as JSON, cf-r2-metadata-size bytes), then its bytes.
    const meta = r2 ? Buffer.from(JSON.stringify({ name, version: '1', size: String(size), etag: 'e', uploaded: String(Date.now()), httpFields: {}, customFields: [] })) : Buffer.alloc(0);
    res.writeHead(200, {
      'content-type': 'application/octet-stream', 'content-length': String(meta.length + size),
      ...(r2 ? { 'cf-r2-metadata-size': String(meta.length) } : {}),
    });
    if (meta.length) res.write(meta);
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(chunkBytes);
      for (let off = 0; off < cut && !res.destroyed;) {
        const n = fs.readSync(fd, buf, 0, Math.min(chunkBytes, cut - off), off);
        off += n;
        if (!res.write(Buffer.from(buf.subarray(0, n)))) await new Promise((r) => res.once('drain', r));
        if (chunkDelayMs) await new Promise((r) => setTimeout(r, chunkDelayMs));
      }
    } finally {
      fs.closeSync(fd);
    }
    if (cut < size) res.destroy(); else res.end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${server.address().port}`,
    requests,
    breakNext(n = 1) { toBreak = n; },
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

/**
 * The example's config (or `base`) written to `file` with its embeds relative to the new folder, the module paths
 * in `replace` ({ absolute path embedded: absolute path instead }) swapped, MODEL_KEY set to `modelKey`, and with
 * `modelsAddress` the disk service "models" replaced by an external HTTP service at that address; `r2`: MODELS bound
 * as an R2 bucket backed by that service (workerd's r2Bucket binding) instead of a service binding.
 */
export function writeConfig(file, { base = EXAMPLE_CONFIG, replace = {}, modelKey, modelsAddress, r2 = false } = {}) {
  const dir = path.dirname(file);
  const rel = (p) => path.relative(dir, p).split(path.sep).join('/');
  let text = fs.readFileSync(base, 'utf8').replace(/embed\s*"([^"]+)"/g, (_, p) => {
    const abs = path.resolve(path.dirname(base), p);
    return `embed "${rel(replace[abs] ?? abs)}"`;
  });
  if (modelKey !== undefined) {
    const before = text;
    text = text.replace(/\(name = "MODEL_KEY", text = "[^"]*"\)/, `(name = "MODEL_KEY", text = ${JSON.stringify(modelKey)})`);
    if (text === before) throw new Error(`${base} has no MODEL_KEY binding`);
  }
  if (r2) {
    const before = text;
    text = text.replace('(name = "MODELS", service = "models")', '(name = "MODELS", r2Bucket = "models")');
    if (text === before) throw new Error(`${base} has no MODELS service binding`);
  }
  if (modelsAddress !== undefined) {
    const before = text;
    text = text.replace(/\(name = "models", disk = \([^)]*\)\)/, `(name = "models", external = (address = "${modelsAddress}", http = ()))`);
    if (text === before) throw new Error(`${base} has no disk service "models"`);
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}
