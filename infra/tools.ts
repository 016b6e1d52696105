import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { DevStackError } from './errors';
import { toolsDir } from './paths';

const run = promisify(execFile);

/**
 * The two servers of the embedded stack, pinned. Both modules have no replace directives, so
 * `go install module@version` builds them from the Go module proxy alone.
 */
export const PINNED_TOOLS = {
  temporal: {
    module: 'github.com/temporalio/cli',
    pkg: 'github.com/temporalio/cli/cmd/temporal',
    version: 'v1.5.1',
  },
  versitygw: {
    module: 'github.com/versity/versitygw',
    pkg: 'github.com/versity/versitygw/cmd/versitygw',
    version: 'v1.7.0',
  },
} as const;
export type ToolName = keyof typeof PINNED_TOOLS;

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function which(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && (await exists(path.join(dir, name)))) return path.join(dir, name);
  }
  return undefined;
}

/**
 * The module version a binary was built from. `go install` builds print 0.0.0-DEV as their
 * own version, so the Go build info is the reliable source; release builds also print it.
 */
export async function builtVersion(tool: ToolName, binary: string): Promise<string | undefined> {
  const { module } = PINNED_TOOLS[tool];
  try {
    const { stdout } = await run('go', ['version', '-m', binary]);
    const line = stdout.split('\n').find((l) => l.trim().startsWith('mod\t') && l.includes(module));
    const version = line?.trim().split('\t')[2];
    if (version) return version;
  } catch {
    // no Go toolchain, or not a Go binary: fall back to the tool's own report
  }
  try {
    const { stdout } = await run(binary, ['--version']);
    return stdout.match(/v?(\d+\.\d+\.\d+)/)?.[0]?.replace(/^(?!v)/, 'v');
  } catch {
    return undefined;
  }
}

/**
 * Returns a path to the pinned binary: the tools folder's copy, else one on PATH with the
 * pinned version, else a fresh `go install` into the tools folder (once; later calls find it).
 */
export async function ensureTool(tool: ToolName, onBuild?: (msg: string) => void): Promise<string> {
  const spec = PINNED_TOOLS[tool];
  const dir = toolsDir();
  const cached = path.join(dir, tool);
  // A cached binary from an older pin is rebuilt; one whose version cannot be read (no Go
  // toolchain to ask) is trusted, since only this function puts binaries there.
  if (await exists(cached)) {
    const version = await builtVersion(tool, cached);
    if (version === undefined || version === spec.version) return cached;
  }
  const onPath = await which(tool);
  if (onPath && (await builtVersion(tool, onPath)) === spec.version) return onPath;

  if (!(await which('go'))) {
    throw new DevStackError(
      'go-missing',
      `${tool} ${spec.version} is not built yet and no Go toolchain is on PATH: install Go (https://go.dev/dl) or put ${tool} ${spec.version} on PATH, then retry`,
    );
  }
  await mkdir(dir, { recursive: true });
  const logFile = path.join(dir, `${tool}-build.log`);
  onBuild?.(`building ${tool} ${spec.version} with go install (once; log: ${logFile})`);
  const code = await new Promise<number>((resolve) => {
    const out = createWriteStream(logFile);
    const child = spawn('go', ['install', `${spec.pkg}@${spec.version}`], {
      env: { ...process.env, GOBIN: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    child.on('error', () => resolve(-1));
    child.on('close', (c) => resolve(c ?? -1));
  });
  if (code !== 0 || !(await exists(cached))) {
    throw new DevStackError(
      'build-failed',
      `go install ${spec.pkg}@${spec.version} failed (exit ${code}): see ${logFile}; check that the Go module proxy is reachable`,
    );
  }
  return cached;
}
