/**
 * A real HTTP endpoint that speaks EventBridge's `PutEvents` (JSON 1.1,
 * `X-Amz-Target: AWSEvents.PutEvents`) and records what it gets. The SDK's
 * EventBridge client talks to it through `AWS_ENDPOINT_URL_EVENTBRIDGE` (or an
 * explicit `endpoint`), exactly as it would talk to AWS.
 *
 * Used by the handler tests, and reusable by local mode and the soak as the
 * alert sink. Faults can be injected per entry (EventBridge's partial failure,
 * `FailedEntryCount` > 0) or per request (HTTP 500).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedEntry {
  EventBusName?: string;
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Time?: string | number;
  Resources?: string[];
  /** `Detail` parsed as JSON (undefined if it is not JSON). */
  detail: any;
  eventId: string;
  receivedAt: number;
}

export interface EntryFault {
  ErrorCode: string;
  ErrorMessage: string;
}

export interface EventBridgeSinkOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Return a fault to reject one entry (partial failure); it is then not recorded. */
  entryFault?: (entry: Omit<RecordedEntry, 'eventId' | 'receivedAt'>) => EntryFault | undefined;
  /** Called for every accepted entry (e.g. to print alerts). */
  onEntry?: (entry: RecordedEntry) => void;
}

export interface EventBridgeSink {
  /** Endpoint URL for the SDK, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** Accepted entries, in arrival order. */
  entries: RecordedEntry[];
  /** PutEvents requests received (including rejected ones). */
  requests: number;
  /** Entries rejected by `entryFault`. */
  rejected: RecordedEntry[];
  /** Answer the next `count` requests with HTTP 500 (InternalException). */
  failRequests(count: number): void;
  /** Replace the entry fault at run time. */
  setEntryFault(fault: EventBridgeSinkOptions['entryFault']): void;
  clear(): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
  res.end(text);
}

export async function startEventBridgeSink(options: EventBridgeSinkOptions = {}): Promise<EventBridgeSink> {
  let failing = 0;
  let entryFault = options.entryFault;
  const sink = {
    entries: [] as RecordedEntry[],
    rejected: [] as RecordedEntry[],
    requests: 0,
  };
  const server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      if (req.method !== 'POST' || target !== 'AWSEvents.PutEvents') {
        return reply(res, 400, { __type: 'UnknownOperationException', message: `unsupported operation ${target || req.method}` });
      }
      sink.requests++;
      if (failing > 0) {
        failing--;
        return reply(res, 500, { __type: 'InternalException', message: 'injected failure' });
      }
      const request = JSON.parse(body) as { Entries?: Omit<RecordedEntry, 'detail' | 'eventId' | 'receivedAt'>[] };
      const entries = request.Entries ?? [];
      if (entries.length === 0 || entries.length > 10) {
        return reply(res, 400, { __type: 'ValidationException', message: `PutEvents takes 1 to 10 entries, got ${entries.length}` });
      }
      let failed = 0;
      const results = entries.map((raw) => {
        let detail: unknown;
        try {
          detail = raw.Detail === undefined ? undefined : JSON.parse(raw.Detail);
        } catch {
          detail = undefined;
        }
        const candidate = { ...raw, detail };
        const fault = entryFault?.(candidate);
        const recorded: RecordedEntry = { ...candidate, eventId: randomUUID(), receivedAt: Date.now() };
        if (fault) {
          failed++;
          sink.rejected.push(recorded);
          return { ErrorCode: fault.ErrorCode, ErrorMessage: fault.ErrorMessage };
        }
        sink.entries.push(recorded);
        options.onEntry?.(recorded);
        return { EventId: recorded.eventId };
      });
      reply(res, 200, { FailedEntryCount: failed, Entries: results });
    } catch (error) {
      reply(res, 500, { __type: 'InternalException', message: String(error) });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return Object.assign(sink, {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    failRequests(count: number) {
      failing = count;
    },
    setEntryFault(fault: EventBridgeSinkOptions['entryFault']) {
      entryFault = fault;
    },
    clear() {
      sink.entries.length = 0;
      sink.rejected.length = 0;
      sink.requests = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
