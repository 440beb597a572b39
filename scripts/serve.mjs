#!/usr/bin/env node
// Dev server for the demo page: web/, the package (js/, dist/) and the bundled tiny model, on 127.0.0.1.
//
//   npm start                       http://127.0.0.1:8080/web/  cross-origin isolated (COOP + COEP): threads may run
//   npm start -- --no-isolation     same, without COOP/COEP (no SharedArrayBuffer: single-threaded builds)
//   npm start -- --port 0           any free port (the URL is printed)
//   npm start -- --throttle 2       cap model downloads at 2 MB/s (to watch the progress bar)
// Environment: PORT, XLMR_NO_ISOLATION=1, XLMR_THROTTLE_MBPS.
//
// What is served (nothing else of the repository is reachable):
//   /web/…, /js/…, /dist/…, /models/…   those folders
//   /fixtures/…                          tests/fixtures (the tiny random-weight test model, a Hugging Face-style folder)
//   /hub/{owner}/{name}/resolve/{rev}/{file}
//                                        a local stand-in for a model hub, so hub ids load offline:
//                                        `xlmr-wasm/tiny-random` is tests/fixtures; `xlmr-wasm/tiny-{head}` (sentiment,
//                                        topics, stars, reranker, nli, ner, qa, m3, bert-sentiment) is the fixture
//                                        encoder (as a BertModel for bert-sentiment) with that task head,
//                                        assembled as tests/node/helpers/head-models.mjs does (in memory,
//                                        from tests/fixtures/heads/{head}/); `{owner}/{name}` is also looked up as
//                                        models/{owner}/{name}/ and models/{name}/.
// `import { createServer } from './scripts/serve.mjs'` gives the same server to tests.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Readable } from 'node:stream';
import { readSafetensors, writeSafetensors, asBertModel } from '../tests/node/helpers/head-models.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const MOUNTS = {
  web: 'web',
  js: 'js',
  dist: 'dist',
  models: 'models',
  fixtures: 'tests/fixtures',
};

/** Hub ids answered from local folders. */
export const LOCAL_HUB = { 'xlmr-wasm/tiny-random': 'tests/fixtures' };

/** Hub ids of the tiny task-head models: xlmr-wasm/tiny-{head} for each folder of tests/fixtures/heads/. */
export const HEAD_MODELS = fs.existsSync(path.join(ROOT, 'tests', 'fixtures', 'heads'))
  ? fs.readdirSync(path.join(ROOT, 'tests', 'fixtures', 'heads')).filter((h) => fs.existsSync(path.join(ROOT, 'tests', 'fixtures', 'heads', h, 'head.safetensors')))
  : [];
const headWeights = new Map();

/** A head model's file as bytes (model.safetensors: the fixture encoder's roberta.* tensors plus the head's), or null. */
function headModelFile(head, file) {
  const dir = path.join(ROOT, 'tests', 'fixtures', 'heads', head);
  if (file === 'config.json') return fs.readFileSync(path.join(dir, 'config.json'));
  if (file === 'sentencepiece.bpe.model') return fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'sentencepiece.bpe.model'));
  if (file !== 'model.safetensors') return null;
  if (!headWeights.has(head)) {
    const encoder = readSafetensors(path.join(ROOT, 'tests', 'fixtures', 'model.safetensors'));
    for (const k of Object.keys(encoder)) if (!k.startsWith('roberta.')) delete encoder[k];
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const tensors = cfg.model_type === 'bert' ? asBertModel(encoder, cfg) : encoder; // a BertModel-layout head fixture
    headWeights.set(head, writeSafetensors({ ...tensors, ...readSafetensors(path.join(dir, 'head.safetensors')) }));
  }
  return headWeights.get(head);
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.jsonl': 'application/x-ndjson; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

function contentType(file) {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

function isolationHeaders(isolated) {
  const h = { 'Cross-Origin-Resource-Policy': 'same-origin' };
  if (isolated) {
    h['Cross-Origin-Opener-Policy'] = 'same-origin';
    h['Cross-Origin-Embedder-Policy'] = 'require-corp';
  }
  return h;
}

/** Inside `base` or null: no `..` escapes, no symlink tricks beyond what the tree holds. */
function resolveInside(base, rel) {
  const abs = path.resolve(ROOT, base, '.' + path.posix.normalize('/' + rel));
  const top = path.resolve(ROOT, base);
  return abs === top || abs.startsWith(top + path.sep) ? abs : null;
}

function hubFolder(owner, name) {
  const id = `${owner}/${name}`;
  if (LOCAL_HUB[id]) return LOCAL_HUB[id];
  for (const rel of [`models/${owner}/${name}`, `models/${name}`]) {
    const abs = resolveInside('models', rel.slice('models/'.length));
    if (abs && fs.existsSync(abs) && fs.statSync(abs).isDirectory()) return rel;
  }
  return null;
}

/** URL path -> absolute file path, or null when it maps to nothing servable. */
export function mapPath(urlPath) {
  let p;
  try { p = decodeURIComponent(urlPath); } catch { return null; }
  if (p.includes('\0')) return null;
  const hub = /^\/hub\/([^/]+)\/([^/]+)\/resolve\/[^/]+\/(.+)$/.exec(p);
  if (hub) {
    const folder = hubFolder(hub[1], hub[2]);
    return folder ? resolveInside(folder, hub[3]) : null;
  }
  const m = /^\/([^/]+)(\/.*)?$/.exec(p);
  if (!m || !MOUNTS[m[1]]) return null;
  let abs = resolveInside(MOUNTS[m[1]], m[2] ?? '/');
  if (!abs) return null;
  if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) abs = path.join(abs, 'index.html');
  return abs;
}

