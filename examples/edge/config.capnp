# workerd configuration for the xlmr-wasm edge example (what the tests run; wrangler.toml is the Cloudflare setup).
#
#   make                                           # dist/xlmr.wasm, dist/xlmr-relaxed.wasm
#   npx workerd serve examples/edge/config.capnp   # from the repository's root: http://127.0.0.1:8787
#   curl -s -X POST -H 'content-type: application/json' -d '{"text":"Hello <mask>!"}' http://127.0.0.1:8787/fill-mask
#
# The model streams from a second service standing in for R2: "models", a `disk` service serving models/tiny/
# (a relative path is read from workerd's working directory, not from this file's; override it with
# `--directory-path models=/abs/dir`), bound to the worker as MODELS; MODEL_KEY names the file in it. An HTTP
# server can stand in instead: replace the disk service with
# `(name = "models", external = (address = "127.0.0.1:9000", http = ()))` (the tests do). For another model,
# convert it to GGUF (`node bin/xlmr.js convert --model <hub id|folder|URL> --dtype q8_0 -o my.gguf`), put it
# in the served folder and set MODEL_KEY: a fine-tuned classifier, reranker, NER or QA model serves /classify,
# /rerank, /zero-shot, /ner or /qa (the routes its head cannot serve answer 400 ERR_UNSUPPORTED). Mind the
# memory limit: see README, "Edge functions". config-bundled.capnp bundles the model as a data module instead.
#
# Module names mirror the repository layout, so the worker's relative imports ('../../js/…') resolve
# the same in workerd as on disk. Every module the worker imports must be listed: the package's edge
# entry (js/index.workerd.js) and its static imports; the first is the worker's main module. `wasm` modules are compiled by workerd when it
# loads the worker, so the worker receives a ready WebAssembly.Module (no compiling from bytes at run time).
# tests/edge checks that this list matches the import graph of examples/edge/worker.mjs.

using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "xlmr", worker = .xlmrWorker),
    (name = "models", disk = (path = "models/tiny", writable = false)),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "xlmr") ],
);

const xlmrWorker :Workerd.Worker = (
  modules = [
    (name = "examples/edge/worker.mjs", esModule = embed "worker.mjs"),
    (name = "examples/edge/handler.mjs", esModule = embed "handler.mjs"),
    (name = "dist/xlmr.wasm", wasm = embed "../../dist/xlmr.wasm"),
    (name = "dist/xlmr-relaxed.wasm", wasm = embed "../../dist/xlmr-relaxed.wasm"),
    (name = "js/index.workerd.js", esModule = embed "../../js/index.workerd.js"),
    (name = "js/api.js", esModule = embed "../../js/api.js"),
    (name = "js/engine.js", esModule = embed "../../js/engine.js"),
    (name = "js/errors.js", esModule = embed "../../js/errors.js"),
    (name = "js/ops.js", esModule = embed "../../js/ops.js"),
    (name = "js/pipeline.js", esModule = embed "../../js/pipeline.js"),
    (name = "js/platform-web.js", esModule = embed "../../js/platform-web.js"),
    (name = "js/sha256.js", esModule = embed "../../js/sha256.js"),
    (name = "js/sources.js", esModule = embed "../../js/sources.js"),
    (name = "js/tasks/bge-m3.js", esModule = embed "../../js/tasks/bge-m3.js"),
    (name = "js/tasks/common.js", esModule = embed "../../js/tasks/common.js"),
    (name = "js/tasks/question-answering.js", esModule = embed "../../js/tasks/question-answering.js"),
    (name = "js/tasks/text-classification.js", esModule = embed "../../js/tasks/text-classification.js"),
    (name = "js/tasks/token-classification.js", esModule = embed "../../js/tasks/token-classification.js"),
    (name = "js/wasm.js", esModule = embed "../../js/wasm.js"),
  ],
  bindings = [
    (name = "MODELS", service = "models"),
    (name = "MODEL_KEY", text = "xlmr-tiny-random.q8_0.gguf"),
  ],
  compatibilityDate = "2025-09-01",
);
