// Running the edge example under workerd (npm `workerd`, which ships its binary) for tests: a free
// port, the process's memory from /proc, and the isolate's heap through workerd's inspector.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
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
 * Starts `workerd serve config` on 127.0.0.1 with an inspector; resolves once the HTTP socket answers.
 * Returns { url, inspectorPort, pid, log(), stop() }.
 */
export async function startWorkerd(bin, configPath, { timeoutMs = 30_000 } = {}) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const child = spawn(bin, ['serve', configPath, `--socket-addr=http=127.0.0.1:${port}`, `--inspector-addr=127.0.0.1:${inspectorPort}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
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
