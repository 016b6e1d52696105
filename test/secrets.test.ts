// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${NAME}` env references in URLs are what these tests are about
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../infra/paths';
import { resolveServerAddress } from '../models/http-generator/secret-url';
import { testPatternPixels } from '../models/testpattern';
import { resolveSpec, SpecError } from '../spec';
import { openStore } from '../storage';
import { literalSecretsInUrl, redactText, redactUrl } from '../storage/redact';
import { TEST_STACK_CONFIG } from './global-setup';
import { connectClient, s3Options, uniqueId } from './support/farm';
import { stackEnv, testStack } from './support/stack';

const execFileP = promisify(execFile);

/** Known secrets: each run of the suite gets fresh ones, so a hit cannot be a coincidence. */
const TOKEN = `tok${randomBytes(12).toString('hex')}`;
const PASSWORD = `pw${randomBytes(12).toString('hex')}`;
const WRONG_TOKEN = `bad${randomBytes(12).toString('hex')}`;
const LITERAL_TOKEN = `lit${randomBytes(12).toString('hex')}`;
const TEMPLATE_PATH = `/?token=\${SYNFARM_TEST_GEN_TOKEN}`;

describe('a URL with credentials in it', () => {
  it('is refused in a spec when the credential is written out, and the refusal does not quote it', () => {
    const spec = (url: string) => ({
      runId: 'secret-spec',
      target: 8,
      shardSize: 8,
      generator: { backend: 'http', url },
      output: 'file:///tmp/x',
    });
    for (const url of [
      `https://127.0.0.1:7860/?token=${LITERAL_TOKEN}`,
      `https://gen:${LITERAL_TOKEN}@127.0.0.1:7860/`,
      `https://127.0.0.1:7860/run?api_key=${LITERAL_TOKEN}&steps=20`,
    ]) {
      let error: unknown;
      try {
        resolveSpec(spec(url));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SpecError);
      expect((error as SpecError).field).toBe('generator.url');
      expect((error as Error).message).toContain('${ENV_NAME}');
      expect((error as Error).message).not.toContain(LITERAL_TOKEN);
      // The hint survives the redaction every error goes through on its way to the user.
      expect(redactText((error as Error).message)).toContain('?token=${GEN_TOKEN}) and set ENV_NAME');
    }
    // References are what the spec keeps; the worker resolves them.
    const ok = resolveSpec(spec('https://gen:${GEN_PASSWORD}@127.0.0.1:7860/?token=${GEN_TOKEN}'));
    expect(ok.generator).toMatchObject({
      url: 'https://gen:${GEN_PASSWORD}@127.0.0.1:7860/?token=${GEN_TOKEN}',
    });
  });

  it('resolves references from the worker env: basic auth as a header, tokens percent-encoded in the query', () => {
    const server = resolveServerAddress('http://gen:${P}@127.0.0.1:9/v1?token=${T}&steps=4', {
      P: 'p@ss/word',
      T: 'a+b/c=',
    });
    expect(server.url).toBe('http://127.0.0.1:9/v1?token=a%2Bb%2Fc%3D&steps=4');
    expect(Buffer.from(server.headers.authorization!.slice(6), 'base64').toString()).toBe('gen:p@ss/word');
    expect(server.shown).not.toContain('p@ss');
    expect(server.shown).toContain('${T}');
    expect(() => resolveServerAddress('http://127.0.0.1:9/?token=${NOT_SET_ANYWHERE}', {})).toThrow(
      /NOT_SET_ANYWHERE.*GPU worker/,
    );
  });

  it('loses its credentials in free text and in URLs, and keeps what is not secret', () => {
    const text = `gen at https://u:${PASSWORD}@h:1/g?api_key=${TOKEN}&steps=3 refused; see http://h/docs`;
    const shown = redactText(text);
    expect(shown).not.toContain(PASSWORD);
    expect(shown).not.toContain(TOKEN);
    expect(shown).toContain('steps=3');
    expect(shown).toContain('http://h/docs');
    expect(redactUrl('https://h/?token=${GEN_TOKEN}')).toBe('https://h/?token=${GEN_TOKEN}');
    expect(literalSecretsInUrl(`https://h/?key=${TOKEN}&sig=1`)).toEqual(['?key', '?sig']);
  });
});

