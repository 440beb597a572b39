// load() end to end over a real HTTP server in the hub layout: every source kind gives identical outputs,
// worker and in-thread agree, calls queue in order, network failures and aborts give the right codes and
// leave nothing behind, and the GGUF cache is reused, and dropped when corrupted. Both wasm builds.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { load } from '../../js/index.node.js';
import { Engine } from '../../js/engine.js';
import { platform } from '../../js/platform-node.js';
import { startServer } from './helpers/server.mjs';
import { BUILDS, FIXTURES, compileBuild, requireBuild, loadModelCases, assertFillMask, openHandles } from './helpers/common.mjs';

const cases = loadModelCases();
const en = cases.find((c) => c.name === 'en_mask');
const el = cases.find((c) => c.name === 'el_two_masks');
const batch = cases.find((c) => c.name === 'padded_batch_3');

/** The outputs compared across sources and modes (exact equality: same weights, same code). */
async function outputs(model) {
  return {
    config: model.config,
    fill1: await model.fillMask(en.texts[0]),
    fill2: await model.fillMask(el.texts[0], { topK: 3 }),
    embed: (await model.embed(batch.texts, { batchSize: 2 })).map((v) => Array.from(v)),
    cls: Array.from(await model.embed(en.texts[0], { pooling: 'cls', normalize: false })),
    none: Array.from(await model.embed('Hello world', { pooling: 'none' })),
    tok: await model.tokenize(el.texts[0]),
  };
}

