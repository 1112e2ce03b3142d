import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { isDependencyFailure } from './errors.js';

/** An alert ready to send, tagged with the record it belongs to (for failure reporting). */
export interface OutgoingAlert {
  shardId: string;
  /** Arrival of the record (epoch seconds). */
  at?: number;
  /** Padded sequence number of the record that raised it. */
  seq: string;
  id: string;
  type: string;
  detail: string;
}

export interface PublishResult {
  published: OutgoingAlert[];
  /** The first alert (in record order) that could not be delivered, with why. */
  failure?: { alert: OutgoingAlert; error: string };
}

const CHUNK = 10; // PutEvents accepts at most 10 entries per call
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends alerts in record order, ≤ 10 per PutEvents. Entries EventBridge
 * rejects (FailedEntryCount > 0) are retried alone with backoff; an entry
 * that still fails stops publishing for its shard, so the caller reports its
 * record (and every later one) as failed and nothing is silently dropped.
 */
export async function publishAlerts(
  client: EventBridgeClient,
  options: { busName: string; source: string; attempts: number },
  alerts: readonly OutgoingAlert[],
): Promise<Map<string, PublishResult>> {
  const byShard = new Map<string, PublishResult>();
  const result = (shard: string) => byShard.get(shard) ?? byShard.set(shard, { published: [] }).get(shard)!;
  const queue = [...alerts].sort((a, b) => (a.shardId === b.shardId ? (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0) : a.shardId < b.shardId ? -1 : 1));

  while (queue.length > 0) {
    // Skip alerts of shards that already failed: they are retried with their record.
    const chunk: OutgoingAlert[] = [];
    while (chunk.length < CHUNK && queue.length > 0) {
      const next = queue.shift()!;
      if (!result(next.shardId).failure) chunk.push(next);
    }
    let pending = chunk;
    let lastError = 'unknown';
    for (let attempt = 0; attempt < options.attempts && pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(50 * 2 ** attempt);
      const entries: PutEventsRequestEntry[] = pending.map((a) => ({
        EventBusName: options.busName,
        Source: options.source,
        DetailType: a.type,
        Detail: a.detail,
      }));
      try {
        const out = await client.send(new PutEventsCommand({ Entries: entries }));
        const failedNow: OutgoingAlert[] = [];
        pending.forEach((alert, i) => {
          const entry = out.Entries?.[i];
          if (entry?.EventId && !entry.ErrorCode) result(alert.shardId).published.push(alert);
          else {
            failedNow.push(alert);
            lastError = `${entry?.ErrorCode ?? 'NoEventId'}: ${entry?.ErrorMessage ?? ''}`;
          }
        });
        pending = failedNow;
      } catch (error) {
        if (!isDependencyFailure(error)) throw error;
        lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
    }
    for (const alert of pending) {
      const r = result(alert.shardId);
      if (!r.failure || alert.seq < r.failure.alert.seq) r.failure = { alert, error: lastError };
    }
  }
  return byShard;
}
