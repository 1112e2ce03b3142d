/**
 * A local stand-in for the EventBridge alert bus: it answers the processors'
 * `PutEvents` calls (JSON 1.1, `AWSEvents.PutEvents`) as EventBridge does,
 * keeps what they sent, and prints alerts and malformed events for humans.
 * Tests of other parts may import it too: it is the one implementation (local
 * mode, the handler test harness, the benchmarks). For tests it also keeps the
 * entries as sent, counts requests, and injects faults per entry (EventBridge's
 * partial failure, `FailedEntryCount` > 0) or per request (HTTP 500).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { freePort, listenLocal } from './ports.js';
import { readBody } from './request-body.js';

export interface SunkEvent {
  readonly eventId: string;
  /** ISO time the sink received it. */
  readonly receivedAt: string;
  readonly source: string;
  readonly detailType: string;
  readonly eventBusName?: string;
  readonly time?: string;
  readonly resources?: readonly string[];
  /** `Detail` parsed as JSON (EventBridge requires JSON), or the raw string if it was not. */
  readonly detail: unknown;
}

/** One accepted (or fault-rejected) `PutEvents` entry as it was sent, with `Detail` parsed. */
export interface RawEntry {
  readonly EventBusName?: string;
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly Time?: string | number;
  readonly Resources?: string[];
  /** `Detail` parsed as JSON; `any` so tests can read into it. */
  readonly detail: any;
  readonly eventId: string;
}

export interface EntryFault {
  readonly ErrorCode: string;
  readonly ErrorMessage: string;
}

/** Returns a fault to reject one (otherwise valid) entry; it is then kept in `rejected`, not received. */
export type EntryFaultHook = (entry: Omit<RawEntry, 'eventId'>) => EntryFault | undefined;

export interface AlertSink {
  readonly endpoint: string;
  readonly port: number;
  /** Everything received, oldest first. */
  events(): readonly SunkEvent[];
  /** The same entries as sent (PascalCase fields, parsed `detail`), oldest first. */
  readonly entries: readonly RawEntry[];
  /** Entries refused by the entry fault. */
  readonly rejected: readonly RawEntry[];
  /** `PutEvents` requests received since the start or the last `clear()`, failed ones included. */
  readonly requests: number;
  /** Answers the next `count` `PutEvents` requests with HTTP 500 (InternalException); 0 stops. */
  failRequests(count: number): void;
  setEntryFault(fault: EntryFaultHook | undefined): void;
  /** Resolves once `predicate` holds for the received events (or rejects after `timeoutMs`). */
  waitFor(predicate: (events: readonly SunkEvent[]) => boolean, timeoutMs?: number): Promise<readonly SunkEvent[]>;
  /** Forgets everything received and rejected, and resets the request count. */
  clear(): void;
  stop(): Promise<void>;
}

export interface AlertSinkOptions {
  readonly port?: number;
  /** Appends one JSON line per event here when set. */
  readonly file?: string;
  /** Called with one readable line per event; silent when absent. */
  readonly print?: (line: string) => void;
  readonly entryFault?: EntryFaultHook;
}


