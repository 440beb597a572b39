// The `xlmr` command line: fill-mask, embed, tokenize, convert, info, and the task heads' classify, rerank,
// zero-shot, ner and qa.
// Progress goes to stderr (a bar on a terminal, plain lines otherwise); results go to stdout.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { load, XlmrError } from './index.node.js';

export const DEFAULT_MODEL = 'FacebookAI/xlm-roberta-base';

const HELP = `usage: xlmr <command> [options] [text ...]

commands:
  fill-mask TEXT...   top-k predictions for each <mask> in each text
  embed TEXT...       sentence embeddings (one vector per text)
  tokenize TEXT...    token ids and pieces
  classify TEXT...    labels of a text-classification model (--text-pair T pairs each text with T)
  rerank --query Q DOC...
                      documents ranked by a cross-encoder's score for the query
  zero-shot --labels a,b,c TEXT...
                      candidate labels ranked by an NLI model
  ner TEXT...         entities of a token-classification model, with character offsets
  qa --question Q --context C
                      answer spans of a question-answering model (context from stdin when not given)
  convert -o FILE     write the model as GGUF (--dtype, --embedding-type)
  trim -o FILE (--corpus FILE,... | --languages de,fr,...)
                      write a copy cut to the vocabulary of a corpus (one text per line) or of the
                      bundled language samples (models/corpora), and report how much of the held-aside
                      texts still tokenizes unchanged
  info                the model's configuration

options:
  -m, --model M       path, URL or hub id (default ${DEFAULT_MODEL});
                      "tiny" is the small random test model bundled with the package
  --json              print one JSON document
  -k, --top-k N       fill-mask: predictions per mask (5); classify: labels per text (1, "all": every
                      label); rerank: documents shown (all); qa: answers (1)
  --text-pair T       classify: the second text of each pair
  --function F        classify: sigmoid | softmax | none (the model's default)
  --query Q           rerank: the query
  --raw-scores        rerank: the logits instead of their sigmoid
  --labels a,b,c      zero-shot: the candidate labels, comma-separated
  --template T        zero-shot: the hypothesis, {} for the label ("This example is {}.")
  --multi-label       zero-shot: score each label on its own (entailment vs contradiction)
  --aggregation A     ner: none | simple | first | average | max (simple)
  --stride N          ner: window a long text with N tokens of overlap
  --question Q        qa: the question
  --context C         qa: the text holding the answer
  --max-answer-len N  qa: longest answer in tokens (15)
  --pooling P         embed: mean | cls | none (mean)
  --no-normalize      embed: skip L2 normalisation
  --batch-size N      embed: texts per batch (16)
  --truncation        cut texts longer than the model's maximum instead of failing
  --dtype D           weights kept when reading float safetensors: q8_0 | q4_0 | f16 | f32 (q8_0)
  --embedding-type D  the word-embedding table's type, when not the dtype's: q8_0 | q4_0 | f16 | f32
  -o, --output FILE   convert, trim: where to write the .gguf
  --corpus F1,F2      trim: corpus files, UTF-8, one text per line
  --languages L1,L2   trim: languages of the bundled samples (models/corpora/*.txt)
  --vocab-size N      trim: fill up to N pieces with the corpus scripts' best-scoring ones
  --held-out F        trim: share of each corpus's lines set aside to report on (0.1)
  --hub-url URL       hub base URL (default $XLMR_HUB_URL or https://huggingface.co)
  --revision R        hub revision (main)
  --cache DIR         cache folder for converted models; --no-cache to skip the cache
  --no-worker         run the model in this thread
  --wasm FILE         use this build of the core instead of the package's dist/xlmr.wasm
  -q, --quiet         no progress output
  -h, --help          this text;  --version  the package version

Texts come from the arguments, or one per line from standard input when there are none.`;

