/**
 * Sends events to an events API (local mode or a deployed stage) over real
 * HTTP with keep-alive and bounded concurrency, paced to a target rate,
 * retrying what is safe to retry (429, 5xx, network errors, and exactly the
 * failed records of a batch). Every event carries its `event_id`, so a retry
 * of a request whose first attempt did land is a client duplicate the
 * processors skip.
 */
import http from 'node:http';
import https from 'node:https';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Body, MalformedKind } from './families.js';
import { fmt, percentileSorted } from './stats.js';

export interface SendItem {
  family: string;
  /** A valid event; sent as JSON. */
  body?: Body;
  /** A malformed event: exactly what goes on the wire. */
  raw?: string;
  malformed?: MalformedKind;
}

/** One line of the sender's log (JSON Lines): what the API accepted, and what it refused. */
export interface LogEntry {
  accepted: boolean;
  family: string;
  route: 'single' | 'batch';
  /** API-assigned id (the envelope's `id`). */
  id?: string;
  /** The event's client idempotency key. */
  key?: string;
  sequenceNumber?: string;
  shardId?: string;
  status: number;
  body?: Body;
  raw?: string;
  malformed?: MalformedKind;
  error?: string;
  latencyMs: number;
  at: number;
}

export interface SenderOptions {
  url: string;
  apiKey?: string;
  concurrency: number;
  /** Events per batch request; 1 uses the single-event route. */
  batch: number;
  /** Target events/s; 0 sends as fast as the concurrency allows. */
  rate: number;
  maxRetries?: number;
  timeoutMs?: number;
  /** Path of the JSON Lines log of every event's outcome. */
  logPath?: string;
  /** Receives every log entry (the soak and bench keep them in memory). */
  onEntry?: (entry: LogEntry) => void;
  /** Live progress on stderr. */
  progress?: boolean;
}

export interface SendSummary {
  sent: number;
  accepted: number;
  rejected: number;
  requests: number;
  retries: number;
  elapsedMs: number;
  eventsPerSecond: number;
  latency: { p50: number; p95: number; p99: number; max: number };
  statusCounts: Record<string, number>;
}

interface Response {
  status: number;
  body: string;
}

export class Sender {
  private readonly agent: http.Agent;
  private readonly base: URL;
  private log?: WriteStream;
  private sent = 0;
  private accepted = 0;
  private rejected = 0;
  private requests = 0;
  private retries = 0;
  private readonly latencies: number[] = [];
  private readonly statusCounts: Record<string, number> = {};

  constructor(private readonly options: SenderOptions) {
    this.base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    const Agent = this.base.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  }

  /**
   * Sends items from `next` until it returns undefined or `stopAt` (ms epoch)
   * passes. Returns the summary; every event's outcome has been logged.
   */
  async run(next: () => SendItem | undefined, stopAt = Number.POSITIVE_INFINITY): Promise<SendSummary> {
    const { concurrency, batch, rate } = this.options;
    if (this.options.logPath) this.log = createWriteStream(this.options.logPath, { flags: 'a' });
    const started = performance.now();
    let scheduled = 0;
    let exhausted = false;
    const pending = new Map<string, Body[]>();

    // Valid events wait per family until a batch is full; malformed ones go alone,
    // because one bad event makes the API refuse a whole batch.
    const take = (): { family: string; items: SendItem[] } | undefined => {
      for (;;) {
        if (exhausted || Date.now() >= stopAt) {
          exhausted = true;
          for (const [family, bodies] of pending) {
            pending.delete(family);
            if (bodies.length > 0) return { family, items: bodies.map((body) => ({ family, body })) };
          }
          return undefined;
        }
        const item = next();
        if (!item) {
          exhausted = true;
          continue;
        }
        if (batch <= 1 || item.raw !== undefined) return { family: item.family, items: [item] };
        const bodies = pending.get(item.family) ?? [];
        bodies.push(item.body!);
        pending.set(item.family, bodies);
        if (bodies.length >= batch) {
          pending.delete(item.family);
          return { family: item.family, items: bodies.map((body) => ({ family: item.family, body })) };
        }
      }
    };

    const ticker = this.options.progress ? this.startProgress(started) : undefined;
    const worker = async () => {
      for (;;) {
        const work = take();
        if (!work) return;
        if (rate > 0) {
          // Pace by events: the request carrying events [scheduled, scheduled+n) leaves at scheduled/rate.
          const due = started + (scheduled / rate) * 1000;
          // Work taken ahead by the other workers must not run past the deadline.
          if (performance.timeOrigin + due >= stopAt) return;
          scheduled += work.items.length;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
        }
        if (work.items.length === 1 && (batch <= 1 || work.items[0]!.raw !== undefined)) await this.sendSingle(work.items[0]!);
        else await this.sendBatch(work.family, work.items);
      }
    };
    try {
      await Promise.all(Array.from({ length: concurrency }, worker));
    } finally {
      if (ticker) clearInterval(ticker);
      if (this.options.progress) process.stderr.write(`${this.progressLine(started)}\n`);
      await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
      this.log = undefined;
    }
    return this.summary(started);
  }

