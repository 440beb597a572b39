// The streaming loop of js/engine.js against a stand-in core (helpers/fake-core.mjs): every source kind,
// partial rooms, aborts, broken connections and short files — each leaves no loader, no wasm allocation
// and no open response behind, and the next load works. The same paths run on the real core in model.test.mjs.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../js/engine.js';
import { platform } from '../../js/platform-node.js';
import { fakeCore, toyFile } from './helpers/fake-core.mjs';
import { startServer } from './helpers/server.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-loop-'));
const SIZE = 1_000_000;
const toy = toyFile(SIZE);
const toyPath = path.join(tmp, 'toy.gguf');
fs.writeFileSync(toyPath, toy);
const longer = new Uint8Array(toy.length + 10);
longer.set(toy);
fs.writeFileSync(path.join(tmp, 'longer.gguf'), longer);
fs.writeFileSync(path.join(tmp, 'bad.gguf'), new Uint8Array(1000));
const expectedSum = (() => { let s = 0; for (let i = 8; i < toy.length; i++) s = (s * 31 + toy[i]) >>> 0; return s; })();

let srv;
test.before(async () => {
  srv = await startServer({ files: { 'toy.gguf': toyPath, 'longer.gguf': path.join(tmp, 'longer.gguf'), 'bad.gguf': path.join(tmp, 'bad.gguf') } });
});
test.after(async () => { await srv.close(); fs.rmSync(tmp, { recursive: true, force: true }); });

function engine(opts) {
  const core = fakeCore(opts);
  return { core, e: new Engine(platform, { exports: core.exports, memory: core.memory }) };
}

async function loadsOk(e, source, opts = {}) {
  const cfg = await e.load(source, { cache: false, ...opts });
  assert.equal(cfg.checksum, expectedSum);
  assert.equal(cfg.bytes, SIZE);
  e.dispose();
}

test('every source kind streams the same bytes into wasm memory', async () => {
  const { core, e } = engine();
  const base = core.liveBlocks;
  await loadsOk(e, toy.buffer.slice(0));
  await loadsOk(e, toy);
  await loadsOk(e, new Blob([toy]));
  await loadsOk(e, new Response(toy));
  await loadsOk(e, new ReadableStream({ start(c) { for (let i = 0; i < toy.length; i += 12345) c.enqueue(toy.slice(i, i + 12345)); c.close(); } }));
  await loadsOk(e, toyPath);
  await loadsOk(e, `file://${toyPath}`);
  await loadsOk(e, `${srv.url}/files/toy.gguf`);
  await loadsOk(e, `${srv.url}/_chunked/files/toy.gguf`);
  assert.equal(core.liveLoaders, 0);
  assert.equal(core.liveBlocks, base);
});

test('progress: monotone, ends at total, phases name the source kind', async () => {
  const { e } = engine();
  const seen = [];
  await e.load(`${srv.url}/_chunked/files/toy.gguf`, { cache: false, onProgress: (p) => seen.push(p) });
  const dl = seen.filter((p) => p.phase === 'download');
  assert.ok(dl.length > 5);
  for (let i = 1; i < dl.length; i++) assert.ok(dl[i].loaded >= dl[i - 1].loaded);
  assert.equal(dl.at(-1).loaded, toy.length);
  assert.equal(dl.at(-1).total, toy.length, 'chunked: the total comes from the file header');
  assert.equal(seen.at(-1).phase, 'ready');
  e.dispose();
  const seen2 = [];
  await e.load(toyPath, { cache: false, onProgress: (p) => seen2.push(p) });
  assert.ok(seen2.some((p) => p.phase === 'read' && p.total === toy.length));
  e.dispose();
});

async function expectFailure(source, code, opts = {}, { rx } = {}) {
  const { core, e } = engine();
  const base = core.liveBlocks;
  await assert.rejects(e.load(source, { cache: false, ...opts }), (err) => {
    assert.equal(err.code, code, `${err.code}: ${err.message}`);
    if (rx) assert.match(err.message, rx);
    return true;
  });
  assert.equal(core.liveLoaders, 0, 'loader freed');
  assert.equal(core.liveBlocks, base, 'every wasm allocation freed');
  assert.equal(core.liveModels, 0);
  assert.equal(await srv.settled(), 0, 'no response left streaming');
  await loadsOk(e, `${srv.url}/files/toy.gguf`); // the same engine loads fine afterwards
}

