// Prints the V8 heap usage of the first isolate behind a workerd inspector port as JSON:
//   node --experimental-websocket tests/edge/heap-usage.mjs PORT
const port = Number(process.argv[2]);
const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const ws = new WebSocket(list[0].webSocketDebuggerUrl);
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('inspector connection failed')); });
const result = await new Promise((resolve) => {
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.id === 1) resolve(m.result ?? null);
  };
  ws.send(JSON.stringify({ id: 1, method: 'Runtime.getHeapUsage' }));
});
ws.close();
process.stdout.write(JSON.stringify(result));
process.exit(0);