const FLAGS = {
  '--model': 'model', '-m': 'model', '--top-k': 'topK', '-k': 'topK', '--pooling': 'pooling', '--batch-size': 'batchSize',
  '--dtype': 'dtype', '--embedding-type': 'embeddingType', '--output': 'output', '-o': 'output', '--hub-url': 'hubUrl', '--revision': 'revision', '--cache': 'cache',
  '--wasm': 'wasm', '--text-pair': 'textPair', '--function': 'functionToApply', '--query': 'query', '--labels': 'labels',
  '--template': 'template', '--aggregation': 'aggregation', '--stride': 'stride', '--question': 'question',
  '--context': 'context', '--max-answer-len': 'maxAnswerLen', '--corpus': 'corpus', '--languages': 'languages',
  '--vocab-size': 'vocabSize', '--held-out': 'heldOut',
};
const SWITCHES = {
  '--json': ['json', true], '--no-normalize': ['normalize', false], '--truncation': ['truncation', true],
  '--no-cache': ['cache', false], '--no-worker': ['worker', false], '--quiet': ['quiet', true], '-q': ['quiet', true],
  '--help': ['help', true], '-h': ['help', true], '--version': ['version', true],
  '--raw-scores': ['rawScores', true], '--multi-label': ['multiLabel', true],
};

/** The options only some commands take (the others are common to all). */
const COMMAND_OPTIONS = {
  topK: ['fill-mask', 'classify', 'rerank', 'qa'], pooling: ['embed'], normalize: ['embed'], batchSize: ['embed', 'rerank'],
  output: ['convert', 'trim'], corpus: ['trim'], languages: ['trim'], vocabSize: ['trim'], heldOut: ['trim'], textPair: ['classify'], functionToApply: ['classify'], query: ['rerank'], rawScores: ['rerank'],
  labels: ['zero-shot'], template: ['zero-shot'], multiLabel: ['zero-shot'], aggregation: ['ner'], stride: ['ner'],
  question: ['qa'], context: ['qa'], maxAnswerLen: ['qa'],
};
const OPTION_NAMES = Object.fromEntries(Object.entries({ ...FLAGS, ...Object.fromEntries(Object.entries(SWITCHES).map(([k, v]) => [k, v[0]])) })
  .filter(([flag]) => flag.startsWith('--')).map(([flag, key]) => [key, flag]));
OPTION_NAMES.normalize = '--no-normalize';
const AGGREGATIONS = ['none', 'simple', 'first', 'average', 'max'];
const FUNCTIONS = ['sigmoid', 'softmax', 'none'];

class UsageError extends Error {}

export function parseArgs(argv) {
  const o = { texts: [], normalize: true };
  let rest = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (rest || !a.startsWith('-') || a === '-') {
      if (!o.command) o.command = a;
      else o.texts.push(a);
      continue;
    }
    if (a === '--') { rest = true; continue; }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (FLAGS[name]) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      o[FLAGS[name]] = v;
    } else if (SWITCHES[name] && eq < 0) {
      o[SWITCHES[name][0]] = SWITCHES[name][1];
    } else {
      throw new UsageError(`unknown option ${a}`);
    }
  }
  if (o.topK === 'all' && o.command === 'classify') o.topK = null;
  for (const k of ['topK', 'batchSize', 'stride', 'maxAnswerLen', 'vocabSize']) {
    if (o[k] !== undefined && o[k] !== null) {
      const n = Number(o[k]);
      if (!Number.isInteger(n) || n < (k === 'stride' ? 0 : 1)) {
        throw new UsageError(`${OPTION_NAMES[k]} must be a ${k === 'stride' ? 'non-negative' : 'positive'} integer`);
      }
      o[k] = n;
    }
  }
  if (o.aggregation !== undefined && !AGGREGATIONS.includes(o.aggregation)) {
    throw new UsageError(`--aggregation must be one of ${AGGREGATIONS.join(', ')}`);
  }
  if (o.functionToApply !== undefined && !FUNCTIONS.includes(o.functionToApply)) {
    throw new UsageError(`--function must be one of ${FUNCTIONS.join(', ')}`);
  }
  if (o.labels !== undefined) {
    o.labels = o.labels.split(',').map((l) => l.trim()).filter(Boolean);
    if (!o.labels.length) throw new UsageError('--labels needs at least one label: --labels a,b,c');
  }
  return o;
}

