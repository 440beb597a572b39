// A real HTTP server on 127.0.0.1 (random port) serving model files in the Hugging Face hub layout:
//   /{owner}/{name}/resolve/{revision}/{file}
// Path prefixes choose a behaviour, so a test points hubUrl at e.g. `${url}/_slow` or `${url}/_die=50000`:
//   _chunked        Transfer-Encoding: chunked (no Content-Length), odd-sized chunks
//   _slow           64 KiB chunks with a pause after each (also _slow=MS)
//   _truncate=N     Content-Length of the whole file, then the connection ends after N bytes (N or N%)
//   _die=N          chunked, then the socket is destroyed after N bytes (N or N%)
//   _short=N        chunked and well-formed, but only the first N bytes (N or N%): a short file
//   _corrupt=N      the byte at offset N is flipped
//   _404            every file is missing
//   _only=NAME      the behaviours above apply to the file NAME only (e.g. model.safetensors)
// /files/{path} serves registered files directly (same prefixes apply).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

const TINY = {
  'config.json': 'config.json',
  'sentencepiece.bpe.model': 'sentencepiece.bpe.model',
  'tokenizer_config.json': 'tokenizer_config.json',
  'special_tokens_map.json': 'special_tokens_map.json',
};

/** repos: { 'owner/name': { file: absolutePath } } */
export function defaultRepos() {
  const f = (name) => path.join(FIXTURES, name);
  const repo = (weights) => ({ ...Object.fromEntries(Object.entries(TINY).map(([k, v]) => [k, f(v)])), 'model.safetensors': f(weights) });
  return {
    'test/tiny': repo('model.safetensors'),
    'test/tiny-fp16': repo('model.fp16.safetensors'),
    'test/tiny-bf16': repo('model.bf16.safetensors'),
  };
}

function parseCount(v, size) {
  if (v === undefined) return undefined;
  if (v.endsWith('%')) return Math.floor((size * Number(v.slice(0, -1))) / 100);
  return Number(v);
}

export async function startServer({ repos = defaultRepos(), files = {} } = {}) {
  const log = [];
  const sockets = new Set();
  let inflight = 0;
  const server = http.createServer((req, res) => handle(req, res).catch((e) => {
    if (!res.headersSent) { res.statusCode = 500; res.end(String(e)); } else res.destroy();
  }));

  async function handle(req, res) {
    inflight++;
    res.on('close', () => { inflight--; });
    const u = new URL(req.url, 'http://x');
    let parts = u.pathname.split('/').filter(Boolean).map((x) => { try { return decodeURIComponent(x); } catch { return x; } });
    const mode = {};
    while (parts.length && parts[0].startsWith('_')) {
      const [k, v] = parts.shift().slice(1).split('=');
      mode[k] = v ?? true;
    }
    let file = null;
    if (parts[0] === 'files') {
      file = files[parts.slice(1).join('/')] ?? null;
    } else if (parts.length >= 5 && parts[2] === 'resolve') {
      const repo = repos[`${parts[0]}/${parts[1]}`];
      file = repo?.[parts.slice(4).join('/')] ?? null;
    }
    // _only=NAME: the behaviours apply to that file (by its name in the URL) and the others are served plainly.
    if (mode.only !== undefined && parts.at(-1) !== mode.only) for (const k of Object.keys(mode)) if (k !== '404') delete mode[k];
    log.push({ method: req.method, path: u.pathname, file: parts.at(-1), mode });
    if (mode['404'] || !file || !fs.existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Entry not found');
      return;
    }
    const size = fs.statSync(file).size;
    const chunked = mode.chunked || mode.die !== undefined || mode.short !== undefined;
    const headers = { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' };
    if (!chunked) headers['content-length'] = String(size);
    res.writeHead(200, headers);
    if (req.method === 'HEAD') { res.end(); return; }

    const stopAt = parseCount(mode.truncate ?? mode.die ?? mode.short, size) ?? size;
    const corruptAt = parseCount(mode.corrupt, size);
    const chunkSize = mode.chunked ? 7919 : 65536;
    const pause = mode.slow === undefined ? 0 : mode.slow === true ? 5 : Number(mode.slow);
    const fd = await fs.promises.open(file, 'r');
    try {
      let sent = 0;
      while (sent < Math.min(stopAt, size)) {
        if (res.destroyed) return;
        const n = Math.min(chunkSize, stopAt - sent);
        const buf = Buffer.alloc(n);
        const { bytesRead } = await fd.read(buf, 0, n, sent);
        if (!bytesRead) break;
        if (corruptAt !== undefined && corruptAt >= sent && corruptAt < sent + bytesRead) buf[corruptAt - sent] ^= 0xff;
        const ok = res.write(buf.subarray(0, bytesRead));
        sent += bytesRead;
        // a client that went away never drains: stop waiting when the response closes (and close the file)
        if (!ok && !res.destroyed) await new Promise((r) => { res.once('drain', r); res.once('close', r); });
        if (pause) await new Promise((r) => setTimeout(r, pause));
      }
      if (mode.die !== undefined || mode.truncate !== undefined) {
        // Give the written bytes a moment to leave, then cut the connection without a proper end.
        await new Promise((r) => setTimeout(r, 20));
        if (mode.die !== undefined) res.socket?.resetAndDestroy?.() ?? res.socket?.destroy();
        else res.socket?.end();
        return;
      }
      res.end();
    } finally {
      await fd.close();
    }
  }

  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    log,
    files,
    repos,
    /** Responses still being sent (an aborted download must not leave one behind). */
    get inflight() { return inflight; },
    async settled(ms = 2000) {
      const t0 = Date.now();
      while (inflight > 0 && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 10));
      return inflight;
    },
    /** Requests for one file name since the start (or since `from`). */
    count(name, from = 0) { return log.slice(from).filter((e) => e.file === name).length; },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** The same server in a child process: { url, close() }. */
export async function startServerProcess(repos) {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [new URL('./serve-child.mjs', import.meta.url).pathname, JSON.stringify(repos)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => { buf += d; if (buf.includes('\n')) resolve(buf.trim()); });
    child.on('exit', (code) => reject(new Error(`server process exited (${code})`)));
  });
  return {
    url,
    close: () => new Promise((resolve) => { child.on('exit', resolve); child.stdin.end(); setTimeout(() => child.kill(), 3000).unref(); }),
  };
}
