/**
 * One reader process of the consumer bench: reads rank `--rank` of `--world-size` of a run with
 * synfarm's reader, one image decode at a time (`--decode`), as bench/consumer/read_py.py does with
 * Python's webdataset. It waits until `--start-at` (epoch ms) so that every process of a side
 * starts its loop together, then prints {samples, start, end} (epoch ms) as JSON.
 */
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeSamples, openRun, readRun } from '../../consumer';

const { values } = parseArgs({
  options: {
    output: { type: 'string' },
    run: { type: 'string' },
    rank: { type: 'string', default: '0' },
    'world-size': { type: 'string', default: '1' },
    decode: { type: 'boolean', default: false },
    'start-at': { type: 'string', default: '0' },
  },
});
// One decode thread, as PIL decodes on the Python side: the processes are the parallelism.
sharp.concurrency(1);
const run = await openRun(values.output!, values.run!);
const reader = readRun({
  run,
  shuffle: false,
  rank: Number(values.rank),
  worldSize: Number(values['world-size']),
  remainder: 'drop',
});
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(values['start-at']) - Date.now())));
const start = Date.now();
let samples = 0;
if (values.decode) {
  for await (const _ of decodeSamples(reader, { concurrency: 1 })) samples++;
} else {
  for await (const _ of reader) samples++;
}
process.stdout.write(`${JSON.stringify({ samples, start, end: Date.now() })}\n`);
