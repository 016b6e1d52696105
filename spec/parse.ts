import { type Document, isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { redact } from '../storage/redact';
import { SpecError, type SpecIssue } from './errors';
import { generatorBackendsWithKey, knownKeysAt, type Spec, SpecInputSchema, SpecSchema } from './schema';
import { closest } from './suggest';

type Path = readonly PropertyKey[];

export interface ParseOptions {
  /** Where the text came from (a file path), named in error messages. */
  source?: string;
}

interface TextContext {
  doc: Document;
  lines: LineCounter;
}

export function formatPath(path: Path): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(String(segment))) out += out ? `.${String(segment)}` : String(segment);
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

function valueAt(root: unknown, path: Path): { found: boolean; value?: unknown } {
  let node = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment as string))
      return { found: false };
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return { found: true, value: node };
}

/** The value as an error quotes it: short, and with any credential in it redacted. */
function render(value: unknown): string {
  const text = JSON.stringify(redact(value)) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Line and column of the node at `path` (of its key when `key`), or of its nearest ancestor present. */
function locate(
  text: TextContext | undefined,
  path: Path,
  key: boolean,
): { line: number; column: number } | undefined {
  if (!text) return undefined;
  let node: unknown = text.doc.contents;
  let offset = (node as Node | null)?.range?.[0];
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => String((p.key as { value?: unknown } | null)?.value ?? p.key) === String(segment),
      );
      if (!pair) break;
      const last = i === path.length - 1;
      const target = (last && key ? pair.key : (pair.value ?? pair.key)) as Node | null;
      offset = target?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  if (offset === undefined) return undefined;
  const { line, col } = text.lines.linePos(offset);
  return { line, column: col };
}

function withHint(expected: string, given: unknown, options: readonly unknown[] | undefined): string {
  if (typeof given !== 'string' || !options) return expected;
  const hint = closest(
    given,
    options.filter((o): o is string => typeof o === 'string'),
  );
  return hint && hint !== given ? `${expected} (did you mean "${hint}"?)` : expected;
}

function toSpecIssues(error: z.ZodError, root: unknown, text?: TextContext): SpecIssue[] {
  const issues: SpecIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(issue.path, root);
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        const hint = known && closest(key, known);
        const owners =
          issue.path.length === 1 && issue.path[0] === 'generator' ? generatorBackendsWithKey(key) : [];
        const expected = [
          hint ? `did you mean "${hint}"?` : undefined,
          owners.length > 0 ? `"${key}" is a setting of backend ${owners.join(' or ')} only;` : undefined,
          known ? `known keys here: ${known.join(', ')}` : 'remove it',
        ]
          .filter(Boolean)
          .join(' ');
        const { value } = valueAt(root, path);
        issues.push({
          path: formatPath(path),
          received: render(value),
          expected,
          unknownKey: true,
          ...locate(text, path, true),
        });
      }
      continue;
    }
    const { found, value } = valueAt(root, issue.path);
    let expected = issue.message.replace(/^Invalid input: /, '');
    if (issue.code === 'invalid_value') expected = withHint(expected, value, issue.values);
    if (issue.code === 'invalid_union' && 'options' in issue) {
      expected = withHint(expected, value, issue.options as readonly unknown[]);
    }
    issues.push({
      path: formatPath(issue.path),
      received: found ? render(value) : 'missing',
      expected,
      ...locate(text, issue.path, false),
    });
  }
  const seen = new Set<string>();
  const unique = issues.filter((i) => {
    const id = `${i.path}\u0000${i.expected}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  // Document order reads best; the sort is stable, so issues without a line keep zod's field order.
  const end = Number.MAX_SAFE_INTEGER;
  return unique.sort((a, b) => (a.line ?? end) - (b.line ?? end) || (a.column ?? end) - (b.column ?? end));
}

function resolve(input: unknown, options: ParseOptions, text?: TextContext): Spec {
  const result = SpecInputSchema.safeParse(input);
  if (!result.success) {
    throw new SpecError('invalid-spec', toSpecIssues(result.error, input, text), options.source);
  }
  return result.data;
}

/**
 * Validates a spec given as data (e.g. already parsed, or built by a program) and returns it
 * fully resolved: defaults filled, target resolved to `targetSamples`, `shardCount` computed.
 * Throws one SpecError listing every problem.
 */
export function resolveSpec(input: unknown, options: ParseOptions = {}): Spec {
  return resolve(input, options);
}

/**
 * Parses a spec file's text, YAML or JSON (JSON is read as YAML 1.2, of which it is a subset, so
 * both report syntax errors with a line and column), and resolves it.
 */
export function parseSpec(text: string, options: ParseOptions = {}): Spec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e): SpecIssue => {
      const { line, col } = lines.linePos(e.pos[0]);
      return { path: '(yaml)', received: '', expected: `invalid YAML/JSON: ${e.message}`, line, column: col };
    });
    throw new SpecError('invalid-spec', issues, options.source);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    const issue: SpecIssue = {
      path: '(yaml)',
      received: '',
      expected: `invalid YAML: ${(e as Error).message}`,
    };
    throw new SpecError('invalid-spec', [issue], options.source);
  }
  return resolve(data, options, { doc, lines });
}

/**
 * Reads back a resolved spec (the spec.json of a run) and checks it is one: a run must resume with
 * exactly the spec it was launched with, so nothing here is defaulted or converted.
 */
export function parseResolvedSpec(text: string, options: ParseOptions = {}): Spec {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const issue: SpecIssue = {
      path: '(json)',
      received: '',
      expected: `valid JSON: ${(e as Error).message}`,
    };
    throw new SpecError('invalid-spec', [issue], options.source);
  }
  const result = SpecSchema.safeParse(data);
  if (!result.success) throw new SpecError('invalid-spec', toSpecIssues(result.error, data), options.source);
  if (JSON.stringify(result.data) !== JSON.stringify(data)) {
    const issue: SpecIssue = {
      path: '(root)',
      received: 'a spec with missing defaults',
      expected: 'a fully resolved spec as written by launch (every default present)',
    };
    throw new SpecError('invalid-spec', [issue], options.source);
  }
  return result.data;
}

/** The text written as `<output>/<runId>/spec.json`. */
export function specToJson(spec: Spec): string {
  return `${JSON.stringify(spec, null, 2)}\n`;
}
