// A model folder or hub repo with tokenizer.json and no sentencepiece.bpe.model (the converted repositories
// transformers.js uses) loads with it: over a local HTTP hub and from a path, the fixture model gives the same
// ids on every tokenizer case and the same outputs as with the .model, and offsets follow the file's rule
// (tests/fixtures/tokenizer_offsets.jsonl: the hub rule for the hub's layout, Metaspace's for transformers 4.x's).
// The tokenizer.json files are converted from the fixture's .model by tests/tokdiff/make_tokenizer_json.py.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { load } from '../../js/index.node.js';
import { startServer } from './helpers/server.mjs';
import { BUILDS, FIXTURES, ROOT, compileBuild, requireBuild, loadTokenizerCases, loadModelCases } from './helpers/common.mjs';

const cases = loadTokenizerCases();
const offsetCases = fs.readFileSync(path.join(FIXTURES, 'tokenizer_offsets.jsonl'), 'utf8').split('\n').filter(Boolean).slice(1).map((l) => JSON.parse(l));
const en = loadModelCases().find((c) => c.name === 'en_mask');

/** The outputs compared between the two tokenizer sources (exact equality: same weights, same ids). */
async function outputs(model) {
  return {
    fill: await model.fillMask(en.texts[0]),
    embed: (await model.embed(['Hello world', 'Καλημέρα κόσμε'])).map((v) => Array.from(v)),
    tok: await model.tokenize('Hello   world, <mask>!'),
  };
}

/** A folder with the fixture's config and weights and the given tokenizer.json, no .model. */
function jsonFolder(root, name, tokenizerJson) {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
  fs.copyFileSync(tokenizerJson, path.join(dir, 'tokenizer.json'));
  return dir;
}

for (const build of BUILDS) {
  requireBuild(build);
  const tag = `[${build.name}]`;
  let wasmModule, tmp, srv, folders;

  test(`${tag} setup`, async () => {
    wasmModule = await compileBuild(build);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), `xlmr-tokjson-${build.name}-`));
    const gen = path.join(tmp, 'gen');
    execFileSync('/usr/bin/python3', ['tests/tokdiff/make_tokenizer_json.py', gen], { cwd: ROOT });
    folders = {
      hub: jsonFolder(tmp, 'hub', path.join(gen, 'hub.json')),
      v4: jsonFolder(tmp, 'v4', path.join(gen, 'v4.json')),
    };
    const repo = (dir) => Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => [f, path.join(dir, f)]));
    srv = await startServer({ repos: { 'test/tiny-json': repo(folders.hub), 'test/tiny-json-v4': repo(folders.v4) } });
  });

  test(`${tag} tokenizer.json over a hub and from a folder: the .model's ids and outputs, offsets by the file's rule`, { timeout: 300000 }, async () => {
    const base = { wasmModule, dtype: 'f32', cache: false };
    const ref = await load(FIXTURES, { ...base, worker: false });
    const expected = await outputs(ref);
    const refOffsets = (await ref.tokenize('Hello   world', { offsets: true })).offsets;
    await ref.dispose();
    const sources = [
      ['hub repo (worker)', 'test/tiny-json', { hubUrl: srv.url }, 'offsets'],
      ['hub repo, in-thread', 'test/tiny-json', { hubUrl: srv.url, worker: false }, 'offsets'],
      ['folder path', folders.hub, { worker: false }, 'offsets'],
      ['transformers 4.x layout over a hub', 'test/tiny-json-v4', { hubUrl: srv.url }, 'metaspace'],
    ];
    for (const [what, source, opts, rule] of sources) {
      const m = await load(source, { ...base, ...opts });
      assert.deepEqual(await outputs(m), expected, `${what}: outputs as with sentencepiece.bpe.model`);
      for (const c of cases) {
        const got = await m.tokenize(c.text);
        assert.deepEqual(got.ids, c.ids, `${what}: ids of ${c.name}`);
      }
      for (const [i, c] of cases.entries()) {
        if (i % 5) continue; // every fifth case through the worker boundary: offsets are C-tested on all
        const got = await m.tokenize(c.text, { offsets: true });
        assert.deepEqual(got.offsets, offsetCases[i][rule], `${what}: ${rule} offsets of ${c.name}`);
      }
      if (rule === 'offsets') assert.deepEqual((await m.tokenize('Hello   world', { offsets: true })).offsets, refOffsets, `${what}: the hub rule`);
      await m.dispose();
    }
  });

  test(`${tag} a folder with neither tokenizer file: the error names both`, async () => {
    const dir = path.join(tmp, 'none');
    fs.mkdirSync(dir);
    for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
    await assert.rejects(load(dir, { wasmModule, cache: false, worker: false }), (e) => {
      assert.match(e.message, /sentencepiece\.bpe\.model/);
      assert.match(e.message, /tokenizer\.json/);
      return true;
    });
    const bad = path.join(tmp, 'bad');
    fs.mkdirSync(bad);
    for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(FIXTURES, f), path.join(bad, f));
    fs.writeFileSync(path.join(bad, 'tokenizer.json'), '{"model": {"type": "BPE"}}');
    await assert.rejects(load(bad, { wasmModule, cache: false, worker: false }), (e) => {
      assert.equal(e.code, 'ERR_MODEL_FORMAT');
      assert.match(e.message, /tokenizer\.json.*BPE/);
      return true;
    });
  });

  test(`${tag} teardown`, async () => {
    await srv?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });
}