/** A readable that releases at most `bytesPerSecond` (smooth enough for a progress bar). */
function throttled(src, res, bytesPerSecond) {
  const slice = Math.max(1024, Math.floor(bytesPerSecond / 20));
  let buf = Buffer.alloc(0);
  let ended = false;
  let timer = null;
  const pump = () => {
    timer = null;
    if (buf.length) {
      const out = buf.subarray(0, slice);
      buf = buf.subarray(out.length);
      res.write(out);
    }
    if (buf.length) timer = setTimeout(pump, 50);
    else if (ended) res.end();
    else src.resume();
  };
  src.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    src.pause();
    if (!timer) timer = setTimeout(pump, 50);
  });
  src.on('end', () => { ended = true; if (!timer && !buf.length) res.end(); });
  src.on('error', () => res.destroy());
  res.on('close', () => { clearTimeout(timer); src.destroy(); });
}

/**
 * The demo server. Options: isolated (COOP/COEP, default true), throttleBytesPerSecond (0 = off),
 * log (a function called with one line per request, default none).
 */
export function createServer({ isolated = true, throttleBytesPerSecond = 0, log = null } = {}) {
  return http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const headers = { ...isolationHeaders(isolated), 'Cache-Control': 'no-store' };
    const done = (status, body, extra = {}) => {
      res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
      log?.(`${status} ${req.method} ${url.pathname}`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return done(405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    if (url.pathname === '/' || url.pathname === '/index.html') return done(302, 'see /web/\n', { Location: '/web/' });
    if (url.pathname === '/favicon.ico') return done(204, '');
    if (/^\/(web|js|dist|models|fixtures)$/.test(url.pathname)) {
      return done(301, '', { Location: url.pathname + '/' });
    }
    const headFile = /^\/hub\/xlmr-wasm\/tiny-([a-z][a-z0-9-]*)\/resolve\/[^/]+\/([^/]+)$/.exec(url.pathname);
    if (headFile && HEAD_MODELS.includes(headFile[1])) {
      const bytes = headModelFile(headFile[1], headFile[2]);
      if (!bytes) return done(404, `not found: ${url.pathname}\n`);
      res.writeHead(200, { ...headers, 'Content-Type': contentType(headFile[2]), 'Content-Length': bytes.length });
      log?.(`200 ${req.method} ${url.pathname} ${bytes.length}`);
      if (req.method === 'HEAD') return res.end();
      if (throttleBytesPerSecond > 0 && bytes.length > 64 * 1024) return throttled(Readable.from([bytes]), res, throttleBytesPerSecond);
      return res.end(bytes);
    }
    const file = mapPath(url.pathname);
    let stat;
    try { stat = file && fs.statSync(file); } catch { stat = null; }
    if (!stat || !stat.isFile()) return done(404, `not found: ${url.pathname}\n`);

    res.writeHead(200, { ...headers, 'Content-Type': contentType(file), 'Content-Length': stat.size });
    log?.(`200 ${req.method} ${url.pathname} ${stat.size}`);
    if (req.method === 'HEAD') return res.end();
    const src = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
    const slow = throttleBytesPerSecond > 0 && stat.size > 64 * 1024;
    if (slow) throttled(src, res, throttleBytesPerSecond);
    else src.pipe(res);
  });
}

/** Starts listening on 127.0.0.1; resolves to { server, url }. */
export async function listen(server, port = 0) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

function parseArgs(argv, env) {
  const opts = {
    port: Number(env.PORT ?? 8080),
    isolated: !/^(1|true|yes)$/i.test(env.XLMR_NO_ISOLATION ?? ''),
    throttleMBps: Number(env.XLMR_THROTTLE_MBPS ?? 0),
    quiet: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--no-isolation') opts.isolated = false;
    else if (a === '--isolation') opts.isolated = true;
    else if (a === '--port' || a.startsWith('--port=')) opts.port = Number(value());
    else if (a === '--throttle' || a.startsWith('--throttle=')) opts.throttleMBps = Number(value());
    else if (a === '--quiet') opts.quiet = true;
    else if (a === '--help' || a === '-h') opts.help = true;
    else throw new Error(`unknown option ${a} (try --help)`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error(`bad port ${opts.port}`);
  if (!(opts.throttleMBps >= 0)) throw new Error(`bad --throttle ${opts.throttleMBps} (MB/s)`);
  return opts;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2), process.env);
  } catch (e) {
    console.error(`serve: ${e.message}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log('usage: npm start -- [--port N] [--no-isolation] [--throttle MBps] [--quiet]');
    return;
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'xlmr.wasm'))) {
    console.warn('serve: dist/xlmr.wasm is missing; run `make` first or the page cannot load a model');
  }
  const server = createServer({
    isolated: opts.isolated,
    throttleBytesPerSecond: opts.throttleMBps * 1e6,
    log: opts.quiet ? null : (line) => console.log(line),
  });
  let url;
  try {
    ({ url } = await listen(server, opts.port));
  } catch (e) {
    console.error(`serve: cannot listen on 127.0.0.1:${opts.port}: ${e.code ?? e.message}${e.code === 'EADDRINUSE' ? ' (try --port 0)' : ''}`);
    process.exit(1);
  }
  console.log(`xlmr-wasm demo: ${url}/web/`);
  console.log(opts.isolated
    ? '  cross-origin isolated (COOP same-origin, COEP require-corp): SharedArrayBuffer and threads available'
    : '  not cross-origin isolated (--no-isolation): single-threaded builds only');
  if (opts.throttleMBps) console.log(`  model downloads throttled to ${opts.throttleMBps} MB/s`);
  console.log('  press Ctrl+C to stop');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
