/**
 * Test utilities of the hostile-input suite: the real local pipeline (kinesis-local,
 * dynalite, the local gateway, the pollers, the real bundles) on free ports,
 * records written straight onto a stream with the SDK's PutRecords, and
 * accessors for the three places an accepted event can end: its effects in the
 * table, the family's malformed sink, or the on-failure destination.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { scanTable } from '../../local/aws.js';
import { payloadRecords, readFailureRecords } from '../../local/failure-store.js';
import { startLocal, type LocalPipeline, type StartLocalOptions } from '../../local/index.js';
import type { PipelineDeployment } from '../../modules/deployment.js';
import { plain } from '../../tools/soak/reconcile.js';
import { eventually, fastWindows, post, tempStateDir } from '../local/helpers.js';

export { eventually, post };
export type Plain = Record<string, any>;

export interface Hostile {
  local: LocalPipeline;
  stop(): Promise<void>;
}

/**
 * Local mode on free ports with a short batching window (1 s, so that records
 * written together land in one batch, as neighbours), in a fresh state folder.
 */
export async function startHostile(prefix: string, options: Partial<StartLocalOptions> & { windowSeconds?: number; only?: string[] } = {}): Promise<Hostile> {
  const stateDir = tempStateDir(`hostile-${prefix}`);
  const shape = (dev: PipelineDeployment): PipelineDeployment => {
    const fast = fastWindows(dev, options.windowSeconds ?? 1);
    return options.only ? { ...fast, families: fast.families.filter((f) => options.only!.includes(f.family.name)) } : fast;
  };
  let local: LocalPipeline | undefined;
  try {
    local = await startLocal({ port: 0, stateDir, quiet: true, clean: true, ...options, deployment: shape });
  } catch (error) {
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
  const started = local;
  return {
    local: started,
    async stop() {
      try {
        await started.stop();
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
  };
}

export function streamOf(local: LocalPipeline, family: string): string {
  return local.deployment.families.find((f) => f.family.name === family)!.stream.name;
}

/** The envelope the API's templates write (modules/templates.ts), for records that bypass the API. */
export function envelope(family: string, data: unknown, overrides: Partial<Record<'id' | 'key' | 'receivedAt' | 'sourceIp' | 'family', unknown>> = {}) {
  const key = (data as { event_id?: unknown } | null)?.event_id;
  return { id: `direct-${Math.random().toString(36).slice(2)}`, family, key: typeof key === 'string' ? key : null, receivedAt: Date.now(), sourceIp: '127.0.0.1', data, ...overrides };
}

export interface Written {
  partitionKey: string;
  shardId: string;
  sequenceNumber: string;
}

/** Straight onto the family's stream in one PutRecords call (a producer bypassing the API); every entry must be accepted. */
export async function putDirect(local: LocalPipeline, family: string, records: Array<{ partitionKey: string; data: unknown }>): Promise<Written[]> {
  const out: Written[] = [];
  for (let i = 0; i < records.length; i += 500) {
    const chunk = records.slice(i, i + 500);
    const r = await local.kinesis.send(
      new PutRecordsCommand({
        StreamName: streamOf(local, family),
        Records: chunk.map((c) => ({ PartitionKey: c.partitionKey, Data: Buffer.from(typeof c.data === 'string' ? c.data : JSON.stringify(c.data)) })),
      }),
    );
    if (r.FailedRecordCount) throw new Error(`PutRecords refused ${r.FailedRecordCount} records: ${JSON.stringify(r.Records?.find((x) => x.ErrorCode))}`);
    r.Records!.forEach((rec, n) => out.push({ partitionKey: chunk[n]!.partitionKey, shardId: rec.ShardId!, sequenceNumber: rec.SequenceNumber! }));
  }
  return out;
}

/** POST one event; must be accepted (202). */
export async function accept(local: LocalPipeline, family: string, body: unknown): Promise<{ shardId: string; sequenceNumber: string; id: string }> {
  const r = await post(`${local.apiUrl}/events/${family}`, body);
  if (r.status !== 202) throw new Error(`expected 202 for ${family}, got ${r.status}: ${JSON.stringify(r.json).slice(0, 300)}`);
  return r.json;
}

/** POST up to 500 events on the batch route; all must be accepted. */
export async function acceptBatch(local: LocalPipeline, family: string, bodies: unknown[]): Promise<Array<{ shardId: string; sequenceNumber: string }>> {
  const r = await post(`${local.apiUrl}/events/${family}/batch`, { records: bodies });
  if (r.status !== 202 || r.json.failedRecordCount) throw new Error(`batch of ${bodies.length} ${family}: ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
  return r.json.records;
}

const seqGte = (a: string, b: string) => (a.length !== b.length ? a.length > b.length : a >= b);

/** Resolves once the family's mapping has checkpointed past every given record (processed or sent to the failure destination). */
export async function settled(local: LocalPipeline, family: string, written: ReadonlyArray<{ shardId: string; sequenceNumber: string }>, timeoutMs = 60_000): Promise<void> {
  const last = new Map<string, string>();
  for (const w of written) if (!last.has(w.shardId) || seqGte(w.sequenceNumber, last.get(w.shardId)!)) last.set(w.shardId, w.sequenceNumber);
  const stream = streamOf(local, family);
  await eventually(() => {
    const file = join(local.stateDir, 'checkpoints.json');
    if (!existsSync(file)) return undefined;
    const cps = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { sequenceNumber?: string }>;
    return [...last].every(([shard, seq]) => {
      const cp = cps[`${stream}/${shard}`]?.sequenceNumber;
      return cp !== undefined && seqGte(cp, seq);
    }) || undefined;
  }, timeoutMs, `${family}: the mapping past ${written.length} record(s)`);
}

export async function getItem(local: LocalPipeline, pk: string, sk: string): Promise<Plain | undefined> {
  const r = await local.dynamo.send(new GetItemCommand({ TableName: local.deployment.tableName, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }));
  return r.Item ? (plain({ M: r.Item }) as Plain) : undefined;
}

export async function rawItems(local: LocalPipeline): Promise<Record<string, AttributeValue>[]> {
  return scanTable(local.dynamo, local.deployment.tableName);
}

export async function putItem(local: LocalPipeline, item: Record<string, AttributeValue>): Promise<void> {
  await local.dynamo.send(new PutItemCommand({ TableName: local.deployment.tableName, Item: item }));
}

/** Every item of the family's malformed sink, by `<shardId>#<sequence number without padding>`. */
export async function malformedSink(local: LocalPipeline, family: string): Promise<Map<string, Plain>> {
  const out = new Map<string, Plain>();
  for (const i of await rawItems(local)) {
    if (i.pk?.S !== `${family}#malformed`) continue;
    const sk = i.sk?.S ?? '';
    const cut = sk.lastIndexOf('#');
    out.set(`${sk.slice(0, cut)}#${sk.slice(cut + 1).replace(/^0+/, '')}`, plain({ M: i }) as Plain);
  }
  return out;
}

export const sinkId = (w: { shardId: string; sequenceNumber: string }) => `${w.shardId}#${w.sequenceNumber.replace(/^0+/, '')}`;

/** The family's malformed sink item for one record, by shard and sequence number (padded or not). */
export async function malformedOf(local: LocalPipeline, family: string, w: { shardId: string; sequenceNumber: string }): Promise<Plain | undefined> {
  return (await malformedSink(local, family)).get(sinkId(w));
}

/**
 * One record as the on-failure destination keeps it. `data` is the record's
 * payload (base64, as Kinesis delivered it) when the destination keeps
 * payloads, undefined when it keeps only the batch's sequence range.
 */
export interface FailedRecord {
  shardId: string;
  sequenceNumber?: string;
  range: { start: string; end: string };
  data?: string;
}

/**
 * Every record of `family` the on-failure destination holds, read as redrive and the soak read it
 * (local/failure-store.ts): from the payload where the failure object keeps one, else as its sequence range.
 */
export function failedRecords(local: LocalPipeline, family: string): FailedRecord[] {
  return readFailureRecords(local.stateDir, family).flatMap(({ body }) => {
    const info = body.KinesisBatchInfo;
    const range = { start: info.startSequenceNumber, end: info.endSequenceNumber };
    const records = payloadRecords(body);
    if (!records || records.length === 0) return [{ shardId: info.shardId, range }];
    return records.map((r) => ({ shardId: info.shardId, range, sequenceNumber: r.kinesis.sequenceNumber, data: r.kinesis.data }));
  });
}

const seqIn = (seq: string, range: { start: string; end: string }) => seqGte(seq, range.start) && seqGte(range.end, seq);

/** The on-failure destination's copy of one record, if it holds it (by its own sequence number, or a range covering it). */
export function failedRecordOf(local: LocalPipeline, family: string, w: { shardId: string; sequenceNumber: string }): FailedRecord | undefined {
  const all = failedRecords(local, family).filter((f) => f.shardId === w.shardId);
  return all.find((f) => f.sequenceNumber === w.sequenceNumber) ?? all.find((f) => f.sequenceNumber === undefined && seqIn(w.sequenceNumber, f.range));
}

/** Where an accepted record ended: its shard's failure destination, its family's malformed sink, or neither. */
export async function whereIs(local: LocalPipeline, family: string, w: { shardId: string; sequenceNumber: string }) {
  return { failed: failedRecordOf(local, family, w), malformed: await malformedOf(local, family, w) };
}