for (const pct of [10, 50, 99]) {
  test(`abort at ${pct}% of a download -> ERR_ABORTED, everything freed`, async () => {
    const ac = new AbortController();
    await expectFailure(`${srv.url}/_slow=2/files/toy.gguf`, 'ERR_ABORTED', {
      signal: ac.signal,
      onProgress: (p) => { if (p.phase === 'download' && p.loaded >= (toy.length * pct) / 100) ac.abort(); },
    });
  });
}

test('abort of a local file read and of a stream nobody feeds', async () => {
  const ac = new AbortController();
  await expectFailure(toyPath, 'ERR_ABORTED', { signal: ac.signal, onProgress: (p) => { if (p.loaded > 300000) ac.abort(); } });
  const ac2 = new AbortController();
  setTimeout(() => ac2.abort(), 50);
  await expectFailure(new ReadableStream({ start(c) { c.enqueue(toy.slice(0, 1000)); } }), 'ERR_ABORTED', { signal: ac2.signal });
  const ac3 = new AbortController();
  ac3.abort();
  await expectFailure(toy, 'ERR_ABORTED', { signal: ac3.signal });
});

test('HTTP failures: 404, truncated body, server dying mid-stream, short chunked body', async () => {
  await expectFailure(`${srv.url}/files/nope.gguf`, 'ERR_NETWORK', {}, { rx: /nope\.gguf.*HTTP 404/ });
  await expectFailure(`${srv.url}/_truncate=40%/files/toy.gguf`, 'ERR_NETWORK', {}, { rx: /toy\.gguf.*(broke|ended) after \d+ of 1000008 bytes/ });
  await expectFailure(`${srv.url}/_die=60%/files/toy.gguf`, 'ERR_NETWORK', {}, { rx: /toy\.gguf.*broke after \d+ bytes/ });
  await expectFailure(`${srv.url}/_short=70%/files/toy.gguf`, 'ERR_MODEL_FORMAT', {}, { rx: /truncated/ });
});

test('file format errors: bad magic, extra bytes after the end, short local file', async () => {
  await expectFailure(`${srv.url}/files/bad.gguf`, 'ERR_MODEL_FORMAT', {}, { rx: /bad magic/ });
  await expectFailure(`${srv.url}/files/longer.gguf`, 'ERR_MODEL_FORMAT', {}, { rx: /10 bytes longer/ });
  await expectFailure(`${srv.url}/_chunked/files/longer.gguf`, 'ERR_MODEL_FORMAT', {}, { rx: /longer/ });
  await expectFailure(toy.subarray(0, 5000), 'ERR_MODEL_FORMAT', {}, { rx: /truncated/ });
  await expectFailure(path.join(tmp, 'missing.gguf'), 'ERR_FILE', {}, { rx: /missing\.gguf/ });
});

test('partial rooms: a loader handing out odd slices still gets every byte', async () => {
  const { e } = engine({ slice: 777 });
  await loadsOk(e, `${srv.url}/_chunked/files/toy.gguf`);
  await loadsOk(e, toyPath);
  await loadsOk(e, toy);
});

test('after a real trap the engine refuses to compute on its heap and says to load again', async () => {
  const { e } = engine({ trapAt: 400000, trapKind: 'unreachable' });
  await assert.rejects(e.load(toy, { cache: false }), (err) => err.code === 'ERR_INTERNAL' && /trapped: unreachable/.test(err.message));
  await assert.rejects(e.load(toy, { cache: false }),
    (err) => err.code === 'ERR_INVALID_STATE' && /crashed the WebAssembly instance .*dispose\(\) the model and load it again/.test(err.message));
});

test('a trap while loading (memory.grow failing) is ERR_OUT_OF_MEMORY and the engine loads again', async () => {
  const { core, e } = engine({ trapAt: 400000 });
  await assert.rejects(e.load(toy, { cache: false }), (err) => err.code === 'ERR_OUT_OF_MEMORY' && /out of WebAssembly memory/.test(err.message));
  assert.equal(e.stats().liveLoaders, 0);
  assert.equal(core.liveLoaders, 0);
  await loadsOk(e, toy);
});
