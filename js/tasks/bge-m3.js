// BGE-M3's scoring helpers on the outputs of embed(texts, { output: 'sparse' | 'colbert' | 'all' }), as
// FlagEmbedding's BGEM3FlagModel computes them. Pure functions on numbers: no model needed.

/** compute_lexical_matching_score: the sum over the token ids two lexical-weight maps share of their products. */
export function lexicalMatchingScore(a, b) {
  let s = 0;
  for (const id of Object.keys(a)) if (Object.hasOwn(b, id)) s += a[id] * b[id];
  return s;
}

/** colbert_score: for each query vector (rows of hiddenSize floats) its best dot product with a passage vector,
 *  summed and divided by the number of query vectors. */
export function colbertScore(query, passage, hiddenSize) {
  if (!Number.isInteger(hiddenSize) || hiddenSize < 1 || query.length % hiddenSize || passage.length % hiddenSize) {
    throw new TypeError('colbertScore(query, passage, hiddenSize): both are rows of hiddenSize floats');
  }
  const nq = query.length / hiddenSize, np = passage.length / hiddenSize;
  let total = 0;
  for (let i = 0; i < nq; i++) {
    let best = -Infinity;
    for (let j = 0; j < np; j++) {
      let d = 0;
      for (let k = 0; k < hiddenSize; k++) d += query[i * hiddenSize + k] * passage[j * hiddenSize + k];
      if (d > best) best = d;
    }
    total += best;
  }
  return nq ? total / nq : 0;
}
