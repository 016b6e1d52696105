import { Command, CommanderError } from 'commander';
import { setLogLevel } from '../log/logger';
import { registerConsumerCommands } from './consume';
import { registerDemoCommand } from './demo';
import { registerDevCommands } from './dev';
import { registerDoctorCommand } from './doctor';
import { reportError } from './errors';
import { registerRenderCommand } from './render';
import { registerRunCommands } from './runs';
import { registerWorkerCommand } from './worker';

export function buildProgram(): Command {
  const program = new Command('synfarm')
    .description(
      'Farm synthetic facial-expression data (SynFER-style) into WebDataset shards on S3 with Temporal',
    )
    .option('-v, --verbose', 'debug logs and stack traces')
    .showHelpAfterError()
    .exitOverride();
  program.hook('preAction', (cmd) => {
    if (cmd.opts().verbose) setLogLevel('debug');
  });
  registerDevCommands(program);
  registerRunCommands(program);
  registerWorkerCommand(program);
  registerDoctorCommand(program);
  registerConsumerCommands(program);
  registerRenderCommand(program);
  registerDemoCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    return reportError(err, argv.includes('--verbose') || argv.includes('-v'));
  }
}