/** A usage error for an option the command does not take, or a required one it lacks (null when all is well). */
export function commandUsageError(o) {
  for (const [key, commands] of Object.entries(COMMAND_OPTIONS)) {
    const given = key === 'normalize' ? o.normalize === false : o[key] !== undefined;
    if (given && !commands.includes(o.command)) return `${OPTION_NAMES[key]} is not an option of ${o.command}`;
  }
  if (o.command === 'trim' && (o.corpus === undefined) === (o.languages === undefined)) return 'give one of --corpus and --languages';
  if (o.heldOut !== undefined && !(Number(o.heldOut) >= 0 && Number(o.heldOut) < 1)) return '--held-out must be a number in [0, 1)';
  const required = { convert: ['output'], trim: ['output'], rerank: ['query'], 'zero-shot': ['labels'], qa: ['question'] }[o.command] ?? [];
  for (const key of required) if (o[key] === undefined) return `${OPTION_NAMES[key]} is required`;
  if (o.command === 'qa' && o.texts.length) return 'qa takes the question and context as --question and --context, not as arguments';
  return null;
}

/** "tiny" -> the bundled test model: models/tiny/ in the package, else the fixtures of a checkout. */
export function tinyModelPath() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const p of [path.join(here, '..', 'models', 'tiny'), path.join(here, '..', 'tests', 'fixtures')]) {
    if (fs.existsSync(p)) return p;
  }
  throw new UsageError('the bundled tiny model is missing from this installation');
}

function fmtBytes(n) {
  if (!n) return '0 B';
  const u = ['B', 'kB', 'MB', 'GB'];
  const i = Math.min(u.length - 1, Math.floor(Math.log10(n) / 3));
  return `${(n / 1000 ** i).toFixed(i ? 1 : 0)} ${u[i]}`;
}

/** onProgress for a terminal (one redrawn bar) or a log (a line per phase and per 10%). */
export function progressPrinter(stream, { tty = stream.isTTY } = {}) {
  let key = null;
  let lastDecile = -1;
  let lastDraw = 0;
  let open = false;
  return {
    onProgress(ev) {
      if (ev.phase === 'ready') { this.done(); return; }
      const k = `${ev.phase} ${ev.file ?? ''}`;
      const pct = ev.total ? Math.min(100, Math.floor((ev.loaded / ev.total) * 100)) : null;
      const label = { download: 'downloading', read: 'reading', cache: 'reading cached', save: 'caching' }[ev.phase] ?? ev.phase;
      const size = ev.total ? `${fmtBytes(ev.loaded)} / ${fmtBytes(ev.total)}` : fmtBytes(ev.loaded);
      if (tty) {
        const now = Date.now();
        if (k === key && now - lastDraw < 80 && ev.loaded !== ev.total) return;
        lastDraw = now;
        const width = 30;
        const bar = pct === null ? '' : `[${'#'.repeat(Math.round((pct / 100) * width)).padEnd(width, '.')}] ${String(pct).padStart(3)}% `;
        if (k !== key && open) stream.write('\n');
        stream.write(`\r\x1b[2K${label} ${ev.file ?? ''} ${bar}${size}`);
        open = true;
        key = k;
      } else {
        // Plain lines for logs: a small file is one line when read; a large one a line per 10%.
        const big = !ev.total || ev.total >= 8e6;
        const decile = pct === null ? -1 : Math.floor(pct / 10);
        if (k !== key) {
          key = k;
          lastDecile = decile;
          if (big) stream.write(`${label} ${ev.file ?? ''} ${pct === null ? '' : pct + '% '}${size}\n`);
        } else if (big && decile > lastDecile) {
          lastDecile = decile;
          stream.write(`${label} ${ev.file ?? ''} ${pct}% ${size}\n`);
        }
        if (!big && ev.loaded === ev.total && lastDecile !== 10) {
          lastDecile = 10;
          stream.write(`${label} ${ev.file ?? ''} ${fmtBytes(ev.total)}\n`);
        }
      }
    },
    done() {
      if (tty && open) stream.write('\n');
      open = false;
    },
  };
}

