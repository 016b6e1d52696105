import { Context } from '@temporalio/activity';

/**
 * Records progress and honours cancellation in one call, at every part boundary: the heartbeat
 * is how Temporal both learns we are alive and tells us to stop.
 */
export function checkpoint(details: Record<string, unknown>): void {
  const ctx = Context.current();
  ctx.heartbeat(details);
  if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
}

export function cancellationSignal(): AbortSignal {
  return Context.current().cancellationSignal;
}

/** What the previous attempt reported, for logs only: storage is the truth for what is done. */
export function previousHeartbeat(): unknown {
  return Context.current().info.heartbeatDetails;
}

/**
 * Keeps heartbeating while one long step runs (loading a model, one large batch, a manifest
 * refresh), so a busy attempt is not mistaken for a dead one and retried beside itself.
 */
export async function whileBeating<T>(
  work: Promise<T>,
  details: Record<string, unknown> = {},
  everyMs = 5000,
): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(details), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
