/**
 * A real HTTP proxy in front of an AWS-compatible endpoint (dynalite here)
 * that counts requests per operation and can fail chosen ones with HTTP 500,
 * the way a DynamoDB outage looks to the SDK. It works for the bundled
 * handlers too, since they only see an endpoint URL. Test-only.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from '../../local/request-body.js';

export interface ProxiedRequest {
  /** Operation from X-Amz-Target, e.g. `PutItem`. */
  operation: string;
  body: any;
}

/** Answer with an error instead of the target, or forward after a delay (a slow dependency). */
export type Fault = { status: number; type: string; message: string } | { delayMs: number };

export interface CountingProxy {
  url: string;
  counts: Record<string, number>;
  total(): number;
  reset(): void;
  /** Decide per request; return a fault to answer it instead of the target. */
  setFault(fault: ((request: ProxiedRequest) => Fault | undefined) | undefined): void;
  close(): Promise<void>;
}


export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const counts: Record<string, number> = {};
  let fault: ((request: ProxiedRequest) => Fault | undefined) | undefined;
  const to = new URL(target);
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? 'unknown';
    counts[operation] = (counts[operation] ?? 0) + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const injected = fault?.({ operation, body: parsed });
    if (injected && 'delayMs' in injected) {
      await new Promise((resolve) => setTimeout(resolve, injected.delayMs));
    } else if (injected) {
      const text = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${injected.type}`, message: injected.message });
      res.writeHead(injected.status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const forward = httpRequest(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host } },
      (upstream) => {
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(res);
      },
    );
    forward.on('error', (error) => {
      res.writeHead(502);
      res.end(String(error));
    });
    forward.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    reset() {
      for (const k of Object.keys(counts)) delete counts[k];
    },
    setFault(f) {
      fault = f;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
