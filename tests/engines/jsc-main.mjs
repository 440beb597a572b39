// jsc -m tests/engines/jsc-main.mjs -- PLAN.json: runs core.mjs's runCore in JavaScriptCore's shell on the files the
// plan names ({ wasm, sources: { name: { dtype, config, tokenizer, weights } }, texts }: paths) and prints the
// result as one JSON line. Only the shell's own read() and print() beyond the language.
import { runCore } from './core.mjs';

const plan = JSON.parse(read(arguments[0]));
const bin = (p) => (p ? read(p, 'binary') : null);
const sources = {};
for (const [name, s] of Object.entries(plan.sources)) {
  sources[name] = { dtype: s.dtype, config: bin(s.config), tokenizer: bin(s.tokenizer), weights: bin(s.weights) };
}
print(JSON.stringify(runCore(bin(plan.wasm), sources, plan.texts)));
