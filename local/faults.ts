/**
 * Fault injection for soak tests: real failures the processors see through
 * their real SDK clients, not stubs.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { freePort, listenLocal } from './ports.js';

export interface FaultOptions {
  /** Fraction of handler invocations that throw, as a crashing Lambda would. */
  readonly handlerCrashRate?: number;
  /** Fraction of the processors' DynamoDB requests answered with ProvisionedThroughputExceededException. */
  readonly dynamoThrottleRate?: number;
  /** Seed of the fault dice, so a soak run can be repeated. */
  readonly seed?: number;
}

/** mulberry32: small, seedable, good enough to pick faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ThrottleProxy {
  readonly endpoint: string;
  readonly stats: { requests: number; throttled: number };
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of dynalite that answers a fraction of requests the
 * way DynamoDB does when a table is over its throughput: 400 with the JSON 1.0
 * error type, which the SDK turns into a retryable ProvisionedThroughputExceededException.
 */
export async function startThrottleProxy(target: string, rate: number, random: () => number): Promise<ThrottleProxy> {
  const upstream = new URL(target);
  const stats = { requests: 0, throttled: 0 };
  const server: Server = createServer((req, res) => {
    stats.requests++;
    if (random() < rate) {
      stats.throttled++;
      req.resume();
      const body = JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        message: 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
      });
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID(), 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const forward = httpRequest(
      { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 500, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  const port = await freePort();
  await listenLocal(server, port);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