/** A synfarm-protocol inference server that answers only with the right token and password. */
interface GenServer {
  server: Server;
  port: number;
  authorized: number;
  refused: number;
}

async function startGenServer(): Promise<GenServer> {
  const state = { authorized: 0, refused: 0 } as GenServer;
  const expectedAuth = `Basic ${Buffer.from(`gen:${PASSWORD}`).toString('base64')}`;
  state.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.searchParams.get('token') !== TOKEN || req.headers.authorization !== expectedAuth) {
        state.refused++;
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: 'unauthorized' }));
        return;
      }
      state.authorized++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        requests: Array<{ key: string; classIndex: number; seed: number; width: number }>;
      };
      const images = await Promise.all(
        body.requests.map(async (r) => {
          const png = await sharp(testPatternPixels(r.classIndex, r.seed, r.width), {
            raw: { width: r.width, height: r.width, channels: 3 },
          })
            .png()
            .toBuffer();
          return { key: r.key, format: 'png', base64: png.toString('base64') };
        }),
      );
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ images, model: { id: 'secret-test-gen', version: '1' } }));
    });
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.port = (state.server.address() as AddressInfo).port;
  return state;
}

const CLI = path.join(PROJECT_ROOT, 'bin', 'synfarm.mjs');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function synfarm(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...stackEnv(), ...env },
      timeout: 300_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every string and byte array in a history, payloads decoded: what Temporal stored. */