  close(): void {
    this.agent.destroy();
  }

  summary(started: number): SendSummary {
    const elapsedMs = performance.now() - started;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      sent: this.sent,
      accepted: this.accepted,
      rejected: this.rejected,
      requests: this.requests,
      retries: this.retries,
      elapsedMs,
      eventsPerSecond: this.accepted / (elapsedMs / 1000),
      latency: {
        p50: percentileSorted(sorted, 50),
        p95: percentileSorted(sorted, 95),
        p99: percentileSorted(sorted, 99),
        max: sorted[sorted.length - 1] ?? Number.NaN,
      },
      statusCounts: { ...this.statusCounts },
    };
  }

  private async sendSingle(item: SendItem): Promise<void> {
    const payload = item.raw ?? JSON.stringify(item.body);
    this.sent += 1;
    const path = `events/${item.family}`;
    for (let attempt = 0; ; attempt++) {
      const t0 = performance.now();
      const response = await this.post(path, payload);
      const latencyMs = performance.now() - t0;
      this.latencies.push(latencyMs);
      if (this.retryable(response.status) && attempt < (this.options.maxRetries ?? 8)) {
        this.retries += 1;
        await sleep(backoff(attempt));
        continue;
      }
      this.count(response.status);
      const ok = response.status === 202;
      const parsed = safeJson(response.body) as { id?: string; sequenceNumber?: string; shardId?: string; message?: string } | undefined;
      if (ok) this.accepted += 1;
      else this.rejected += 1;
      this.write({
        accepted: ok,
        family: item.family,
        route: 'single',
        id: parsed?.id,
        key: keyOf(item.body),
        sequenceNumber: parsed?.sequenceNumber,
        shardId: parsed?.shardId,
        status: response.status,
        body: item.body,
        raw: item.raw,
        malformed: item.malformed,
        error: ok ? undefined : (parsed?.message ?? response.body.slice(0, 200)),
        latencyMs,
        at: Date.now(),
      });
      return;
    }
  }

  private async sendBatch(family: string, items: SendItem[]): Promise<void> {
    this.sent += items.length;
    let remaining = items;
    for (let attempt = 0; remaining.length > 0; attempt++) {
      const payload = JSON.stringify({ records: remaining.map((i) => i.body) });
      const t0 = performance.now();
      const response = await this.post(`events/${family}/batch`, payload);
      const latencyMs = performance.now() - t0;
      this.latencies.push(latencyMs);
      const last = attempt >= (this.options.maxRetries ?? 8);
      if (this.retryable(response.status) && !last) {
        this.retries += 1;
        await sleep(backoff(attempt));
        continue;
      }
      this.count(response.status);
      const parsed = safeJson(response.body) as
        | { records?: { id?: string; sequenceNumber?: string; shardId?: string; errorCode?: string }[]; message?: string }
        | undefined;
      if (response.status !== 202 || !Array.isArray(parsed?.records)) {
        for (const item of remaining) this.reject(family, item, response.status, parsed?.message ?? response.body.slice(0, 200), latencyMs);
        return;
      }
      const failed: SendItem[] = [];
      remaining.forEach((item, index) => {
        const record = parsed.records![index];
        if (record && !record.errorCode && record.sequenceNumber) {
          this.accepted += 1;
          this.write({
            accepted: true,
            family,
            route: 'batch',
            id: record.id,
            key: keyOf(item.body),
            sequenceNumber: record.sequenceNumber,
            shardId: record.shardId,
            status: 202,
            body: item.body,
            latencyMs,
            at: Date.now(),
          });
        } else if (last) {
          this.reject(family, item, 202, record?.errorCode ?? 'missing record result', latencyMs);
        } else {
          failed.push(item);
        }
      });
      if (failed.length > 0) {
        this.retries += 1;
        await sleep(backoff(attempt));
      }
      remaining = failed;
    }
  }

  private reject(family: string, item: SendItem, status: number, error: string, latencyMs: number) {
    this.rejected += 1;
    this.write({
      accepted: false,
      family,
      route: 'batch',
      key: keyOf(item.body),
      status,
      body: item.body,
      raw: item.raw,
      malformed: item.malformed,
      error,
      latencyMs,
      at: Date.now(),
    });
  }

  private retryable(status: number): boolean {
    return status === 0 || status === 429 || status >= 500;
  }

  private count(status: number) {
    this.requests += 1;
    this.statusCounts[status] = (this.statusCounts[status] ?? 0) + 1;
  }

  private write(entry: LogEntry) {
    this.options.onEntry?.(entry);
    this.log?.write(`${JSON.stringify(entry)}\n`);
  }

  private post(path: string, payload: string): Promise<Response> {
    const url = new URL(path, this.base);
    const mod = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
    };
    if (this.options.apiKey) headers['x-api-key'] = this.options.apiKey;
    return new Promise((resolve) => {
      const req = mod.request(url, { method: 'POST', agent: this.agent, headers, timeout: this.options.timeoutMs ?? 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => resolve({ status: 0, body: String(e) }));
      });
      // Status 0 marks a network failure or timeout: retryable, the event_id keeps it safe.
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve({ status: 0, body: String(e) }));
      req.end(payload);
    });
  }

  private startProgress(started: number): NodeJS.Timeout {
    const tty = process.stderr.isTTY;
    let ticks = 0;
    return setInterval(() => {
      ticks += 1;
      if (tty) process.stderr.write(`\r${this.progressLine(started)}\x1b[K`);
      else if (ticks % 5 === 0) process.stderr.write(`${this.progressLine(started)}\n`);
    }, 1000).unref();
  }

  private lastTick = { at: 0, accepted: 0 };
  private progressLine(started: number): string {
    const now = performance.now();
    const since = this.lastTick.at || started;
    const rate = ((this.accepted - this.lastTick.accepted) / Math.max(1, now - since)) * 1000;
    this.lastTick = { at: now, accepted: this.accepted };
    const recent = this.latencies.slice(-5000).sort((a, b) => a - b);
    return (
      `sent ${fmt(this.sent)}  accepted ${fmt(this.accepted)}  rejected ${fmt(this.rejected)}  ` +
      `${fmt(rate)} ev/s  p50 ${fmt(percentileSorted(recent, 50), 1)} ms  p99 ${fmt(percentileSorted(recent, 99), 1)} ms  ` +
      `(${fmt((now - started) / 1000, 0)} s)`
    );
  }
}

function keyOf(body: Body | undefined): string | undefined {
  return typeof body?.event_id === 'string' ? body.event_id : undefined;
}

function backoff(attempt: number): number {
  return Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
