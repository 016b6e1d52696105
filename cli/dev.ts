import type { Command } from 'commander';
import { devDown, devStatus, devUp, type StackInfo } from '../infra/dev-stack';

function describe(info: StackInfo): string {
  return [
    `Temporal      ${info.temporal.address} (namespace ${info.temporal.namespace})`,
    `Temporal UI   ${info.temporal.uiUrl}`,
    `S3 endpoint   ${info.s3.endpoint}`,
    `S3 bucket     ${info.s3.bucket} (region ${info.s3.region})`,
    `S3 keys       generated for this stack, in ${info.s3.credentialsFile}`,
  ].join('\n');
}

export function registerDevCommands(program: Command): void {
  const dev = program
    .command('dev')
    .description('the embedded dev stack: Temporal dev server + versitygw S3, on 127.0.0.1');
  dev
    .command('up')
    .description('build (once) and start both servers, wait until healthy, create the bucket; idempotent')
    .action(async () => {
      const info = await devUp({}, (msg) => process.stderr.write(`${msg}\n`));
      process.stdout.write(`${describe(info)}\n`);
    });
  dev
    .command('down')
    .description('stop the servers this stack started (its pid files); data stays in .state/')
    .action(async () => {
      const stopped = await devDown();
      process.stdout.write(stopped.length ? `stopped ${stopped.join(', ')}\n` : 'nothing was running\n');
    });
  dev
    .command('status')
    .description('show whether each server runs and answers; exit 1 when not both healthy')
    .action(async () => {
      const s = await devStatus();
      const line = (name: string, p: { running: boolean; pid?: number; healthy: boolean }) =>
        `${name.padEnd(10)} ${p.running ? `running (pid ${p.pid})` : 'not started by synfarm'}, ${p.healthy ? 'healthy' : 'not answering'}`;
      process.stdout.write(`${line('temporal', s.temporal)}\n${line('s3', s.s3)}\n${describe(s.info)}\n`);
      if (!s.temporal.healthy || !s.s3.healthy) process.exitCode = 1;
    });
}
