// Bad input gets a clear error and loses nothing: wrong argument types and values, text whose <mask> is cut
// off by truncation, lone surrogates, calls after and during dispose, files that are not models (HTML served
// with 200, a PNG, an empty file, JSON), folders missing a file, broken config.json, aborts before and after
// loading. Each: the right code, a message naming what is wrong, and the model (or worker) still answering
// exactly as before. Worker and in-thread modes, on dist/xlmr.wasm.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load } from '../../js/index.node.js';
import { startServer, defaultRepos } from './helpers/server.mjs';
import { BUILDS, FIXTURES, compileBuild, requireBuild } from './helpers/common.mjs';

const build = requireBuild(BUILDS[0]);
const MASKED = "Hello I'm a <mask> model.";

/** Rejects with `code` and a message matching `re`. */
async function rejects(promise, code, re, what) {
  let err = null;
  try { await promise; } catch (e) { err = e; }
  assert.ok(err, `${what}: resolved, expected ${code}`);
  assert.equal(err.code, code, `${what}: code ${err.code} (${err.message})`);
  if (re) assert.match(err.message, re, `${what}: message`);
  return err;
}

/** What a healthy model answers; compared after every failure. */
async function answers(m) {
  return {
    fill: await m.fillMask(MASKED, { topK: 3 }),
    emb: Array.from(await m.embed('a sentence')),
    tok: await m.tokenize('Hello world'),
  };
}

let wasmModule;
let srv;
let tmp;

