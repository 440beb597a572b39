// What load() makes of each kind of source, without a model: classification, hub URLs, readers.
import test from 'node:test';
import assert from 'node:assert/strict';
import { classifySource, hubBaseUrl, hubFileUrl, bufferReader, streamReader, readAll, openUrl } from '../../js/sources.js';
import { platform } from '../../js/platform-node.js';
import { Sha256 } from '../../js/sha256.js';
import { errorFromStatus, errorFromJSON, toXlmrError, NetworkError, ModelFormatError, OutOfMemoryError, TooLongError, NoMaskError, InvalidArgumentError } from '../../js/errors.js';
import { hasSimd, makeImports } from '../../js/wasm.js';
import { startServer } from './helpers/server.mjs';
import crypto from 'node:crypto';

const node = { isNode: true, env: () => undefined, pathExists: (p) => platform.pathExists(p) };

test('hub ids resolve to {hubUrl}/{id}/resolve/{revision}/', () => {
  const d = classifySource('FacebookAI/xlm-roberta-base', node);
  assert.deepEqual(d, { type: 'url', layout: 'folder', url: 'https://huggingface.co/FacebookAI/xlm-roberta-base/resolve/main/', weights: 'model.safetensors', hubId: 'FacebookAI/xlm-roberta-base' });
  const m = classifySource('intfloat/multilingual-e5-small', { ...node, hubUrl: 'http://mirror.local/hf/', revision: 'v1.0' });
  assert.equal(m.url, 'http://mirror.local/hf/intfloat/multilingual-e5-small/resolve/v1.0/');
  const env = classifySource('a/b', { ...node, env: (k) => (k === 'XLMR_HUB_URL' ? 'http://env.mirror' : undefined) });
  assert.equal(env.url, 'http://env.mirror/a/b/resolve/main/');
  const opt = classifySource('a/b', { ...node, hubUrl: 'http://opt', env: () => 'http://env' });
  assert.equal(opt.url, 'http://opt/a/b/resolve/main/', 'the option wins over the environment');
  const file = classifySource('someone/xlmr-gguf/model.q8_0.gguf', node);
  assert.deepEqual([file.layout, file.url], ['file', 'https://huggingface.co/someone/xlmr-gguf/resolve/main/model.q8_0.gguf']);
  assert.equal(hubBaseUrl(undefined, () => undefined), 'https://huggingface.co');
  assert.equal(hubFileUrl('http://h', 'o/n', 'refs/pr/1', 'config.json'), 'http://h/o/n/resolve/refs%2Fpr%2F1/config.json');
});

test('URLs: .gguf is a file, .safetensors names the weights of its folder, anything else is a folder', () => {
  assert.deepEqual(classifySource('https://x.org/m/model.gguf', node), { type: 'url', layout: 'file', url: 'https://x.org/m/model.gguf' });
  assert.deepEqual(classifySource('https://x.org/m/model.fp16.safetensors', node), { type: 'url', layout: 'folder', url: 'https://x.org/m/', weights: 'model.fp16.safetensors' });
  assert.deepEqual(classifySource('https://x.org/m', node), { type: 'url', layout: 'folder', url: 'https://x.org/m/', weights: 'model.safetensors' });
  assert.deepEqual(classifySource(new URL('https://x.org/m/'), node).url, 'https://x.org/m/');
});

test('paths: existing or explicit paths are paths (Node); in browsers relative strings are URLs', () => {
  assert.equal(classifySource('tests/fixtures', node).type, 'path');
  assert.equal(classifySource('./no/such/dir', node).type, 'path');
  assert.equal(classifySource('/abs/model.gguf', node).type, 'path');
  assert.equal(classifySource('file:///tmp/x.gguf', node).type, 'path');
  assert.equal(classifySource('no-such-owner/no-such-model', node).type, 'url');
  const web = { isNode: false, baseUrl: 'https://site.example/app/' };
  assert.deepEqual(classifySource('./models/tiny/', web), { type: 'url', layout: 'folder', url: 'https://site.example/app/models/tiny/', weights: 'model.safetensors' });
  assert.equal(classifySource('/m/tiny.gguf', web).url, 'https://site.example/m/tiny.gguf');
  assert.equal(classifySource('owner/name', web).hubId, 'owner/name');
});

test('bytes and bad sources', () => {
  for (const v of [new ArrayBuffer(4), new Uint8Array(4), new Blob([new Uint8Array(4)]), new Response('x'), new ReadableStream()]) {
    assert.equal(classifySource(v, node).type, 'bytes');
  }
  for (const v of [null, undefined, 42, {}, '', '   ']) {
    assert.throws(() => classifySource(v, node), (e) => e.code === 'ERR_INVALID_ARGUMENT');
  }
});

