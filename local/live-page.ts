/**
 * The live local page: what local mode is doing, per family, refreshed every
 * second over Server-Sent Events. Events in per second come from following
 * each shard like a second consumer (one GetRecords per shard per second,
 * from the mapping's checkpoint on), so records put straight on a stream
 * count too; each shard's lag is what that follower has seen beyond the
 * mapping's checkpoint (records, and the age of the oldest); processed per
 * second, failure-destination and malformed counts come from the mappings'
 * counters, the on-failure files and the alert sink.
 */
import { createServer, type Server } from 'node:http';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { PipelineDeployment } from '../modules/deployment.js';
import type { SunkEvent } from './alert-sink.js';
import { CheckpointStore, type ShardCheckpoint } from './checkpoints.js';
import type { PollerStats } from './poller.js';
import { listenLocal } from './ports.js';

export interface LivePageOptions {
  readonly deployment: PipelineDeployment;
  readonly kinesis: KinesisClient;
  readonly checkpoints: () => Readonly<Record<string, ShardCheckpoint>>;
  readonly stats: () => Readonly<Record<string, PollerStats>>;
  readonly alerts: () => readonly SunkEvent[];
  /** How many failure records the family's on-failure destination holds. */
  readonly failureCount: (family: string) => number;
  /** 0 picks a free port. */
  readonly port: number;
  readonly host?: string;
  /**
   * How often the followers read and the page refreshes.
   * @default 1000
   */
  readonly intervalMs?: number;
}

export interface ShardView {
  readonly shardId: string;
  readonly checkpoint?: string;
  /** Records on the shard beyond the mapping's checkpoint (seen since the page started following). */
  readonly lagRecords: number;
  /** Age of the oldest of them, in seconds (0 when none). */
  readonly lagSeconds: number;
}

export interface FamilyView {
  readonly family: string;
  readonly inPerSecond: number;
  readonly processedPerSecond: number;
  readonly totalIn: number;
  readonly totalProcessed: number;
  /** Entries in the family's on-failure destination file (one per discarded batch). */
  readonly failureDestination: number;
  readonly malformed: number;
  readonly shards: readonly ShardView[];
}

export interface AlertView {
  readonly at: string;
  readonly family: string;
  readonly type: string;
  readonly severity: string;
  readonly message: string;
  readonly reason?: string;
  readonly issues?: string;
}

export interface Snapshot {
  readonly at: string;
  readonly environment: string;
  readonly families: readonly FamilyView[];
  readonly alerts: readonly AlertView[];
  readonly malformed: readonly AlertView[];
}

export interface LivePage {
  readonly url: string;
  readonly server: Server;
  snapshot(): Snapshot;
  stop(): Promise<void>;
}

/** Seconds over which the per-second rates are averaged. */
const RATE_WINDOW = 5;
/** Followers pause when no page has looked for this long. */
const IDLE_AFTER_MS = 10_000;
const LATEST = 10;

/** Follows one shard from the mapping's checkpoint, keeping the arrival of every record not yet checkpointed. */
class ShardFollower {
  private iterator?: string;
  private readonly pending: Array<{ seq: bigint; at: number }> = [];
  seen = 0;

  constructor(
    private readonly kinesis: KinesisClient,
    readonly streamName: string,
    readonly shardId: string,
  ) {}

  /** After an error (an expired iterator): start again from the checkpoint on the next poll. */
  restart(): void {
    this.iterator = undefined;
    // Those are read again from the checkpoint on.
    this.seen -= this.pending.length;
    this.pending.length = 0;
  }

  async poll(checkpoint: string | undefined): Promise<void> {
    if (!this.iterator) {
      const output = await this.kinesis.send(
        new GetShardIteratorCommand({
          StreamName: this.streamName,
          ShardId: this.shardId,
          ...(checkpoint ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: checkpoint } : { ShardIteratorType: 'TRIM_HORIZON' }),
        }),
      );
      this.iterator = output.ShardIterator;
    }
    if (!this.iterator) return;
    const output = await this.kinesis.send(new GetRecordsCommand({ ShardIterator: this.iterator, Limit: 1000 }));
    this.iterator = output.NextShardIterator;
    for (const record of output.Records ?? []) {
      this.pending.push({ seq: BigInt(record.SequenceNumber!), at: record.ApproximateArrivalTimestamp?.getTime() ?? Date.now() });
      this.seen += 1;
    }
  }

  view(checkpoint: string | undefined, now: number): ShardView {
    const done = checkpoint ? BigInt(checkpoint) : -1n;
    while (this.pending.length > 0 && this.pending[0]!.seq <= done) this.pending.shift();
    const oldest = this.pending[0];
    return {
      shardId: this.shardId,
      ...(checkpoint ? { checkpoint } : {}),
      lagRecords: this.pending.length,
      lagSeconds: oldest ? Math.max(0, Math.round((now - oldest.at) / 100) / 10) : 0,
    };
  }
}

