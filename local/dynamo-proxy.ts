/**
 * The one HTTP proxy between the processors' sandboxes and dynalite. Each
 * request is, in order: attributed to a principal by its SigV4 access key id,
 * authorized against that principal's table grant as IAM would
 * (local/table-access.ts), optionally throttled (local/faults.ts), and
 * forwarded unchanged.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { freePort, listenLocal } from './ports.js';
import { readBody } from './request-body.js';
import {
  accessDeniedResponse,
  accessKeyIdOf,
  assertEvaluable,
  authorize,
  tableRequests,
  unrecognizedClientResponse,
  type AccessScope,
  type Denial,
  type ErrorResponse,
  type HashKeyOf,
  type TablePrincipal,
} from './table-access.js';

export interface TableAccessOptions {
  readonly scope: AccessScope;
  /** The principals by access key id; a request signed with any other key is refused as AWS refuses unknown credentials. */
  readonly principals: ReadonlyMap<string, TablePrincipal>;
  readonly hashKeyOf: HashKeyOf;
  /** Sees every refusal (local mode logs it with the reason AWS's message leaves out). */
  readonly onDenied?: (denial: Denial, principal: TablePrincipal) => void;
}

export interface ProcessorProxyOptions {
  /** dynalite's endpoint. */
  readonly target: string;
  /** Enforce the principals' table grants; every request passes when absent. */
  readonly access?: TableAccessOptions;
  /** Answer this fraction of the authorized requests with a throughput error. */
  readonly throttle?: { readonly rate: number; readonly random: () => number };
}

export interface ProcessorProxy {
  readonly endpoint: string;
  /** Requests seen, and those answered with a throughput error. */
  readonly stats: { requests: number; throttled: number };
  /** Requests refused by the table grants. */
  readonly denied: () => number;
  stop(): Promise<void>;
}

const JSON_10 = 'application/x-amz-json-1.0';

function answer(res: ServerResponse, response: ErrorResponse): void {
  res.writeHead(response.status, { 'content-type': JSON_10, 'x-amzn-requestid': randomUUID(), 'content-length': Buffer.byteLength(response.body) });
  res.end(response.body);
}

/** DynamoDB's answer to a table over its throughput, which the SDK retries as ProvisionedThroughputExceededException. */
export const THROTTLED: ErrorResponse = {
  status: 400,
  body: JSON.stringify({
    __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  }),
};


/** The refusal IAM would give this request, if any. */
async function decide(access: TableAccessOptions, req: IncomingMessage, body: Buffer): Promise<ErrorResponse | undefined> {
  const principal = access.principals.get(accessKeyIdOf(req.headers.authorization) ?? '');
  if (!principal) return unrecognizedClientResponse();
  const target = String(req.headers['x-amz-target'] ?? '');
  const operation = target.slice(target.indexOf('.') + 1);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    // Not a request IAM can read keys from; DynamoDB itself answers it with a SerializationException.
    return undefined;
  }
  const denial = authorize(principal, access.scope, await tableRequests(operation, parsed ?? {}, access.hashKeyOf));
  if (!denial) return undefined;
  access.onDenied?.(denial, principal);
  return accessDeniedResponse(access.scope, denial);
}

export async function startProcessorProxy(options: ProcessorProxyOptions): Promise<ProcessorProxy> {
  for (const principal of options.access?.principals.values() ?? []) assertEvaluable(principal.access.grant);
  const upstream = new URL(options.target);
  const stats = { requests: 0, throttled: 0 };
  let denied = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    const body = await readBody(req);
    const refused = options.access ? await decide(options.access, req, body) : undefined;
    if (refused) {
      denied++;
      return answer(res, refused);
    }
    if (options.throttle && options.throttle.random() < options.throttle.rate) {
      stats.throttled++;
      return answer(res, THROTTLED);
    }
    const forward = httpRequest({ hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 500, up.headers);
      up.pipe(res);
    });
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    forward.end(body);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const port = await freePort();
  await listenLocal(server, port);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    denied: () => denied,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
