import { type Command, Option } from 'commander';
import { FarmClient } from '../client/runs';
import {
  decodeCls,
  decodeJson,
  inspectShard,
  openRun,
  readRun,
  shardUrls,
  type UrlScheme,
  urlTemplate,
} from '../consumer';
import { resolveConnections } from '../infra/connections';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { formatReport, writeRunReports } from '../report';
import { RunObjects } from '../run/objects';
import { openStore } from '../storage';
import { wholeNumber } from './options';

const SCHEMES = ['s3', 'pipe', 'presigned'] as const satisfies readonly UrlScheme[];

/** The run's output URL: given, or remembered by Temporal in the run's memo. */
async function outputOf(runId: string, given: string | undefined) {
  const conn = await resolveConnections();
  if (given) return { outputUrl: given, s3: conn.s3 };
  const client = await FarmClient.connect({ temporal: conn.temporal, s3: conn.s3 });
  try {
    return { outputUrl: await client.outputOf(runId), s3: conn.s3 };
  } finally {
    await client.close();
  }
}

export function registerConsumerCommands(program: Command): void {
  program
    .command('urls')
    .argument('<run>', 'run id')
    .description('URLs of the committed shards, for webdataset (only shards whose sidecar exists)')
    .addOption(
      new Option(
        '--scheme <scheme>',
        'pipe: pipe:aws s3 cp ... - for webdataset; presigned: https, no credentials needed',
      )
        .choices(SCHEMES)
        .default('s3'),
    )
    .option('--template', 'one brace-expanded URL instead of one per line')
    .option('--expires <seconds>', 'presigned URL lifetime', wholeNumber(1), 24 * 3600)
    .option('--output <url>', 'the run output URL, when Temporal no longer knows the run')
    .action(
      async (
        runId: string,
        opts: { scheme: UrlScheme; template?: boolean; expires: number; output?: string },
      ) => {
        const { outputUrl, s3 } = await outputOf(runId, opts.output);
        const run = await openRun(outputUrl, runId, s3);
        if (opts.template) {
          process.stdout.write(
            `${(await urlTemplate(run, { scheme: opts.scheme, expiresInSeconds: opts.expires })) ?? ''}\n`,
          );
        } else {
          for (const url of await shardUrls(run, { scheme: opts.scheme, expiresInSeconds: opts.expires })) {
            process.stdout.write(`${url}\n`);
          }
        }
      },
    );

  program
    .command('read')
    .argument('<run>', 'run id')
    .description('stream samples of a run (split, shuffled, resumable), one JSON line per sample')
    .option('--output <url>', 'the run output URL, when Temporal no longer knows the run')
    .option('--rank <n>', 'this rank', wholeNumber(0), 0)
    .option('--world-size <n>', 'ranks in all', wholeNumber(1), 1)
    .option('--worker <n>', 'this dataloader worker', wholeNumber(0), 0)
    .option('--workers <n>', 'dataloader workers per rank', wholeNumber(1), 1)
    .option('--seed <n>', 'shuffle seed', wholeNumber(0), 0)
    .option('--epoch <n>', 'epoch (changes the order)', wholeNumber(0), 0)
    .option('--no-shuffle', 'planned order')
    .option('--live', 'follow a running run until _SUCCESS')
    .option('--verify', 'check every shard against its sidecar checksum')
    .option('--limit <n>', 'stop after n samples', wholeNumber(1))
    .action(
      async (
        runId: string,
        opts: {
          output?: string;
          rank: number;
          worldSize: number;
          worker: number;
          workers: number;
          seed: number;
          epoch: number;
          shuffle: boolean;
          live?: boolean;
          verify?: boolean;
          limit?: number;
        },
      ) => {
        const { outputUrl, s3 } = await outputOf(runId, opts.output);
        const reader = readRun({
          outputUrl,
          runId,
          storeOptions: s3,
          rank: opts.rank,
          worldSize: opts.worldSize,
          worker: opts.worker,
          numWorkers: opts.workers,
          seed: opts.seed,
          epoch: opts.epoch,
          shuffle: opts.shuffle,
          live: opts.live,
          verify: opts.verify,
        });
        let n = 0;
        for await (const sample of reader) {
          const json = decodeJson(sample) as {
            label?: { confidence?: number };
            intended?: { className?: string };
          };
          const cls = decodeCls(sample);
          process.stdout.write(
            `${JSON.stringify({ key: sample.__key__, url: sample.__url__, cls, class: AFFECTNET_CLASSES[cls], intended: json.intended?.className, confidence: json.label?.confidence })}\n`,
          );
          if (opts.limit !== undefined && ++n >= opts.limit) break;
        }
      },
    );

  program
    .command('report')
    .argument('<run>', 'run id')
    .description('quality report: FER accuracy per class, confusion matrix, rejects, soft-label entropy')
    .option('--output <url>', 'the run output URL, when Temporal no longer knows the run')
    .option('--json', 'machine-readable output')
    .option('--html', 'also write report.html (contact sheets, charts; self-contained) beside the manifest')
    .action(async (runId: string, opts: { output?: string; json?: boolean; html?: boolean }) => {
      const { outputUrl, s3 } = await outputOf(runId, opts.output);
      // Rebuilt from the committed sidecars each time, so it also reports on a run still going.
      const store = openStore(outputUrl, s3);
      // A run id or output URL that names no run is an error, not an empty report written there.
      await new RunObjects(store, runId).spec();
      const { report, htmlKey } = await writeRunReports(store, runId, { html: opts.html === true });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
      if (htmlKey) process.stderr.write(`report.html: ${store.url.replace(/\/+$/, '')}/${htmlKey}\n`);
    });

  program
    .command('inspect')
    .argument('<shard>', 'a shard URL: s3://bucket/.../shard-000000.tar or file:///.../shard-000000.tar')
    .description('members, sample count, label histogram, first samples, and whether it matches its sidecar')
    .option('--samples <n>', 'first samples to show', wholeNumber(0), 3)
    .option('--json', 'machine-readable output')
    .action(async (shard: string, opts: { samples: number; json?: boolean }) => {
      const conn = await resolveConnections();
      const info = await inspectShard(shard, { samples: opts.samples, storeOptions: conn.s3 });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      const fields = [...new Set(info.members.map((m) => m.name.slice(m.name.indexOf('.') + 1)))].sort();
      const lines = [
        `shard      ${info.url}`,
        `size       ${info.bytes.toLocaleString('en-US')} bytes, sha256 ${info.sha256}`,
        `committed  ${info.sidecar ? (info.matchesSidecar ? 'yes, matches its sidecar' : 'sidecar present but DOES NOT MATCH') : 'no sidecar (not committed)'}`,
        `samples    ${info.samples} (${info.members.length} members: ${fields.join(', ')})`,
        `labels     ${AFFECTNET_CLASSES.map((name, i) => `${name} ${info.classHistogram[i] ?? 0}`).join(', ')}`,
        ...info.firstSamples.map((s) => `sample     ${s.key} ${JSON.stringify(s.json).slice(0, 200)}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