test('setup', async () => {
  wasmModule = await compileBuild(build);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-robust-'));
  const write = (name, data) => { const f = path.join(tmp, name); fs.writeFileSync(f, data); return f; };
  const html = write('index.html', '<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Please log in</body></html>\n');
  const png = write('logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1]));
  const empty = write('empty.gguf', '');
  const json = write('error.json', '{"error":"Repository Not Found"}');
  const badcfg = write('bad-config.json', '{"hidden_size": 64,, "num_hidden_layers": 2}');
  const repos = defaultRepos();
  const tiny = repos['test/tiny'];
  const variant = (over, drop) => {
    const r = { ...tiny, ...over };
    if (drop) delete r[drop];
    return r;
  };
  Object.assign(repos, {
    'bad/html-everywhere': { 'config.json': html, 'sentencepiece.bpe.model': html, 'model.safetensors': html },
    'bad/html-weights': variant({ 'model.safetensors': html }),
    'bad/png-weights': variant({ 'model.safetensors': png }),
    'bad/empty-weights': variant({ 'model.safetensors': empty }),
    'bad/json-weights': variant({ 'model.safetensors': json }),
    'bad/html-tokenizer': variant({ 'sentencepiece.bpe.model': html }),
    'bad/no-config': variant({}, 'config.json'),
    'bad/no-tokenizer': variant({}, 'sentencepiece.bpe.model'),
    'bad/no-weights': variant({}, 'model.safetensors'),
    'bad/broken-config': variant({ 'config.json': badcfg }),
  });
  srv = await startServer({ repos, files: { 'index.html': html, 'logo.png': png, 'empty.gguf': empty, 'error.json': json } });
});

for (const worker of [false, true]) {
  const tag = `[${worker ? 'worker' : 'in-thread'}]`;
  const opts = () => ({ wasmModule, cache: false, worker });

  test(`${tag} model calls with wrong arguments: typed errors, the model unchanged`, { timeout: 120000 }, async () => {
    const m = await load(FIXTURES, opts());
    const before = await answers(m);
    const V = m.config.vocabSize;
    const bad = [
      // [what, call, code, message]
      ['fillMask(123)', () => m.fillMask(123), 'ERR_INVALID_ARGUMENT', /string/],
      ['fillMask(null)', () => m.fillMask(null), 'ERR_INVALID_ARGUMENT', /string/],
      ['fillMask options 5', () => m.fillMask(MASKED, 5), 'ERR_INVALID_ARGUMENT', /options/],
      ['fillMask unknown option', () => m.fillMask(MASKED, { top_k: 3 }), 'ERR_INVALID_ARGUMENT', /top_k/],
      ['topK 0', () => m.fillMask(MASKED, { topK: 0 }), 'ERR_INVALID_ARGUMENT', /topK/],
      ['topK -1', () => m.fillMask(MASKED, { topK: -1 }), 'ERR_INVALID_ARGUMENT', /topK/],
      ['topK NaN', () => m.fillMask(MASKED, { topK: NaN }), 'ERR_INVALID_ARGUMENT', /topK/],
      ['topK 2.5', () => m.fillMask(MASKED, { topK: 2.5 }), 'ERR_INVALID_ARGUMENT', /topK/],
      ["topK '3'", () => m.fillMask(MASKED, { topK: '3' }), 'ERR_INVALID_ARGUMENT', /topK/],
      // values JSON cannot print: the message must still be built (a BigInt once raised a bare TypeError)
      ['topK 3n', () => m.fillMask(MASKED, { topK: 3n }), 'ERR_INVALID_ARGUMENT', /topK must be a positive integer, not 3n/],
      ['no mask', () => m.fillMask('Hello world'), 'ERR_NO_MASK', /<mask>/],
      ['too long', () => m.fillMask('word '.repeat(600) + '<mask>'), 'ERR_TOO_LONG', /512.*truncation/],
      ['embed(123)', () => m.embed(123), 'ERR_INVALID_ARGUMENT', /string/],
      ['embed([1])', () => m.embed(['a', 1]), 'ERR_INVALID_ARGUMENT', /item 1/],
      ['embed(sparse)', () => m.embed(new Array(3)), 'ERR_INVALID_ARGUMENT', /item 0 is a hole/],
      ["pooling 'max'", () => m.embed('a', { pooling: 'max' }), 'ERR_INVALID_ARGUMENT', /pooling/],
      // inherited keys of a plain object: the core once wrote (B, T, H) floats into a (B, H) buffer and trapped
      ["pooling 'toString'", () => m.embed('a', { pooling: 'toString' }), 'ERR_INVALID_ARGUMENT', /pooling/],
      ["pooling 'constructor'", () => m.embed(['a', 'bb'], { pooling: 'constructor' }), 'ERR_INVALID_ARGUMENT', /pooling/],
      ["pooling '__proto__'", () => m.embed('a', { pooling: '__proto__' }), 'ERR_INVALID_ARGUMENT', /pooling/],
      ['batchSize 0', () => m.embed(['a'], { batchSize: 0 }), 'ERR_INVALID_ARGUMENT', /batchSize/],
      ['batchSize NaN', () => m.embed(['a'], { batchSize: NaN }), 'ERR_INVALID_ARGUMENT', /batchSize/],
      ['pooling 1n', () => m.embed('a', { pooling: 1n }), 'ERR_INVALID_ARGUMENT', /pooling .*not 1n/],
      ['embed too long', () => m.embed(['ok', 'word '.repeat(600)]), 'ERR_TOO_LONG', /text 1 .*truncation/],
      ['tokenize(undefined)', () => m.tokenize(undefined), 'ERR_INVALID_ARGUMENT', /string/],
    ];
    for (const [what, call, code, re] of bad) {
      await rejects(call(), code, re, what);
      assert.deepEqual(await answers(m), before, `after ${what}: the model answers as before`);
    }
    // accepted edge values
    assert.equal((await m.fillMask(MASKED, { topK: 1e9 })).length, V, 'topK past the vocabulary gives all of it');
    assert.deepEqual(await m.embed([]), [], 'embed([]) is []');
    const [e] = await m.embed(['']);
    assert.equal(e.length, m.config.hiddenSize, "embed(['']) embeds <s></s>");
    assert.equal((await m.embed(['a', 'b', 'c'], { batchSize: 1e9 })).length, 3, 'a huge batchSize');
    // 150k texts in one batch: the padded length once came from Math.max(...lengths), a stack overflow
    // reported as ERR_OUT_OF_MEMORY
    const many = await m.embed(new Array(150000).fill('a'), { batchSize: 1e9 });
    assert.equal(many.length, 150000);
    assert.deepEqual(Array.from(many[149999]), Array.from(many[0]));
    assert.deepEqual(await answers(m), before);
    await m.dispose();
  });

  test(`${tag} lone surrogates, 1 MB texts, and a <mask> cut off by truncation`, { timeout: 120000 }, async () => {
    const m = await load(FIXTURES, opts());
    const before = await answers(m);
    const t = await m.tokenize('a\uD800b\uDFFF c <mask>');
    assert.equal(t.ids[0], 0);
    assert.equal(t.ids.at(-1), 2);
    assert.ok(t.ids.includes(m.config.maskTokenId));
    assert.equal((await m.fillMask('x\uDC00 y <mask> \uD83D')).length, 5, 'lone surrogates around a mask');
    assert.equal((await m.embed(['\uD800', '\uDFFF\uD800'])).length, 2);
    const big = 'ab c\u00e9 '.repeat(200000); // 1.2 MB of UTF-8
    assert.ok((await m.tokenize(big)).ids.length > 100000);
    assert.equal((await m.embed(big, { truncation: true })).length, m.config.hiddenSize);
    await rejects(m.embed(big), 'ERR_TOO_LONG', /truncation/, 'embed 1 MB without truncation');
    // the only <mask> lies past the maximum: truncation removes it, and the message says so
    const err = await rejects(m.fillMask('word '.repeat(600) + '<mask>', { truncation: true }), 'ERR_NO_MASK', /cut off by truncation/, 'mask truncated away');
    assert.match(err.message, /512/);
    // one mask kept, one cut: the kept one is answered
    const kept = await m.fillMask('<mask> ' + 'word '.repeat(600) + '<mask>', { truncation: true });
    assert.equal(kept.length, 5);
    assert.deepEqual(await answers(m), before);
    await m.dispose();
  });

  test(`${tag} dispose: pending calls finish, later calls reject, twice is fine`, { timeout: 60000 }, async () => {
    const m = await load(FIXTURES, opts());
    const before = await answers(m);
    const p1 = m.fillMask(MASKED, { topK: 3 });
    const p2 = m.embed('a sentence');
    const pd = m.dispose();
    const late = m.tokenize('Hello');
    late.catch(() => {});
    assert.deepEqual(await p1, before.fill, 'a call made before dispose() resolves');
    assert.deepEqual(Array.from(await p2), before.emb);
    await rejects(late, 'ERR_INVALID_STATE', /disposed/, 'a call after dispose()');
    await pd;
    await m.dispose();
    assert.equal(m.disposed, true);
    await rejects(m.embed('x'), 'ERR_INVALID_STATE', /disposed/, 'embed after dispose');
    assert.throws(() => m.exportGguf(), { code: 'ERR_INVALID_STATE' });
    // a new model in the same process is unaffected
    const m2 = await load(FIXTURES, opts());
    assert.deepEqual(await answers(m2), before);
    await m2.dispose();
  });

  test(`${tag} load() of things that are not models: the error names the file and what it looks like`, { timeout: 120000 }, async () => {
    const hub = (id) => load(id, { ...opts(), hubUrl: srv.url });
    const u = (id, f) => `${srv.url}/${id}/resolve/main/${f}`;
    const cases = [
      ['HTML everywhere', () => hub('bad/html-everywhere'), 'ERR_MODEL_FORMAT', [u('bad/html-everywhere', 'config.json'), /HTML/]],
      ['HTML weights', () => hub('bad/html-weights'), 'ERR_MODEL_FORMAT', [u('bad/html-weights', 'model.safetensors'), /HTML/]],
      ['PNG weights', () => hub('bad/png-weights'), 'ERR_MODEL_FORMAT', [u('bad/png-weights', 'model.safetensors'), /PNG image/]],
      ['empty weights', () => hub('bad/empty-weights'), 'ERR_MODEL_FORMAT', [u('bad/empty-weights', 'model.safetensors'), /empty/]],
      ['JSON weights', () => hub('bad/json-weights'), 'ERR_MODEL_FORMAT', [u('bad/json-weights', 'model.safetensors'), /JSON/]],
      ['HTML tokenizer', () => hub('bad/html-tokenizer'), 'ERR_MODEL_FORMAT', [u('bad/html-tokenizer', 'sentencepiece.bpe.model'), /HTML/]],
      ['broken config.json', () => hub('bad/broken-config'), 'ERR_MODEL_FORMAT', [u('bad/broken-config', 'config.json'), /json/]],
      ['no config.json', () => hub('bad/no-config'), 'ERR_NETWORK', [u('bad/no-config', 'config.json'), /404/, /config\.json is missing/]],
      ['no tokenizer', () => hub('bad/no-tokenizer'), 'ERR_NETWORK', [u('bad/no-tokenizer', 'sentencepiece.bpe.model'), /sentencepiece\.bpe\.model is missing/]],
      ['no weights', () => hub('bad/no-weights'), 'ERR_NETWORK', [u('bad/no-weights', 'model.safetensors'), /model\.safetensors is missing/]],
      ['.gguf URL of an empty file', () => load(`${srv.url}/files/empty.gguf`, opts()), 'ERR_MODEL_FORMAT', [/empty\.gguf/, /empty/]],
      ['a page URL read as a folder', () => load(`${srv.url}/files/index.html`, opts()), 'ERR_NETWORK', [/index\.html\/config\.json/, /\.gguf/]],
      ['PNG path', () => load(path.join(tmp, 'logo.png'), opts()), 'ERR_MODEL_FORMAT', [path.join(tmp, 'logo.png'), /PNG/]],
      ['HTML bytes', () => load(fs.readFileSync(path.join(tmp, 'index.html')), opts()), 'ERR_MODEL_FORMAT', [/HTML/]],
      ['empty bytes', () => load(new ArrayBuffer(0), opts()), 'ERR_MODEL_FORMAT', [/empty/]],
    ];
    for (const [what, start, code, res] of cases) {
      const err = await rejects(start(), code, null, what);
      for (const re of res) {
        if (typeof re === 'string') assert.ok(err.message.includes(re), `${what}: message names ${re}: ${err.message}`);
        else assert.match(err.message, re, `${what}: message`);
      }
    }
    // a folder on disk without the files
    const dir = fs.mkdtempSync(path.join(tmp, 'folder-'));
    fs.copyFileSync(path.join(FIXTURES, 'model.safetensors'), path.join(dir, 'model.safetensors'));
    fs.copyFileSync(path.join(FIXTURES, 'config.json'), path.join(dir, 'config.json'));
    const err = await rejects(load(dir, opts()), 'ERR_FILE', /sentencepiece\.bpe\.model is missing/, 'folder without the tokenizer');
    assert.ok(err.message.includes(path.join(dir, 'sentencepiece.bpe.model')), err.message);
    // and after all that, loading works
    const m = await load('test/tiny', { ...opts(), hubUrl: `${srv.url}///` });
    assert.equal(m.config.vocabSize, 8002, 'hubUrl with trailing slashes');
    await m.dispose();
  });

  test(`${tag} abort before load, abort after load`, { timeout: 60000 }, async () => {
    const ac = new AbortController();
    ac.abort();
    await rejects(load(FIXTURES, { ...opts(), signal: ac.signal }), 'ERR_ABORTED', null, 'a signal aborted before load()');
    const ac2 = new AbortController();
    const m = await load('test/tiny', { ...opts(), hubUrl: srv.url, signal: ac2.signal });
    const before = await answers(m);
    ac2.abort();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await answers(m), before, 'aborting after load() resolved changes nothing');
    await m.dispose();
  });
}

test('teardown', async () => {
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});