function alertView(event: SunkEvent): AlertView {
  const detail = (event.detail ?? {}) as { family?: string; alert_type?: string; severity?: string; message?: string; details?: { reason?: string; issues?: string } };
  return {
    at: event.receivedAt,
    family: detail.family ?? event.source.replace(/^.*\./, ''),
    type: detail.alert_type ?? event.detailType,
    severity: detail.severity ?? '',
    message: detail.message ?? '',
    ...(detail.details?.reason ? { reason: detail.details.reason } : {}),
    ...(detail.details?.issues ? { issues: detail.details.issues } : {}),
  };
}

export async function startLivePage(options: LivePageOptions): Promise<LivePage> {
  const interval = options.intervalMs ?? 1000;
  const followers = new Map<string, ShardFollower[]>();
  for (const family of options.deployment.families) {
    const shards = await options.kinesis.send(new ListShardsCommand({ StreamName: family.stream.name }));
    followers.set(
      family.family.name,
      (shards.Shards ?? []).map((s) => new ShardFollower(options.kinesis, family.stream.name, s.ShardId!)),
    );
  }
  const checkpointOf = (follower: ShardFollower) => options.checkpoints()[CheckpointStore.key(follower.streamName, follower.shardId)]?.sequenceNumber;

  // Cumulative counters once per tick, so rates are differences over the last RATE_WINDOW seconds.
  const history: Array<{ at: number; seen: Record<string, number>; processed: Record<string, number> }> = [];
  const totals = () => {
    const stats = options.stats();
    const seen: Record<string, number> = {};
    const processed: Record<string, number> = {};
    for (const [family, list] of followers) {
      seen[family] = list.reduce((sum, f) => sum + f.seen, 0);
      processed[family] = stats[family]?.succeededRecords ?? 0;
    }
    return { at: Date.now(), seen, processed };
  };

  function snapshot(): Snapshot {
    const now = totals();
    const past = history.find((h) => now.at - h.at <= RATE_WINDOW * 1000 + interval / 2) ?? now;
    const seconds = Math.max(1e-3, (now.at - past.at) / 1000);
    const alerts = options.alerts();
    const malformedAlerts = alerts.filter((a) => a.detailType === 'MalformedEvent').map(alertView);
    return {
      at: new Date(now.at).toISOString(),
      environment: options.deployment.environment,
      families: [...followers].map(([family, list]) => ({
        family,
        inPerSecond: now.at === past.at ? 0 : round((now.seen[family]! - past.seen[family]!) / seconds),
        processedPerSecond: now.at === past.at ? 0 : round((now.processed[family]! - past.processed[family]!) / seconds),
        totalIn: now.seen[family]!,
        totalProcessed: now.processed[family]!,
        failureDestination: options.failureCount(family),
        malformed: malformedAlerts.filter((a) => a.family === family).length,
        shards: list.map((f) => f.view(checkpointOf(f), now.at)),
      })),
      alerts: alerts
        .filter((a) => a.detailType !== 'MalformedEvent')
        .slice(-LATEST)
        .reverse()
        .map(alertView),
      malformed: malformedAlerts.slice(-LATEST).reverse(),
    };
  }

  const clients = new Set<import('node:http').ServerResponse>();
  let stopped = false;
  let polling: Promise<void> = Promise.resolve();
  // The followers read only while someone looks, so an unwatched local mode (tests, the soak) pays nothing.
  let lastLook = 0;
  const tick = async () => {
    if (clients.size === 0 && Date.now() - lastLook > IDLE_AFTER_MS) return;
    await Promise.all([...followers.values()].flat().map((f) => f.poll(checkpointOf(f)).catch(() => f.restart())));
    history.push(totals());
    while (history.length > RATE_WINDOW + 2) history.shift();
    if (clients.size > 0) {
      const data = `data: ${JSON.stringify(snapshot())}\n\n`;
      for (const client of clients) client.write(data);
    }
  };
  const timer = setInterval(() => {
    if (!stopped) polling = polling.then(tick);
  }, interval);

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' });
      res.end();
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE);
    } else if (path === '/snapshot') {
      lastLook = Date.now();
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(snapshot()));
    } else if (path === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(`data: ${JSON.stringify(snapshot())}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  const port = await listenLocal(server, options.port, options.host);
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    snapshot,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await polling.catch(() => undefined);
      for (const client of clients) client.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const round = (n: number) => Math.round(n * 10) / 10;

/** The page itself: no external resources, rendered from the snapshots the stream sends. */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>event-flow local</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2430; background: #f6f7f9; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; } h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
  .muted { color: #667085; } table { border-collapse: collapse; background: #fff; width: 100%; }
  th, td { padding: .35rem .6rem; border-bottom: 1px solid #e4e7ec; text-align: right; white-space: nowrap; }
  th:first-child, td:first-child, td.text { text-align: left; } td.text { white-space: normal; }
  th { background: #eef1f5; font-weight: 600; } .num { font-variant-numeric: tabular-nums; }
  .lag-high { color: #b42318; font-weight: 600; } .bad { color: #b42318; font-weight: 600; }
  #alerts th, #malformed th, #shards th:nth-child(2) { text-align: left; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; } code { font-size: 12px; }
</style></head>
<body>
<h1>event-flow local <span id="env" class="muted"></span></h1>
<div class="muted">updated <span id="at">never</span> (live, every second)</div>
<h2>Families</h2>
<table id="families"><thead><tr><th>family</th><th>events in /s</th><th>processed /s</th><th>in (total)</th><th>processed (total)</th><th>failure destination</th><th>malformed</th></tr></thead><tbody></tbody></table>
<h2>Shards: lag behind the stream's tip</h2>
<table id="shards"><thead><tr><th>family</th><th>shard</th><th>records behind</th><th>oldest waiting (s)</th><th>checkpoint</th></tr></thead><tbody></tbody></table>
<div class="grid">
<div><h2>Latest alerts</h2><table id="alerts"><thead><tr><th>time</th><th>family</th><th>type</th><th>message</th></tr></thead><tbody></tbody></table></div>
<div><h2>Latest malformed records</h2><table id="malformed"><thead><tr><th>time</th><th>family</th><th>reason</th><th>issues</th></tr></thead><tbody></tbody></table></div>
</div>
<script>
function cell(row, text, cls, field) { const td = row.insertCell(); td.textContent = text; if (cls) td.className = cls; if (field) td.dataset.field = field; return td; }
function fill(id, rows, render) { const body = document.querySelector('#' + id + ' tbody'); body.replaceChildren(); for (const r of rows) render(body.insertRow(), r); if (rows.length === 0) { const tr = body.insertRow(); const td = tr.insertCell(); td.colSpan = 9; td.className = 'text muted'; td.textContent = 'none yet'; } }
const time = (iso) => iso.slice(11, 19);
function render(s) {
  document.getElementById('env').textContent = '(' + s.environment + ')';
  document.getElementById('at').textContent = time(s.at);
  fill('families', s.families, (tr, f) => { tr.dataset.family = f.family; cell(tr, f.family); cell(tr, f.inPerSecond.toFixed(1), 'num', 'in-rate'); cell(tr, f.processedPerSecond.toFixed(1), 'num', 'processed-rate'); cell(tr, f.totalIn, 'num', 'in-total'); cell(tr, f.totalProcessed, 'num', 'processed-total'); cell(tr, f.failureDestination, 'num' + (f.failureDestination ? ' bad' : ''), 'failure-destination'); cell(tr, f.malformed, 'num' + (f.malformed ? ' bad' : ''), 'malformed'); });
  fill('shards', s.families.flatMap((f) => f.shards.map((sh) => ({ family: f.family, ...sh }))), (tr, sh) => { tr.dataset.family = sh.family; tr.dataset.shard = sh.shardId; cell(tr, sh.family); cell(tr, sh.shardId, 'text'); cell(tr, sh.lagRecords, 'num' + (sh.lagSeconds > 60 ? ' lag-high' : ''), 'lag-records'); cell(tr, sh.lagSeconds.toFixed(1), 'num', 'lag-seconds'); cell(tr, sh.checkpoint ? '…' + sh.checkpoint.slice(-12) : '—', 'num'); });
  fill('alerts', s.alerts, (tr, a) => { cell(tr, time(a.at), 'text'); cell(tr, a.family, 'text'); cell(tr, a.type + (a.severity ? ' (' + a.severity + ')' : ''), 'text'); cell(tr, a.message, 'text'); });
  fill('malformed', s.malformed, (tr, a) => { tr.dataset.reason = a.reason || ''; cell(tr, time(a.at), 'text'); cell(tr, a.family, 'text'); cell(tr, a.reason || '', 'text bad', 'reason'); cell(tr, a.issues || '', 'text'); });
}
fetch('snapshot').then((r) => r.json()).then(render);
const source = new EventSource('stream');
source.onmessage = (e) => render(JSON.parse(e.data));
</script>
</body></html>
`;