async function readStdinText(stdin) {
  const chunks = [];
  for await (const c of stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

async function readStdinLines(stdin) {
  return (await readStdinText(stdin)).split(/\r?\n/).filter((l) => l.trim() !== '');
}

const CORPORA = fileURLToPath(new URL('../models/corpora/', import.meta.url));

/** The bundled language samples: models/corpora/<language>.txt. */
function languageList() {
  try {
    return fs.readdirSync(CORPORA).filter((f) => f.endsWith('.txt')).map((f) => f.slice(0, -4)).sort().join(', ');
  } catch {
    return 'none installed';
  }
}

/** trim's corpus files, or the bundled samples of its languages: { name: lines }. Throws a UsageError naming the
 * file that is missing, empty or not UTF-8. */
function readCorpora(o) {
  const files = o.corpus !== undefined
    ? o.corpus.split(',').filter(Boolean).map((f) => [path.basename(f).replace(/\.txt$/, ''), path.resolve(f)])
    : o.languages.split(',').map((l) => l.trim()).filter(Boolean).map((l) => {
      if (!/^[a-z]{2,3}(_[A-Za-z]+)?$/.test(l) || !fs.existsSync(path.join(CORPORA, `${l}.txt`))) {
        throw new UsageError(`no bundled sample for language ${JSON.stringify(l)}; there are: ${languageList()}`);
      }
      return [l, path.join(CORPORA, `${l}.txt`)];
    });
  if (!files.length) throw new UsageError('no corpus given');
  const groups = {};
  for (const [name, file] of files) {
    let bytes;
    try { bytes = fs.readFileSync(file); } catch (e) { throw new UsageError(`cannot read ${file}: ${e.code ?? e.message}`); }
    let text;
    try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch { throw new UsageError(`${file} is not UTF-8 text`); }
    const lines = text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
    if (!lines.length) throw new UsageError(`${file} is empty: a corpus has one text per line`);
    groups[name in groups ? `${name}#${Object.keys(groups).length}` : name] = lines;
  }
  return groups;
}

/** Trims the model to the corpus and writes o.output (nothing on failure); the report as text or JSON. */
async function trimTo(o, model, corpus) {
  const { gguf, report } = await model.trim({ corpus, vocabSize: o.vocabSize, heldOut: o.heldOut === undefined ? undefined : Number(o.heldOut) });
  const file = path.resolve(o.output);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await fs.promises.writeFile(tmp, gguf);
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  if (o.json) return JSON.stringify({ output: file, bytes: gguf.byteLength, ...report }) + '\n';
  const lines = [`wrote ${file} (${fmtBytes(gguf.byteLength)}): ${report.vocabSize} of ${report.originalVocabSize} pieces, trimmed on ${report.corpusTexts} texts`];
  for (const h of report.heldOut) {
    lines.push(h.texts
      ? `  ${h.name}: ${h.unchanged} of ${h.texts} held-aside texts tokenize unchanged (${(100 * h.share).toFixed(1)}%)`
      : `  ${h.name}: no text held aside (too few lines for --held-out ${report.heldOutFraction})`);
  }
  return lines.join('\n') + '\n';
}

function round(x, d = 6) { return Number(x.toFixed(d)); }

export async function main(argv, { stdout = process.stdout, stderr = process.stderr, stdin = process.stdin } = {}) {
  let o;
  try {
    o = parseArgs(argv);
  } catch (e) {
    stderr.write(`xlmr: ${e.message}\n\n${HELP}\n`);
    return 2;
  }
  if (o.version) {
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const commands = ['fill-mask', 'embed', 'tokenize', 'classify', 'rerank', 'zero-shot', 'ner', 'qa', 'convert', 'trim', 'info'];
  if (o.help || !o.command) { (o.help ? stdout : stderr).write(HELP + '\n'); return o.help ? 0 : 2; }
  if (!commands.includes(o.command)) { stderr.write(`xlmr: unknown command ${o.command}; one of ${commands.join(', ')}\n`); return 2; }

  const usage = commandUsageError(o);
  if (usage) { stderr.write(`xlmr ${o.command}: ${usage}\n`); return 2; }
  let texts = o.texts;
  const needsText = ['fill-mask', 'embed', 'tokenize', 'classify', 'rerank', 'zero-shot', 'ner'].includes(o.command);
  if (needsText && !texts.length) {
    const what = o.command === 'rerank' ? 'documents' : 'text';
    if (stdin.isTTY) { stderr.write(`xlmr ${o.command}: give the ${what} as arguments or on standard input\n`); return 2; }
    texts = await readStdinLines(stdin);
    if (!texts.length) { stderr.write(`xlmr ${o.command}: no ${what} on standard input\n`); return 2; }
  }
  if (o.command === 'qa' && o.context === undefined) {
    if (stdin.isTTY) { stderr.write('xlmr qa: give the context as --context C or on standard input\n'); return 2; }
    o.context = await readStdinText(stdin);
  }

  const modelSource = !o.model ? DEFAULT_MODEL : o.model === 'tiny' ? tinyModelPath() : o.model;
  const progress = o.quiet ? null : progressPrinter(stderr);
  const options = { onProgress: progress ? (ev) => progress.onProgress(ev) : undefined };
  for (const k of ['dtype', 'embeddingType', 'hubUrl', 'revision', 'worker']) if (o[k] !== undefined) options[k] = o[k];
  if (o.cache !== undefined) options.cache = o.cache;
  if (o.wasm) options.wasmUrl = pathToFileURL(path.resolve(o.wasm)).href;
  if (o.command === 'convert' || o.command === 'trim') options.cache = false;
  let corpus;
  try {
    if (o.command === 'trim') corpus = readCorpora(o);
  } catch (e) {
    stderr.write(`xlmr trim: ${e.message}\n`);
    return 2;
  }

  let model;
  try {
    model = await load(modelSource, options);
    progress?.done();
    const out = await run(o, model, texts);
    if (o.command === 'trim') stdout.write(await trimTo(o, model, corpus));
    else if (o.command !== 'convert') stdout.write(out);
    return 0;
  } catch (e) {
    progress?.done();
    const code = e instanceof XlmrError ? e.code : 'ERR_INTERNAL';
    if (o.json) stdout.write(JSON.stringify({ error: { code, message: e.message } }) + '\n');
    stderr.write(`xlmr: ${e.message} (${code})\n`);
    return 1;
  } finally {
    await model?.dispose();
  }
}

async function run(o, model, texts) {
  switch (o.command) {
    case 'info': {
      const info = { config: model.config, load: model.loadInfo };
      if (o.json) return JSON.stringify(info, null, 2) + '\n';
      return Object.entries(model.config).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('\n') + '\n';
    }
    case 'tokenize': {
      const res = [];
      for (const t of texts) res.push({ text: t, ...(await model.tokenize(t, { truncation: !!o.truncation })) });
      if (o.json) return JSON.stringify(res.length === 1 ? res[0] : res, null, 2) + '\n';
      return res.map((r) => `ids:    ${r.ids.join(' ')}\ntokens: ${r.tokens.join(' ')}`).join('\n\n') + '\n';
    }
    case 'fill-mask': {
      const res = [];
      for (const t of texts) res.push({ text: t, predictions: await model.fillMask(t, { topK: o.topK ?? 5, truncation: !!o.truncation }) });
      if (o.json) return JSON.stringify(res.length === 1 ? res[0].predictions : res.map((r) => r.predictions), null, 2) + '\n';
      const lines = [];
      for (const r of res) {
        lines.push(r.text);
        const lists = Array.isArray(r.predictions[0]) ? r.predictions : [r.predictions];
        lists.forEach((list, i) => {
          if (lists.length > 1) lines.push(`  mask ${i + 1}:`);
          for (const p of list) lines.push(`  ${p.score.toFixed(4)}  ${JSON.stringify(p.token_str).padEnd(16)} ${p.sequence}`);
        });
      }
      return lines.join('\n') + '\n';
    }
    case 'embed': {
      const opts = { pooling: o.pooling ?? 'mean', normalize: o.normalize, truncation: !!o.truncation };
      if (o.batchSize) opts.batchSize = o.batchSize;
      const vecs = await model.embed(texts, opts);
      if (o.json) {
        const arr = vecs.map((v) => Array.from(v, (x) => round(x, 7)));
        return JSON.stringify(texts.length === 1 ? arr[0] : arr) + '\n';
      }
      return vecs.map((v) => Array.from(v, (x) => x.toFixed(6)).join(' ')).join('\n') + '\n';
    }
    case 'classify': case 'rerank': case 'zero-shot': case 'ner': case 'qa':
      return runTask(o, model, texts);
    case 'trim':
      return '';
    case 'convert': {
      const file = path.resolve(o.output);
      const tmp = `${file}.${process.pid}.tmp`;
      const fh = await fs.promises.open(tmp, 'w');
      let size = 0;
      try {
        for await (const chunk of model.exportGguf()) {
          let off = 0;
          while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
          size += chunk.byteLength;
        }
        await fh.close();
        await fs.promises.rename(tmp, file);
      } catch (e) {
        await fh.close().catch(() => {});
        await fs.promises.rm(tmp, { force: true });
        throw e;
      }
      const msg = `wrote ${file} (${fmtBytes(size)})`;
      if (o.json) process.stdout.write(JSON.stringify({ output: file, bytes: size, dtype: o.dtype ?? 'q8_0', embeddingType: o.embeddingType ?? o.dtype ?? 'q8_0' }) + '\n');
      else process.stderr.write(msg + '\n');
      return '';
    }
    default:
      throw new UsageError(o.command);
  }
}

const json = (x) => JSON.stringify(x, null, 2) + '\n';
const score = (x) => x.toFixed(4);
/** One result for one input, a list of them for several (as fill-mask prints). */
const oneOrList = (list) => (list.length === 1 ? list[0] : list);

async function runTask(o, model, texts) {
  const truncation = !!o.truncation;
  switch (o.command) {
    case 'classify': {
      const inputs = o.textPair === undefined ? texts : texts.map((text) => ({ text, textPair: o.textPair }));
      const opts = { topK: o.topK === undefined ? 1 : o.topK, truncation };
      if (o.functionToApply) opts.functionToApply = o.functionToApply;
      const res = await model.classify(inputs, opts);
      if (o.json) return json(oneOrList(res));
      return texts.map((t, i) => [t, ...res[i].map((r) => `  ${score(r.score)}  ${r.label}`)].join('\n')).join('\n') + '\n';
    }
    case 'rerank': {
      const opts = { returnDocuments: true, truncation, rawScores: !!o.rawScores };
      if (o.topK) opts.topK = o.topK;
      if (o.batchSize) opts.batchSize = o.batchSize;
      const res = await model.rerank(o.query, texts, opts);
      if (o.json) return json(res);
      return res.map((r) => `${score(r.score)}  [${r.index}] ${r.document}`).join('\n') + '\n';
    }
    case 'zero-shot': {
      const opts = { multiLabel: !!o.multiLabel };
      if (o.template !== undefined) opts.hypothesisTemplate = o.template;
      const res = [];
      for (const t of texts) res.push(await model.zeroShot(t, o.labels, opts));
      if (o.json) return json(oneOrList(res));
      return res.map((r) => [r.sequence, ...r.labels.map((l, i) => `  ${score(r.scores[i])}  ${l}`)].join('\n')).join('\n') + '\n';
    }
    case 'ner': {
      const opts = { aggregationStrategy: o.aggregation ?? 'simple' };
      if (o.stride !== undefined) opts.stride = o.stride;
      const res = [];
      for (const t of texts) res.push(await model.tokenClassify(t, opts));
      if (o.json) return json(oneOrList(res));
      return texts.map((t, i) => [t, ...res[i].map((e) => `  ${(e.entity_group ?? e.entity).padEnd(8)} ${score(e.score)}  ${e.start}-${e.end}  ${JSON.stringify(t.slice(e.start, e.end))}`)].join('\n')).join('\n') + '\n';
    }
    case 'qa': {
      const opts = { topK: o.topK ?? 1 };
      if (o.maxAnswerLen) opts.maxAnswerLen = o.maxAnswerLen;
      const res = await model.answer({ question: o.question, context: o.context }, opts);
      if (o.json) return json(res);
      return (Array.isArray(res) ? res : [res]).map((a) => `${score(a.score)}  ${a.start}-${a.end}  ${JSON.stringify(a.answer)}`).join('\n') + '\n';
    }
    default:
      throw new UsageError(o.command);
  }
}
