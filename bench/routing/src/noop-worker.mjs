// The floor under routing's figure: a BullMQ worker that does nothing with
// each job, with routing's worker settings (concurrency, lock, stalled
// checks), on the same kind of jobs. run.mjs measures its CPU as it measures
// routing's. Arguments: <redis url> <prefix> <concurrency>. Prints "ready"
// once the worker runs; exits on SIGTERM.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [url, prefix, concurrency] = process.argv.slice(2);
const worker = new Worker('transactions', async () => 'routed', {
  connection: new Redis(url, { maxRetriesPerRequest: null }),
  prefix,
  concurrency: Number(concurrency),
  lockDuration: 30_000,
  stalledInterval: 30_000,
  maxStalledCount: 2_147_483_647,
});
worker.on('error', () => undefined);
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));
