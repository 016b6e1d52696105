import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  ObjectNotFoundError,
  type ObjectStore,
  openStore as openStoreDefault,
  StorageError,
} from '../../storage';
import { TfjsGeneratorError } from './errors';

export type OpenStore = (url: string) => ObjectStore;

/**
 * A model.json or descriptor location and the files beside it. Weight shards are named relative
 * to model.json, so a location reads its main file and siblings the same way whatever the scheme.
 */
export interface ModelLocation {
  /** The location as given (for messages). */
  readonly url: string;
  readonly fileName: string;
  /** Reads `name`, relative to the main file's folder. */
  read(name: string): Promise<Uint8Array>;
}

const HTTPS_TIMEOUT_MS = 60_000;

/**
 * Local paths and file:// go through the file store, s3:// through the S3 store (credentials and
 * endpoint from `openStore`), https:// through fetch. Plain http is refused: a model fetched in
 * clear text could be swapped on the way.
 */
export function openLocation(
  url: string,
  field: string,
  openStore: OpenStore = openStoreDefault,
): ModelLocation {
  if (url.startsWith('https://')) return httpsLocation(url, field);
  let dirUrl: string;
  let fileName: string;
  if (url.startsWith('s3://')) {
    const slash = url.lastIndexOf('/');
    dirUrl = url.slice(0, slash + 1);
    fileName = url.slice(slash + 1);
    if (slash < 's3://'.length || fileName === '') {
      throw new TfjsGeneratorError(
        'model-load-failed',
        field,
        `"${url}" does not name a file; use s3://bucket/path/model.json`,
      );
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) {
    throw new TfjsGeneratorError(
      'model-load-failed',
      field,
      `"${url}" is not a supported model location; use a file path, file:///absolute/path, s3://bucket/key or https://`,
    );
  } else {
    const file = url.startsWith('file://') ? fileURLToPath(url) : path.resolve(url);
    dirUrl = pathToFileURL(path.dirname(file)).href;
    fileName = path.basename(file);
  }
  let store: ObjectStore;
  try {
    store = openStore(dirUrl);
  } catch (err) {
    throw new TfjsGeneratorError(
      'model-load-failed',
      field,
      `cannot open "${url}": ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return {
    url,
    fileName,
    async read(name) {
      try {
        return await store.get(name);
      } catch (err) {
        if (err instanceof ObjectNotFoundError) {
          throw new TfjsGeneratorError(
            'missing-model',
            field,
            `"${name}" was not found beside ${url} (in ${store.url}); check the path, or upload the model there`,
            { cause: err },
          );
        }
        const why = err instanceof StorageError ? err.message : `${(err as Error).message}`;
        throw new TfjsGeneratorError(
          'model-load-failed',
          field,
          `reading "${name}" for ${url} failed: ${why}`,
          {
            cause: err,
          },
        );
      }
    },
  };
}

function httpsLocation(url: string, field: string): ModelLocation {
  const base = new URL(url);
  return {
    url,
    fileName: path.posix.basename(base.pathname),
    async read(name) {
      const target = new URL(name, base);
      if (target.protocol !== 'https:') {
        throw new TfjsGeneratorError(
          'model-load-failed',
          field,
          `"${name}" resolves outside https (${target.href})`,
        );
      }
      let res: Response;
      try {
        res = await fetch(target, { signal: AbortSignal.timeout(HTTPS_TIMEOUT_MS) });
      } catch (err) {
        throw new TfjsGeneratorError(
          'model-load-failed',
          field,
          `fetching ${target.href} failed: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      if (res.status === 404) {
        throw new TfjsGeneratorError(
          'missing-model',
          field,
          `${target.href} does not exist (HTTP 404); check the URL`,
        );
      }
      if (!res.ok) {
        throw new TfjsGeneratorError(
          'model-load-failed',
          field,
          `fetching ${target.href} failed with HTTP ${res.status}`,
        );
      }
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}

export async function readJson(location: ModelLocation, field: string): Promise<unknown> {
  const bytes = await location.read(location.fileName);
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    throw new TfjsGeneratorError(
      'model-load-failed',
      field,
      `${location.url} is not valid JSON (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
}