test('readers: buffer chunks, stream size checks', async () => {
  const data = crypto.randomBytes(100000);
  const r = bufferReader(new Uint8Array(data), 'buf', 30000);
  assert.deepEqual(Buffer.from(await readAll(r)), data);
  const mk = (parts) => new ReadableStream({ start(c) { for (const p of parts) c.enqueue(p); c.close(); } });
  assert.equal((await readAll(streamReader(mk([new Uint8Array(3), new Uint8Array(4)]), 's', 7))).length, 7);
  await assert.rejects(readAll(streamReader(mk([new Uint8Array(3)]), 's', 7)), (e) => e.code === 'ERR_NETWORK' && /ended after 3 bytes/.test(e.message));
  await assert.rejects(readAll(streamReader(mk([new Uint8Array(9)]), 's', 7)), (e) => e.code === 'ERR_NETWORK');
});

test('HTTP: 404 names the URL and status; Content-Length is checked', async (t) => {
  const srv = await startServer({ files: { 'cfg.json': new URL('../fixtures/config.json', import.meta.url).pathname } });
  t.after(() => srv.close());
  await assert.rejects(openUrl(`${srv.url}/files/missing.gguf`), (e) => {
    assert.ok(e instanceof NetworkError);
    assert.equal(e.code, 'ERR_NETWORK');
    assert.equal(e.status, 404);
    assert.match(e.message, new RegExp(`${srv.url}/files/missing.gguf.*404`));
    return true;
  });
  const ok = await readAll(await openUrl(`${srv.url}/_chunked/files/cfg.json`));
  assert.equal(ok.length, 643);
  await assert.rejects(readAll(await openUrl(`${srv.url}/_truncate=100/files/cfg.json`)), (e) => e.code === 'ERR_NETWORK' && e.message.includes('cfg.json'));
  await assert.rejects(readAll(await openUrl(`${srv.url}/_die=100/files/cfg.json`)), (e) => e.code === 'ERR_NETWORK');
  await assert.rejects(openUrl('http://127.0.0.1:1/nothing'), (e) => e.code === 'ERR_NETWORK' && /127\.0\.0\.1:1/.test(e.message));
  assert.equal(await srv.settled(), 0);
});

test('sha256: incremental JS implementation equals node:crypto', () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 1000, 100000]) {
    const b = crypto.randomBytes(n);
    const h = new Sha256();
    let i = 0;
    while (i < n) { const k = Math.min(n - i, 1 + ((i * 7) % 97)); h.update(b.subarray(i, i + k)); i += k; }
    assert.equal(h.digest(), crypto.createHash('sha256').update(b).digest('hex'), `n=${n}`);
  }
});

test('errors: C status codes map to classes with stable codes and survive JSON', () => {
  assert.ok(errorFromStatus(1, 'x') instanceof ModelFormatError);
  assert.ok(errorFromStatus(2, 'x') instanceof OutOfMemoryError);
  assert.ok(errorFromStatus(3, 'x') instanceof TooLongError);
  assert.ok(errorFromStatus(4, 'x') instanceof NoMaskError);
  assert.ok(errorFromStatus(5, 'x') instanceof InvalidArgumentError);
  assert.equal(errorFromStatus(6, 'x').code, 'ERR_INVALID_STATE');
  const n = errorFromJSON(new NetworkError('GET u failed: HTTP 404', { url: 'u', status: 404 }).toJSON());
  assert.ok(n instanceof NetworkError);
  assert.deepEqual([n.code, n.status, n.url, n.message], ['ERR_NETWORK', 404, 'u', 'GET u failed: HTTP 404']);
  assert.equal(toXlmrError(new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded')).code, 'ERR_OUT_OF_MEMORY');
  assert.equal(toXlmrError(new WebAssembly.RuntimeError('unreachable')).code, 'ERR_INTERNAL');
  assert.equal(toXlmrError(new DOMException('x', 'AbortError')).code, 'ERR_ABORTED');
});

test('wasm: SIMD probe validates; imports generated from the module', () => {
  assert.equal(hasSimd(), true);
  // (module (import "env" "emscripten_notify_memory_growth" (func (param i32))) (import "wasi_snapshot_preview1" "fd_close" (func (param i32) (result i32))))
  const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 10, 2, 96, 1, 127, 0, 96, 1, 127, 1, 127,
    2, 73, 2, 3, 101, 110, 118, 31, ...new TextEncoder().encode('emscripten_notify_memory_growth'), 0, 0,
    22, ...new TextEncoder().encode('wasi_snapshot_preview1'), 8, ...new TextEncoder().encode('fd_close'), 0, 1]);
  const mod = new WebAssembly.Module(bytes);
  const imp = makeImports(mod, () => null);
  assert.equal(typeof imp.env.emscripten_notify_memory_growth, 'function');
  assert.equal(imp.wasi_snapshot_preview1.fd_close(3), 8);
});
