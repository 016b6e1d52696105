/**
 * `npm run chaos -- --seed N --minutes M [--port-offset P] [--big-shards K]`: one chaos run of
 * the real pipeline (see test/chaos/run.ts), its one-screen summary on stdout, the full report
 * (with every RSS sample) in .state/chaos-<P>/report.json. Exit 0 only when every check passed.
 */
import { parseArgs } from 'node:util';
import { runChaos } from './run';
import { formatSummary } from './summary';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    minutes: { type: 'string', default: '0' },
    'port-offset': { type: 'string', default: process.env.SYNFARM_TEST_PORT_OFFSET ?? '0' },
    'big-shards': { type: 'string' },
  },
});
const int = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`--${name}: got "${v}"; expected a whole number >= 0\n`);
    process.exit(2);
  }
  return n;
};

const report = await runChaos({
  seed: int('seed', values.seed),
  minutes: int('minutes', values.minutes),
  portOffset: int('port-offset', values['port-offset']),
  bigShards: values['big-shards'] === undefined ? undefined : int('big-shards', values['big-shards']),
});
process.stdout.write(`${formatSummary(report)}\n`);
process.exit(report.ok ? 0 : 1);
