import { condition } from '@temporalio/workflow';
import type { IndexEntry } from '../run/manifest';

/** Entries per index activity call: a small payload however many shards finished meanwhile. */
const MAX_BATCH = 256;

/**
 * The run index has one writer: this workflow, one activity call at a time. Finished shards
 * queue here; each call merges the queued entries into manifest.json and wids-index.json, so
 * commits that finish while a write runs cost one write together, and writes never overlap.
 */
export class IndexWriter {
  private readonly queue: IndexEntry[] = [];
  private busy = false;
  private failure: unknown;

  constructor(private readonly record: (entries: IndexEntry[]) => Promise<unknown>) {}

  add(entry: IndexEntry): void {
    this.queue.push(entry);
    if (!this.busy) void this.drain();
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      while (this.queue.length > 0 && this.failure === undefined) {
        const batch = this.queue.slice(0, MAX_BATCH);
        try {
          await this.record(batch);
          this.queue.splice(0, batch.length);
        } catch (err) {
          // Kept queued: the run fails at the end, and its resume indexes the shards by listing.
          this.failure = err;
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /** Waits until every queued entry is written; throws the write's failure if one failed. */
  async flushed(): Promise<void> {
    await condition(() => !this.busy);
    if (this.failure !== undefined) throw this.failure;
  }
}
