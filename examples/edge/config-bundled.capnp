# workerd configuration for the edge example with the model bundled as a data module (worker-bundled.mjs):
#
#   npx workerd serve examples/edge/config-bundled.capnp   # http://127.0.0.1:8787
#
# No storage service, at the cost of a second copy of the model in the isolate (the data module's ArrayBuffer
# beside wasm memory; README, "Edge functions"). config.capnp, which streams the model, is the default. Point
# the "examples/edge/model.gguf" module at another GGUF to serve it. tests/edge checks that this list matches
# the import graph of examples/edge/worker-bundled.mjs.

using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "xlmr", worker = .xlmrWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "xlmr") ],
);

const xlmrWorker :Workerd.Worker = (
  modules = [
    (name = "examples/edge/worker-bundled.mjs", esModule = embed "worker-bundled.mjs"),
    (name = "examples/edge/handler.mjs", esModule = embed "handler.mjs"),
    (name = "examples/edge/model.gguf", data = embed "../../models/tiny/xlmr-tiny-random.q8_0.gguf"),
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
  compatibilityDate = "2025-09-01",
);