function historyText(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (Array.isArray(value)) for (const v of value) historyText(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) historyText(v, out);
  return out;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('a full job with known secrets', () => {
  let gen: GenServer;
  let worker: ChildProcess;
  let workerOutput = '';
  const prefix = `${uniqueId('sec')}-`;
  const okRun = uniqueId('secrets-ok');
  const badRun = uniqueId('secrets-bad');
  const cliEnv = { SYNFARM_QUEUE_PREFIX: prefix, SYNFARM_LOG_LEVEL: 'debug' };

  beforeAll(async () => {
    gen = await startGenServer();
    worker = spawn(
      process.execPath,
      [CLI, 'worker', '--queues', 'all', '--processes', '1', '--queue-prefix', prefix],
      {
        cwd: PROJECT_ROOT,
        env: {
          ...process.env,
          ...stackEnv(),
          SYNFARM_LOG_LEVEL: 'debug',
          SYNFARM_TEST_GEN_PASSWORD: PASSWORD,
          SYNFARM_TEST_GEN_TOKEN: TOKEN,
          SYNFARM_TEST_GEN_WRONG: WRONG_TOKEN,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    worker.stdout?.on('data', (d) => {
      workerOutput += d;
    });
    worker.stderr?.on('data', (d) => {
      workerOutput += d;
    });
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    await new Promise((resolve) => gen?.server.close(resolve));
  });

  async function specFile(runId: string, url: string): Promise<string> {
    const { s3 } = testStack();
    const file = path.join(PROJECT_ROOT, '.state', `${runId}.yaml`);
    await writeFile(
      file,
      [
        `runId: ${runId}`,
        'target: 16',
        'shardSize: 8',
        'image: { size: 112 }',
        `generator: { backend: http, batchSize: 4, url: "${url}" }`,
        'calibrator: { backend: passthrough }',
        `output: s3://${s3.bucket}/secrets`,
        '',
      ].join('\n'),
    );
    return file;
  }

  it('never shows the token, the password or the S3 keys: output, logs, run objects, history', async () => {
    const { s3 } = testStack();
    const base = `http://gen:\${SYNFARM_TEST_GEN_PASSWORD}@127.0.0.1:${gen.port}`;
    const outputs: CliResult[] = [];

    // A run whose worker has the right secrets completes.
    const ok = await synfarm(cliEnv, 'launch', await specFile(okRun, `${base}${TEMPLATE_PATH}`), '--wait');
    outputs.push(ok);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('2/2 committed');
    expect(gen.authorized).toBeGreaterThan(0);

    // One whose URL names another token is refused by the server: the error travels through
    // Temporal's history, the launcher and status.
    const bad = await synfarm(
      cliEnv,
      'launch',
      await specFile(badRun, `${base}/?token=\${SYNFARM_TEST_GEN_WRONG}`),
      '--wait',
    );
    outputs.push(bad);
    expect(bad.code).toBe(1);
    expect(gen.refused).toBeGreaterThan(0);
    const badStatus = await synfarm(cliEnv, 'status', badRun);
    outputs.push(badStatus);
    expect(badStatus.stdout).toMatch(/HTTP 401/);
    expect(badStatus.stdout).toContain('${SYNFARM_TEST_GEN_WRONG}');

    // A spec with the token written out never reaches storage or Temporal.
    const literal = await synfarm(
      cliEnv,
      'launch',
      await specFile(uniqueId('secrets-literal'), `http://127.0.0.1:${gen.port}/?token=${LITERAL_TOKEN}`),
    );
    outputs.push(literal);
    expect(literal.code).toBe(1);
    expect(literal.stderr).toContain('generator.url');

    outputs.push(await synfarm(cliEnv, 'status', okRun));
    outputs.push(await synfarm(cliEnv, 'status', okRun, '--json'));
    outputs.push(await synfarm(cliEnv, 'list'));

    // Everything the job left behind.
    const texts: Array<[string, string | Buffer]> = [];
    for (const [i, o] of outputs.entries()) {
      texts.push([`command ${i} stdout`, o.stdout], [`command ${i} stderr`, o.stderr]);
    }
    texts.push(['worker output', workerOutput]);
    const store = openStore(`s3://${s3.bucket}/secrets`, s3Options());
    let objects = 0;
    for (const runId of [okRun, badRun]) {
      for await (const obj of store.list(`${runId}/`)) {
        texts.push([`object ${obj.key}`, Buffer.from(await store.get(obj.key))]);
        objects++;
      }
    }
    expect(objects).toBeGreaterThan(4);
    for (const file of await filesUnder(path.join(TEST_STACK_CONFIG.stateDir, 'logs'))) {
      texts.push([`log ${file}`, await readFile(file)]);
    }
    const client = await connectClient(prefix);
    let histories = '';
    try {
      for (const runId of [okRun, badRun]) {
        for await (const wf of client.client.workflow.list({
          query: `WorkflowId = '${runId}' OR WorkflowId = '${runId}/shard-0' OR WorkflowId = '${runId}/shard-1'`,
        })) {
          const history = await client.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
          const text = historyText(history).join('\n');
          histories += text;
          texts.push([`history ${wf.workflowId}/${wf.runId}`, text]);
        }
      }
    } finally {
      await client.close();
    }
    // The scan reads decoded payloads and failures, not just event names.
    expect(histories).toContain(`"runId":"${okRun}"`);
    expect(histories).toContain('rejected the request with HTTP 401');

    const secrets = {
      token: TOKEN,
      password: PASSWORD,
      'wrong token': WRONG_TOKEN,
      'literal token': LITERAL_TOKEN,
      'S3 secret key': s3.secretAccessKey,
      'S3 access key id': s3.accessKeyId,
    };
    const leaks: string[] = [];
    for (const [where, content] of texts) {
      const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
      for (const [name, secret] of Object.entries(secrets)) {
        if (bytes.includes(secret)) leaks.push(`${name} in ${where}`);
      }
    }
    expect(leaks).toEqual([]);
  }, 480_000);

  it("keeps the dev stack's state and S3 root closed to other local users", async () => {
    for (const dir of [TEST_STACK_CONFIG.stateDir, path.join(TEST_STACK_CONFIG.stateDir, 's3')]) {
      expect(((await stat(dir)).mode & 0o777).toString(8), dir).toBe('700');
    }
    if (process.getuid?.() === 0) {
      // As another user for real: `nobody` cannot list the S3 root or read the keys.
      const asNobody = (...cmd: string[]) =>
        execFileP('runuser', ['-u', 'nobody', '--', ...cmd]).then(
          () => 'allowed',
          () => 'denied',
        );
      expect(await asNobody('ls', path.join(TEST_STACK_CONFIG.stateDir, 's3'))).toBe('denied');
      expect(await asNobody('cat', path.join(TEST_STACK_CONFIG.stateDir, 's3-credentials.json'))).toBe(
        'denied',
      );
    }
  });
});
