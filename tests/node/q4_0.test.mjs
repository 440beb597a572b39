// Q4_0 weights through the package (issue 21): dtype 'q4_0' and embeddingType 'q4_0' on the fixture folder, what
// model.config says, the GGUF written from them loading back to the same outputs, the cache keyed by the embedding
// type, the CLI's convert --dtype q4_0 / --embedding-type q4_0, and refused values. The fidelity bars are in C
// (tests/c/test_q4_0_fidelity.c); here, a sanity bound on the worst per-token cosine.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load } from '../../js/index.node.js';
import { ROOT, BUILDS, FIXTURES, compileBuild, requireBuild, loadModelCases, worstTokenCosine } from './helpers/common.mjs';

const build = requireBuild(BUILDS[0]);
const cases = loadModelCases();
const en = cases.find((c) => c.name === 'en_mask');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-q4-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function open(source, opts = {}) {
  return load(source, { wasmModule: await compileBuild(build), worker: false, cache: false, ...opts });
}

async function outputs(model) {
  return {
    fill: await model.fillMask(en.texts[0]),
    none: Array.from(await model.embed(en.texts[0], { pooling: 'none' })),
  };
}

async function gguf(model, file) {
  const parts = [];
  for await (const c of model.exportGguf()) parts.push(Buffer.from(c));
  fs.writeFileSync(file, Buffer.concat(parts));
  return fs.statSync(file).size;
}

test('dtype q4_0 and embeddingType q4_0: types in config, GGUF round trip, cosine to PyTorch', { timeout: 120000 }, async () => {
  const H = en.hidden_size;
  const ref = en.last_hidden_state[0].flat();
  const sizes = {};
  for (const [name, opts, weightType, embeddingType, bar] of [
    ['q8_0', {}, 'q8_0', 'q8_0', 0.998],
    ['table', { embeddingType: 'q4_0' }, 'q8_0', 'q4_0', 0.95],
    ['q4_0', { dtype: 'q4_0' }, 'q4_0', 'q4_0', 0.8],
  ]) {
    const m = await open(FIXTURES, opts);
    assert.equal(m.config.weightType, weightType, name);
    assert.equal(m.config.embeddingType, embeddingType, name);
    const out = await outputs(m);
    const cos = worstTokenCosine(out.none, ref, H);
    assert.ok(cos >= bar, `${name}: worst per-token cosine ${cos} < ${bar}`);
    sizes[name] = await gguf(m, path.join(tmp, `${name}.gguf`));
    await m.dispose();
    const back = await open(path.join(tmp, `${name}.gguf`));
    assert.equal(back.config.embeddingType, embeddingType, `${name} from GGUF`);
    assert.deepEqual(await outputs(back), out, `${name}: the GGUF gives what the conversion gave`);
    await back.dispose();
  }
  assert.ok(sizes.q4_0 < sizes.table && sizes.table < sizes.q8_0, JSON.stringify(sizes));
});

test('the cache keys by the embedding type', { timeout: 60000 }, async () => {
  const cache = path.join(tmp, 'cache');
  const a = await open(FIXTURES, { cache });
  assert.equal(a.loadInfo.source, 'origin');
  await a.dispose();
  const b = await open(FIXTURES, { cache, embeddingType: 'q4_0' });
  assert.equal(b.loadInfo.source, 'origin', 'a Q8_0 entry does not answer a Q4_0-table load');
  assert.equal(b.config.embeddingType, 'q4_0');
  await b.dispose();
  const c = await open(FIXTURES, { cache, embeddingType: 'q4_0' });
  assert.equal(c.loadInfo.source, 'cache');
  assert.equal(c.config.embeddingType, 'q4_0');
  await c.dispose();
  const d = await open(FIXTURES, { cache });
  assert.equal(d.loadInfo.source, 'cache');
  assert.equal(d.config.embeddingType, 'q8_0');
  await d.dispose();
});

test('refused values', async () => {
  await assert.rejects(open(FIXTURES, { embeddingType: 'q4' }), (e) => e.code === 'ERR_INVALID_ARGUMENT' && /embeddingType must be one of/.test(e.message));
  await assert.rejects(open(FIXTURES, { dtype: 'q4_1' }), (e) => e.code === 'ERR_INVALID_ARGUMENT' && /q4_0/.test(e.message));
});

function cli(args) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(ROOT, 'bin', 'xlmr.js'), args[0], '--wasm', build.file, ...args.slice(1)], { cwd: ROOT });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end();
  });
}

test('CLI: convert --dtype q4_0 and --embedding-type q4_0; a refused type writes nothing', { timeout: 120000 }, async () => {
  for (const [flags, weightType, embeddingType] of [[['--dtype', 'q4_0'], 'q4_0', 'q4_0'], [['--embedding-type', 'q4_0'], 'q8_0', 'q4_0']]) {
    const out = path.join(tmp, `cli-${flags[0].slice(2)}.gguf`);
    const c = await cli(['convert', '--model', FIXTURES, ...flags, '-o', out, '--json', '-q']);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(JSON.parse(c.stdout).embeddingType, embeddingType);
    const info = await cli(['info', '--model', out, '--json', '-q']);
    assert.equal(info.code, 0, info.stderr);
    const { config } = JSON.parse(info.stdout);
    assert.equal(config.weightType, weightType);
    assert.equal(config.embeddingType, embeddingType);
  }
  const bad = path.join(tmp, 'bad.gguf');
  const c = await cli(['convert', '--model', FIXTURES, '--embedding-type', 'q5_0', '-o', bad, '-q']);
  assert.notEqual(c.code, 0);
  assert.match(c.stderr, /embeddingType must be one of/);
  assert.ok(!fs.existsSync(bad), 'nothing written');
});
