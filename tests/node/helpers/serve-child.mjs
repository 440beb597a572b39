// Runs the test HTTP server (server.mjs) in its own process, so memory measurements of the client see
// only the client. Usage: node serve-child.mjs '<repos JSON>'; prints the URL on stdout; stops on stdin end.
import { startServer } from './server.mjs';

const repos = JSON.parse(process.argv[2] || '{}');
const srv = await startServer({ repos });
process.stdout.write(srv.url + '\n');
process.stdin.resume();
process.stdin.on('end', async () => { await srv.close(); process.exit(0); });
