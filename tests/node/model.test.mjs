// The public API on the fixture model, against the reference outputs (tests/fixtures/model_cases.jsonl)
// and the tokenizer goldens (tokenizer_cases.jsonl), for both wasm builds.
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from '../../js/index.node.js';
import {
  BUILDS, FIXTURES, compileBuild, requireBuild, loadModelCases, loadTokenizerCases, assertClose, assertFillMask, worstTokenCosine,
} from './helpers/common.mjs';

const cases = loadModelCases();

for (const build of BUILDS) {
  requireBuild(build);

  test(`[${build.name}] F32 model: every reference case (fill-mask, hidden states, pooling)`, { timeout: 300000 }, async () => {
    const model = await load(FIXTURES, { wasmModule: await compileBuild(build), worker: false, dtype: 'f32', cache: false });
    try {
      const cfg = model.config;
      assert.equal(cfg.hiddenSize, 64);
      assert.equal(cfg.numLayers, 2);
      assert.equal(cfg.numHeads, 4);
      assert.equal(cfg.vocabSize, 8002);
      assert.equal(cfg.maxPositions, 514);
      assert.equal(cfg.maxTokens, 512);
      const worst = { hidden: 0, mean: 0, l2: 0, cls: 0, score: 0 };
      for (const c of cases) {
        const truncation = c.truncation_max_length != null;
        const H = c.hidden_size;
        // Token ids: what the reference tokenizer returned.
        for (let b = 0; b < c.batch; b++) {
          const len = c.attention_mask[b].reduce((a, x) => a + x, 0);
          const tok = await model.tokenize(c.texts[b], { truncation });
          assert.deepEqual(tok.ids, c.input_ids[b].slice(0, len), `${c.name}[${b}] ids`);
        }
        const mean = await model.embed(c.texts, { pooling: 'mean', normalize: false, truncation });
        const l2 = await model.embed(c.texts, { pooling: 'mean', normalize: true, truncation });
        const cls = await model.embed(c.texts, { pooling: 'cls', normalize: false, truncation });
        const none = await model.embed(c.texts, { pooling: 'none', truncation });
        for (let b = 0; b < c.batch; b++) {
          const len = c.attention_mask[b].reduce((a, x) => a + x, 0);
          worst.mean = Math.max(worst.mean, assertClose(mean[b], c.mean_pooled[b], 1e-4, `${c.name}[${b}] mean_pooled`));
          worst.l2 = Math.max(worst.l2, assertClose(l2[b], c.mean_pooled_l2[b], 1e-5, `${c.name}[${b}] mean_pooled_l2`));
          worst.cls = Math.max(worst.cls, assertClose(cls[b], c.cls[b], 1e-4, `${c.name}[${b}] cls`));
          assert.equal(none[b].length, len * H, `${c.name}[${b}] pooling none: seqLen × hidden`);
          worst.hidden = Math.max(worst.hidden, assertClose(none[b], c.last_hidden_state[b].slice(0, len), 1e-4, `${c.name}[${b}] last_hidden_state`));
          if (c.fill_mask[b] != null) {
            const fm = await model.fillMask(c.texts[b], { topK: 5, truncation });
            worst.score = Math.max(worst.score, assertFillMask(fm, c.fill_mask[b], 1e-5, `${c.name}[${b}] fill_mask`));
          } else {
            await assert.rejects(model.fillMask(c.texts[b], { truncation }), (e) => e.code === 'ERR_NO_MASK');
          }
        }
        // A single string gives a single vector.
        const single = await model.embed(c.texts[0], { truncation });
        assert.ok(single instanceof Float32Array && single.length === H);
      }
      test.diagnostic?.(`[${build.name}] worst |diff|: ${JSON.stringify(worst)}`);
      console.log(`# [${build.name}] F32 worst |diff| vs reference: ${JSON.stringify(worst)}`);
    } finally {
      await model.dispose();
    }
  });

  test(`[${build.name}] errors: too long, no mask, bad arguments — and the model stays usable`, { timeout: 120000 }, async () => {
    const model = await load(FIXTURES, { wasmModule: await compileBuild(build), dtype: 'f32', cache: false });
    try {
      const long = cases.find((c) => c.name === 'long_truncated_512');
      await assert.rejects(model.fillMask(long.texts[0]), (e) => e.code === 'ERR_TOO_LONG' && /512/.test(e.message) && /truncation/.test(e.message));
      await assert.rejects(model.embed([long.texts[0], 'x']), (e) => e.code === 'ERR_TOO_LONG');
      const tok = await model.tokenize(long.texts[0]);
      assert.ok(tok.ids.length > 512, 'tokenize returns every id of a long text');
      assert.equal((await model.tokenize(long.texts[0], { truncation: true })).ids.length, 512);
      await assert.rejects(model.fillMask('no mask at all'), (e) => e.code === 'ERR_NO_MASK');
      await assert.rejects(model.fillMask('a <mask>', { topK: 0 }), (e) => e.code === 'ERR_INVALID_ARGUMENT');
      await assert.rejects(model.fillMask('a <mask>', { top_k: 3 }), (e) => e.code === 'ERR_INVALID_ARGUMENT');
      await assert.rejects(model.embed('x', { pooling: 'max' }), (e) => e.code === 'ERR_INVALID_ARGUMENT');
      await assert.rejects(model.embed([1, 2]), (e) => e.code === 'ERR_INVALID_ARGUMENT');
      const en = cases.find((c) => c.name === 'en_mask');
      assertFillMask(await model.fillMask(en.texts[0]), en.fill_mask[0], 1e-5, 'after errors');
      assert.deepEqual(await model.embed([]), []);
      const top1 = await model.fillMask(en.texts[0], { topK: 1 });
      assert.equal(top1.length, 1);
    } finally {
      await model.dispose();
    }
    await assert.rejects(model.fillMask('a <mask>'), (e) => e.code === 'ERR_INVALID_STATE');
  });

  test(`[${build.name}] tokenizer: all ${loadTokenizerCases().length} golden cases through wasm`, { timeout: 120000 }, async () => {
    const model = await load(FIXTURES, { wasmModule: await compileBuild(build), worker: false, cache: false });
    try {
      let n = 0;
      for (const c of loadTokenizerCases()) {
        const r = await model.tokenize(c.text);
        assert.deepEqual(r.ids, c.ids, `${c.name}: ids`);
        assert.deepEqual(r.tokens, c.tokens, `${c.name}: tokens`);
        n++;
      }
      console.log(`# [${build.name}] tokenizer: ${n} cases identical`);
    } finally {
      await model.dispose();
    }
  });

  test(`[${build.name}] F16 and BF16 safetensors and the default Q8_0`, { timeout: 120000 }, async () => {
    const wasmModule = await compileBuild(build);
    const en = cases.find((c) => c.name === 'en_mask');
    for (const [file, tol] of [['model.fp16.safetensors', 2e-2], ['model.bf16.safetensors', 1e-1]]) {
      const m = await load(`${FIXTURES}/${file}`, { wasmModule, worker: false, dtype: 'f32', cache: false });
      try {
        assertClose(await m.embed(en.texts[0], { normalize: false }), en.mean_pooled[0], tol, `${file} mean_pooled`);
      } finally {
        await m.dispose();
      }
    }
    const q = await load(FIXTURES, { wasmModule, worker: false, cache: false });
    try {
      let agree = 0;
      let total = 0;
      let worstCos = 1;
      for (const c of cases) {
        if (c.batch !== 1) continue;
        const trunc = c.truncation_max_length != null;
        const none = await q.embed(c.texts[0], { pooling: 'none', truncation: trunc });
        const H = c.hidden_size;
        worstCos = Math.min(worstCos, worstTokenCosine(none, c.last_hidden_state[0].slice(0, none.length / H).flat(), H));
        if (c.fill_mask[0]) {
          const fm = await q.fillMask(c.texts[0], { truncation: trunc });
          const lists = Array.isArray(fm[0]) ? fm : [fm];
          const refs = Array.isArray(c.fill_mask[0][0]) ? c.fill_mask[0] : [c.fill_mask[0]];
          lists.forEach((l, i) => { total++; if (l[0].token === refs[i][0].token) agree++; });
        }
      }
      console.log(`# [${build.name}] Q8_0: worst per-token cosine ${worstCos.toFixed(5)}, top-1 agreement ${agree}/${total}`);
      assert.ok(worstCos >= 0.99, `Q8_0 worst cosine ${worstCos}`);
      assert.ok(agree / total >= 0.75, `Q8_0 top-1 agreement ${agree}/${total}`);
    } finally {
      await q.dispose();
    }
  });
}
