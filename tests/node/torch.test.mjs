// PyTorch checkpoints from JS: a folder or hub repo without model.safetensors loads pytorch_model.bin (the hub
// order: safetensors, then .bin), a sharded one its index's files in turn, and each gives exactly the outputs of the
// same weights from safetensors. The checkpoints are torch.save's files rebuilt from the skeletons of
// tests/fixtures/torch (see tests/torch/make_checkpoints.py).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load } from '../../js/index.node.js';
import { startServer } from './helpers/server.mjs';
import { FIXTURES } from './helpers/common.mjs';

const TORCH = path.join(FIXTURES, 'torch');

/** The safetensors file's tensors: name -> bytes. */
function safetensors(file) {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const h = JSON.parse(b.subarray(8, 8 + n).toString());
  const out = {};
  for (const [k, v] of Object.entries(h)) if (k !== '__metadata__') out[k] = b.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1]);
  return out;
}

/** torch.save's file from its skeleton and splice list. */
function checkpoint(name) {
  const skel = fs.readFileSync(path.join(TORCH, `${name}.skel`));
  const [source, ...lines] = fs.readFileSync(path.join(TORCH, `${name}.splice`), 'utf8').trim().split('\n');
  const t = safetensors(path.join(FIXTURES, source));
  const parts = [];
  let from = 0;
  for (const line of lines) {
    const [off, tname] = line.split(' ');
    parts.push(skel.subarray(from, Number(off)), t[tname]);
    from = Number(off);
  }
  parts.push(skel.subarray(from));
  return Buffer.concat(parts);
}

function folder(weights) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-torch-'));
  for (const f of ['config.json', 'sentencepiece.bpe.model']) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
  for (const [name, bytes] of Object.entries(weights)) fs.writeFileSync(path.join(dir, name), bytes);
  return dir;
}

async function outputs(source, opts = {}) {
  const model = await load(source, { worker: false, cache: false, dtype: 'f32', ...opts });
  try {
    return {
      fill: await model.fillMask('Hello I am a <mask> model.'),
      embed: Array.from(await model.embed('a sentence to embed', { normalize: false })),
    };
  } finally {
    await model.dispose();
  }
}

const shards = {
  'pytorch_model.bin.index.json': fs.readFileSync(path.join(TORCH, 'pytorch_model.bin.index.json')),
  'pytorch_model-00001-of-00002.bin': checkpoint('shard_00001'),
  'pytorch_model-00002-of-00002.bin': checkpoint('shard_00002'),
};

test('a folder with pytorch_model.bin (F16, tied decoder) loads as its safetensors twin', async () => {
  const dir = folder({ 'pytorch_model.bin': checkpoint('f16_tied') });
  try {
    assert.deepEqual(await outputs(dir), await outputs(path.join(FIXTURES, 'model.fp16.safetensors')));
    assert.deepEqual(await outputs(path.join(dir, 'pytorch_model.bin')), await outputs(path.join(FIXTURES, 'model.fp16.safetensors')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a sharded .bin folder (index + two files) loads as model.safetensors', async () => {
  const dir = folder(shards);
  try {
    assert.deepEqual(await outputs(dir), await outputs(FIXTURES));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('hub repos without model.safetensors: pytorch_model.bin, then the .bin index (safetensors first)', async () => {
  const dir = folder({ 'pytorch_model.bin': checkpoint('f32_untied'), ...shards });
  const base = { 'config.json': path.join(dir, 'config.json'), 'sentencepiece.bpe.model': path.join(dir, 'sentencepiece.bpe.model') };
  const repos = {
    'test/bin': { ...base, 'pytorch_model.bin': path.join(dir, 'pytorch_model.bin') },
    'test/sharded': { ...base, ...Object.fromEntries(Object.keys(shards).map((f) => [f, path.join(dir, f)])) },
    'test/both': { ...base, 'model.safetensors': path.join(FIXTURES, 'model.safetensors'), 'pytorch_model.bin': path.join(TORCH, 'legacy.bin') },
    'test/none': { ...base },
  };
  const srv = await startServer({ repos });
  try {
    const want = await outputs(FIXTURES);
    assert.deepEqual(await outputs('test/bin', { hubUrl: srv.url }), want);
    assert.deepEqual(await outputs('test/sharded', { hubUrl: srv.url }), want);
    assert.deepEqual(await outputs('test/both', { hubUrl: srv.url }), want); // safetensors wins: the legacy .bin is never read
    assert.ok(!srv.log.some((r) => r.path.startsWith('/test/both/') && r.file === 'pytorch_model.bin'));
    await assert.rejects(outputs('test/none', { hubUrl: srv.url }), (e) => e.status === 404 && /pytorch_model\.bin/.test(e.message));
  } finally {
    await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a checkpoint with a foreign global is refused before anything runs', async () => {
  const dir = folder({ 'pytorch_model.bin': fs.readFileSync(path.join(TORCH, 'evil_global.bin')) });
  try {
    await assert.rejects(outputs(dir), (e) => e.code === 'ERR_MODEL_FORMAT' && /posix\.system/.test(e.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
