// node redlock 5.0.0-beta.2 on ioredis, one server. Library defaults except
// retryCount: -1 (retry for ever, so acquire blocks as long as needed):
// retryDelay 200 ms with retryJitter 100 ms (a pause of 100-300 ms between
// tries), driftFactor 0.01; no `using`, so no automatic extension. Release is
// its compare-and-delete script.
'use strict';
const Redis = require('ioredis');
const { default: Redlock } = require('redlock');
const readline = require('readline');

const TTL_MS = 10000;

function parse(argv) {
  const out = { mode: argv[0] };
  for (let i = 1; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}

// CLOCK_REALTIME in ns, to sub-microsecond precision.
function nowNs() {
  return BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n + BigInt(Math.round(performance.now() * 1e6));
}

async function main() {
  const args = parse(process.argv.slice(2));
  const client = new Redis(args.url);
  const redlock = new Redlock([client], { retryCount: -1 });
  redlock.on('error', () => {}); // contention reports; not failures
  if (args.mode === 'pair') {
    const pairs = Number(args.pairs);
    const rounds = Number(args.rounds);
    const res = `bench-pair-redlock-${process.pid}`;
    for (let i = 0; i < Math.max(50, pairs / 4); i++) await (await redlock.acquire([res], TTL_MS)).release();
    const figures = [];
    for (let r = 0; r < rounds; r++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < pairs; i++) await (await redlock.acquire([res], TTL_MS)).release();
      figures.push(Number(process.hrtime.bigint() - t) / pairs);
    }
    const version = JSON.parse(require('fs').readFileSync(require('path').join(__dirname, 'node_modules/redlock/package.json'), 'utf8')).version;
    console.log(JSON.stringify({ name: `node redlock ${version.replace(/^v/, '')} (ioredis)`, ns_per_pair: figures }));
  } else {
    const plain = new Redis(args.url);
    await plain.ping();
    const rl = readline.createInterface({ input: process.stdin });
    const lines = rl[Symbol.asyncIterator]();
    process.stdout.write('ready\n');
    const go = await lines.next();
    if (go.done || go.value.trim() !== 'go') throw new Error('expected go');
    rl.close();
    const n = Number(args.iterations);
    const records = [];
    for (let i = 0; i < n; i++) {
      const t0 = nowNs();
      const lock = await redlock.acquire([args.lock], TTL_MS);
      const t1 = nowNs();
      const v = Number((await plain.get(args.counter)) || 0); // deliberately not atomic
      await plain.set(args.counter, v + 1);
      const t2 = nowNs();
      await lock.release();
      records.push(`{"w": ${args.worker}, "t0": ${t0}, "t1": ${t1}, "t2": ${t2}}`);
    }
    process.stdout.write(records.join('\n') + '\ndone\n');
    plain.disconnect();
  }
  client.disconnect();
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
