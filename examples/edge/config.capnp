# workerd configuration for the xlmr-wasm edge example.
#
#   make                                           # dist/xlmr.wasm
#   npx workerd serve examples/edge/config.capnp   # http://127.0.0.1:8787
#   curl -s -X POST -H 'content-type: application/json' -d '{"text":"Hello <mask>!"}' http://127.0.0.1:8787/fill-mask
#
# Module names mirror the repository layout, so the worker's relative imports ('../../js/…') resolve
# the same in workerd as on disk. Every module the worker imports must be listed: the package's edge
# entry (js/index.workerd.js) and its static imports. `wasm` modules are compiled by workerd when it
# loads the worker, so the worker receives a ready WebAssembly.Module (no compiling from bytes at run time).
# tests/edge checks that this list matches the import graph of js/index.workerd.js.
#
# The model is the bundled tiny test model (random weights, a fill-mask head). For another, convert it to GGUF
# (`node bin/xlmr.js convert --model <hub id|folder|URL> --dtype q8_0 -o my.gguf`) and point the
# "examples/edge/model.gguf" module at that file: a fine-tuned classifier, reranker, NER or QA model serves
# /classify, /rerank, /zero-shot, /ner or /qa (the routes its head cannot serve answer 400 ERR_UNSUPPORTED).
# Mind the memory limit: see README, "Edge functions".

using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "xlmr", worker = .xlmrWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "xlmr") ],
);

const xlmrWorker :Workerd.Worker = (
  modules = [
    (name = "examples/edge/worker.mjs", esModule = embed "worker.mjs"),
    (name = "examples/edge/model.gguf", data = embed "../../models/tiny/xlmr-tiny-random.q8_0.gguf"),
    (name = "dist/xlmr.wasm", wasm = embed "../../dist/xlmr.wasm"),
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
  compatibilityDate = "2025-09-01",
);