function describe(event: SunkEvent): string {
  const d = (event.detail ?? {}) as Record<string, unknown>;
  const bits = [
    d.severity,
    d.alert_type !== event.detailType ? d.alert_type : undefined,
    d.entity_type && d.entity_id ? `${String(d.entity_type)}=${String(d.entity_id)}` : d.entity_id,
  ]
    .filter((x) => x !== undefined && x !== null && x !== '')
    .map(String);
  const text = d.message ?? d.reason ?? d.error;
  // Malformed events carry why and where; show enough to find the record without dumping it.
  const details = (d.details ?? {}) as Record<string, unknown>;
  const raw = typeof details.raw_data === 'string' ? readable(details.raw_data) : undefined;
  const where = [
    details.reason !== undefined && !String(text).includes(String(details.reason)) ? `reason ${String(details.reason)}` : '',
    raw !== undefined ? `raw ${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}...` : raw)}` : '',
  ].filter(Boolean);
  return `[alert] ${event.source} ${event.detailType}${bits.length ? ` (${bits.join(', ')})` : ''}: ${
    text !== undefined ? String(text) : JSON.stringify(event.detail)
  }${where.length ? ` [${where.join(', ')}]` : ''}`;
}

/** Record data is base64; show it decoded when that is printable text. */
function readable(data: string): string {
  const decoded = Buffer.from(data, 'base64').toString('utf8');
  return Buffer.from(decoded, 'utf8').toString('base64') === data && /^[\x20-\x7e\s]*$/.test(decoded) ? decoded : data;
}

function awsError(type: string, message: string): string {
  return JSON.stringify({ __type: type, message });
}

export async function startAlertSink(options: AlertSinkOptions = {}): Promise<AlertSink> {
  const received: SunkEvent[] = [];
  const entries: RawEntry[] = [];
  const rejected: RawEntry[] = [];
  let requests = 0;
  let failing = 0;
  let entryFault = options.entryFault;
  const waiters = new Set<() => void>();
  if (options.file) mkdirSync(dirname(options.file), { recursive: true });

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = (await readBody(req)).toString('utf8');
      const target = String(req.headers['x-amz-target'] ?? '');
      const reply = (status: number, payload: string) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
        res.end(payload);
      };
      if (target !== 'AWSEvents.PutEvents') {
        reply(400, awsError('UnknownOperationException', `The local alert sink only answers PutEvents, not "${target}".`));
        return;
      }
      requests++;
      if (failing > 0) {
        failing--;
        reply(500, awsError('InternalException', 'injected failure'));
        return;
      }
      let request: { Entries?: Array<Record<string, unknown>> };
      try {
        request = JSON.parse(body) as typeof request;
      } catch {
        reply(400, awsError('SerializationException', 'Request body is not JSON.'));
        return;
      }
      const sent = request.Entries ?? [];
      if (sent.length < 1 || sent.length > 10) {
        reply(400, awsError('ValidationException', `Entries must hold 1 to 10 events, got ${sent.length}.`));
        return;
      }
      const results = sent.map((entry) => {
        const source = typeof entry.Source === 'string' ? entry.Source : '';
        const detailType = typeof entry.DetailType === 'string' ? entry.DetailType : '';
        const detailText = typeof entry.Detail === 'string' ? entry.Detail : '';
        // EventBridge fails an entry, not the call, when it lacks what it needs.
        if (!source || !detailType || !detailText) {
          return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Source, DetailType and Detail are required.' };
        }
        let detail: unknown;
        try {
          detail = JSON.parse(detailText);
        } catch {
          return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
        }
        const raw = { ...(entry as Omit<RawEntry, 'detail' | 'eventId'>), detail };
        const fault = entryFault?.(raw);
        if (fault) {
          rejected.push({ ...raw, eventId: randomUUID() });
          return { ErrorCode: fault.ErrorCode, ErrorMessage: fault.ErrorMessage };
        }
        const event: SunkEvent = {
          eventId: randomUUID(),
          receivedAt: new Date().toISOString(),
          source,
          detailType,
          ...(typeof entry.EventBusName === 'string' ? { eventBusName: entry.EventBusName } : {}),
          ...(entry.Time !== undefined ? { time: new Date(entry.Time as string | number).toISOString() } : {}),
          ...(Array.isArray(entry.Resources) ? { resources: entry.Resources as string[] } : {}),
          detail,
        };
        received.push(event);
        entries.push({ ...raw, eventId: event.eventId });
        if (options.file) appendFileSync(options.file, `${JSON.stringify(event)}\n`);
        options.print?.(describe(event));
        return { EventId: event.eventId };
      });
      const failed = results.filter((r) => 'ErrorCode' in r).length;
      reply(200, JSON.stringify({ FailedEntryCount: failed, Entries: results }));
      for (const wake of [...waiters]) wake();
    })().catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  const port = options.port ?? (await freePort());
  await listenLocal(server, port);

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    events: () => received,
    get entries() {
      return entries;
    },
    get rejected() {
      return rejected;
    },
    get requests() {
      return requests;
    },
    failRequests(count) {
      failing = count;
    },
    setEntryFault(fault) {
      entryFault = fault;
    },
    clear() {
      received.splice(0);
      entries.splice(0);
      rejected.splice(0);
      requests = 0;
    },
    waitFor(predicate, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(received)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(received);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`alert sink: condition not met within ${timeoutMs} ms (${received.length} events received)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