for (const build of BUILDS) {
  requireBuild(build);
  const tag = `[${build.name}]`;
  let srv;
  let tmp;
  let wasmModule;
  let ggufPath;

  test(`${tag} setup`, async () => {
    wasmModule = await compileBuild(build);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), `xlmr-load-${build.name}-`));
    // A GGUF of the fixture model in F32, written by the core's writer.
    const m = await load(FIXTURES, { wasmModule, dtype: 'f32', cache: false, worker: false });
    ggufPath = path.join(tmp, 'tiny.f32.gguf');
    const fh = fs.openSync(ggufPath, 'w');
    for await (const c of m.exportGguf()) fs.writeSync(fh, c);
    fs.closeSync(fh);
    await m.dispose();
    srv = await startServer({ files: { 'tiny.f32.gguf': ggufPath } });
  });

  test(`${tag} hub id, folder URL, .gguf URL, path, bytes: identical outputs; worker = in-thread`, { timeout: 300000 }, async () => {
    const base = { wasmModule, dtype: 'f32', cache: false };
    const ref = await load(FIXTURES, { ...base, worker: false });
    const expected = await outputs(ref);
    assertFillMask(expected.fill1, en.fill_mask[0], 1e-5, 'reference vs fixture');
    await ref.dispose();
    const bytes = fs.readFileSync(ggufPath);
    let keep;
    const sources = [
      ['hub id (worker)', 'test/tiny', { hubUrl: srv.url }],
      ['hub id (in-thread)', 'test/tiny', { hubUrl: srv.url, worker: false }],
      ['hub id, chunked', 'test/tiny', { hubUrl: `${srv.url}/_chunked` }],
      ['folder URL', `${srv.url}/test/tiny/resolve/main/`, {}],
      ['folder URL without slash', `${srv.url}/test/tiny/resolve/main`, {}],
      ['weights URL', `${srv.url}/test/tiny/resolve/main/model.safetensors`, {}],
      ['folder path (worker)', FIXTURES, {}],
      ['weights path', path.join(FIXTURES, 'model.safetensors'), {}],
      ['.gguf URL', `${srv.url}/files/tiny.f32.gguf`, {}],
      ['.gguf URL, chunked', `${srv.url}/_chunked/files/tiny.f32.gguf`, { worker: false }],
      ['.gguf path', ggufPath, {}],
      ['ArrayBuffer (worker)', bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), {}],
      ['ArrayBuffer (in-thread)', new Uint8Array(bytes).buffer, { worker: false }],
      ['Uint8Array', new Uint8Array(bytes), {}],
      ['Blob', new Blob([bytes]), {}],
      // Responses and streams are made when their turn comes (a body left unread for seconds is cut by
      // the server's keep-alive timer); the Response is kept referenced, as undici cancels collected ones.
      ['Response', () => fetch(`${srv.url}/files/tiny.f32.gguf`), {}],
      ['ReadableStream (in-thread)', async () => (keep = await fetch(`${srv.url}/_chunked/files/tiny.f32.gguf`)).body, { worker: false }],
      ['ReadableStream (worker)', () => Readable.toWeb(fs.createReadStream(ggufPath)), {}],
    ];
    for (const [what, source, opts] of sources) {
      const m = await load(typeof source === 'function' ? await source() : source, { ...base, ...opts });
      try {
        assert.equal(m.mode, opts.worker === false ? 'in-thread' : 'worker', what);
        assert.deepEqual(m.runtime, { build: 'wasmModule', simd: 'simd128', kernel: 'simd128', threads: 1, worker: opts.worker !== false });
        assert.deepEqual(await outputs(m), expected, what);
      } finally {
        await m.dispose();
      }
    }
    assert.ok(keep);
    console.log(`# ${tag} ${sources.length} sources gave identical outputs`);
  });

  test(`${tag} 20 concurrent calls resolve in order; a failed call does not poison the next`, { timeout: 120000 }, async () => {
    for (const worker of [true, false]) {
      const m = await load(FIXTURES, { wasmModule, dtype: 'f32', cache: false, worker });
      try {
        const expected = [];
        const calls = [];
        for (let i = 0; i < 20; i++) {
          const kind = i % 5;
          const make = () => (kind === 0 ? m.fillMask(en.texts[0], { topK: 1 + (i % 3) })
            : kind === 1 ? m.embed(batch.texts[i % 3])
              : kind === 2 ? m.tokenize(`text number ${i}`)
                : kind === 3 ? m.fillMask('no mask in text ' + i)
                  : m.embed([`a ${i}`, `b ${i} c`], { pooling: 'none' }));
          calls.push(make);
        }
        // Sequential answers, for comparison.
        for (const make of calls) expected.push(await make().then((v) => ({ ok: v }), (e) => ({ err: e.code })));
        const order = [];
        const results = await Promise.all(calls.map((make, i) => make().then(
          (v) => { order.push(i); return { ok: v }; },
          (e) => { order.push(i); return { err: e.code }; },
        )));
        assert.deepEqual(order, [...Array(20).keys()], `${worker ? 'worker' : 'in-thread'}: answered in order`);
        assert.deepEqual(results, expected);
        assert.equal(results.filter((r) => r.err === 'ERR_NO_MASK').length, 4);
      } finally {
        await m.dispose();
      }
    }
  });

  for (const pct of [10, 50, 99]) {
    test(`${tag} abort at ${pct}% of a download: ERR_ABORTED, nothing left open, next load works`, { timeout: 60000 }, async () => {
      const before = openHandles();
      const ac = new AbortController();
      let seen = 0;
      await assert.rejects(load('test/tiny', {
        wasmModule, cache: false, hubUrl: `${srv.url}/_only=model.safetensors/_slow=3`, signal: ac.signal,
        onProgress: (p) => { if (p.file === 'model.safetensors' && p.total && p.loaded >= (p.total * pct) / 100) { seen = p.loaded / p.total; ac.abort(); } },
      }), (e) => e.code === 'ERR_ABORTED');
      assert.ok(seen > 0);
      assert.equal(await srv.settled(), 0, 'the aborted response was closed');
      assert.ok(openHandles().files <= before.files);
      const m = await load('test/tiny', { wasmModule, cache: false, hubUrl: srv.url });
      assertFillMask(await m.fillMask(en.texts[0]), (await outputsRef()).fill1, 1e-2, 'after abort');
      await m.dispose();
    });
  }

  let refCache = null;
  async function outputsRef() {
    if (!refCache) {
      const m = await load(FIXTURES, { wasmModule, cache: false, worker: false });
      refCache = { fill1: await m.fillMask(en.texts[0]) };
      await m.dispose();
    }
    return refCache;
  }

  test(`${tag} 404, truncated body, server dying mid-stream, short file: codes and messages`, { timeout: 60000 }, async () => {
    const tries = [
      ['missing repo', 'nobody/nothing', srv.url, 'ERR_NETWORK', /nobody\/nothing\/resolve\/main\/config\.json.*HTTP 404/],
      ['truncated', 'test/tiny', `${srv.url}/_only=model.safetensors/_truncate=50%`, 'ERR_NETWORK', /model\.safetensors (broke|ended) after \d+ of 2638760 bytes/],
      ['server dies', 'test/tiny', `${srv.url}/_only=model.safetensors/_die=30%`, 'ERR_NETWORK', /model\.safetensors broke after \d+ bytes/],
      ['short chunked file', 'test/tiny', `${srv.url}/_only=model.safetensors/_short=80%`, 'ERR_MODEL_FORMAT', /model\.safetensors: file truncated: it ended at byte \d+ but its tables need 2638760 bytes \(tensor \S+ has \d+ of \d+ bytes\)/],
      ['short config', 'test/tiny', `${srv.url}/_only=config.json/_short=50%`, 'ERR_MODEL_FORMAT', /config\.json/],
    ];
    for (const worker of [true, false]) {
      for (const [what, id, hubUrl, code, rx] of tries) {
        await assert.rejects(load(id, { wasmModule, cache: false, hubUrl, worker }), (e) => {
          assert.equal(e.code, code, `${what}: ${e.message}`);
          assert.match(e.message, rx, what);
          if (code === 'ERR_NETWORK' && what === 'missing repo') assert.equal(e.status, 404);
          return true;
        });
        assert.equal(await srv.settled(), 0, `${what}: no response left open`);
      }
    }
    const m = await load('test/tiny', { wasmModule, cache: false, hubUrl: srv.url });
    await m.dispose();
  });

  test(`${tag} one engine: failed loads free their loader and memory; the next load works`, { timeout: 60000 }, async () => {
    const engine = await Engine.create(platform, { wasmModule });
    const sizes = [];
    for (let i = 0; i < 4; i++) {
      const ac = new AbortController();
      await assert.rejects(engine.load('test/tiny', {
        hubUrl: `${srv.url}/_only=model.safetensors/_slow=1`, cache: false, signal: ac.signal,
        onProgress: (p) => { if (p.file === 'model.safetensors' && p.loaded > p.total * 0.6) ac.abort(); },
      }), (e) => e.code === 'ERR_ABORTED');
      await assert.rejects(engine.load('test/tiny', { hubUrl: `${srv.url}/_only=model.safetensors/_die=70%`, cache: false }), (e) => e.code === 'ERR_NETWORK');
      await assert.rejects(engine.load(new Uint8Array(4096).fill(7), { cache: false }), (e) => e.code === 'ERR_MODEL_FORMAT');
      const s = engine.stats();
      assert.equal(s.liveLoaders, 0);
      assert.equal(s.hasModel, false);
      sizes.push(s.memoryBytes);
    }
    assert.equal(sizes[3], sizes[1], `wasm memory stable across failed loads: ${sizes}`);
    await engine.load(FIXTURES, { cache: false, dtype: 'f32' });
    assertFillMask(engine.fillMask(en.texts[0]), en.fill_mask[0], 1e-5, 'after failures');
    engine.dispose();
  });

  test(`${tag} cache: converted model stored as GGUF, reused, corrupted entry dropped and refetched`, { timeout: 120000 }, async () => {
    const dir = path.join(tmp, 'cache');
    const opts = { wasmModule, hubUrl: srv.url, cache: dir };
    const first = await load('test/tiny', opts);
    const expected = await outputs(first);
    assert.equal(first.loadInfo.source, 'origin');
    assert.ok(first.loadInfo.cacheSaved, 'saved to the cache');
    await first.dispose();
    const entries = fs.readdirSync(dir).filter((f) => f.endsWith('.gguf'));
    assert.equal(entries.length, 1);
    const entry = path.join(dir, entries[0]);

    const mark = srv.log.length;
    const second = await load('test/tiny', opts);
    assert.equal(second.loadInfo.source, 'cache');
    assert.equal(srv.count('model.safetensors', mark), 0, 'no download on a cache hit');
    assert.deepEqual(await outputs(second), expected);
    await second.dispose();

    // Corrupt one byte in the middle (tensor data: only the checksum can tell), then truncate.
    for (const damage of ['flip', 'truncate', 'garbage']) {
      const buf = fs.readFileSync(entry);
      if (damage === 'flip') { buf[Math.floor(buf.length * 0.7)] ^= 0x55; fs.writeFileSync(entry, buf); }
      if (damage === 'truncate') fs.writeFileSync(entry, buf.subarray(0, buf.length >> 1));
      if (damage === 'garbage') fs.writeFileSync(entry, Buffer.alloc(buf.length, 0x41));
      const m0 = srv.log.length;
      const again = await load('test/tiny', opts);
      assert.equal(again.loadInfo.source, 'origin', damage);
      assert.ok(again.loadInfo.cacheDropped, `${damage}: the entry was dropped`);
      assert.equal(srv.count('model.safetensors', m0), 1, `${damage}: refetched`);
      assert.deepEqual(await outputs(again), expected, damage);
      await again.dispose();
      const hit = await load('test/tiny', opts);
      assert.equal(hit.loadInfo.source, 'cache', `${damage}: rewritten entry is used`);
      await hit.dispose();
    }
    // cache: false neither reads nor writes.
    const m1 = srv.log.length;
    const off = await load('test/tiny', { ...opts, cache: false });
    assert.equal(off.loadInfo.source, 'origin');
    assert.equal(off.loadInfo.cacheSaved, null);
    assert.equal(srv.count('model.safetensors', m1), 1);
    await off.dispose();
  });

  test(`${tag} teardown`, async () => {
    await srv?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });
}
