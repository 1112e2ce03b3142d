/**
 * The local REST API: what API Gateway does for the events API, on node:http.
 * Routes come from the deployment's families; bodies are validated with the
 * same JSON Schema models; the very VTL templates of modules/templates.ts are
 * rendered and sent to Kinesis as the AWS service integration sends them; the
 * integration response is chosen by status regex, and API Gateway's own
 * errors go through the same GATEWAY_RESPONSES templates.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FamilyDeployment, PipelineDeployment } from '../modules/deployment.js';
import {
  GATEWAY_RESPONSES,
  JSON_CONTENT_TYPE,
  compatPutRecordsRequestTemplate,
  integrationResponses,
  putRecordRequestTemplate,
  putRecordsRequestTemplate,
} from '../modules/templates.js';
import { renderTemplate, substituteGatewayResponse, VtlError, type VtlContextInput } from './apigateway-vtl.js';
import { JsonTextError, parseJsonText, type JsonValue } from './json-text.js';
import { awsJsonCall } from './aws.js';
import { compileValidators, jsonEscape, validationErrorString, type FamilyValidators } from './validation.js';
import { listenLocal } from './ports.js';

/** API Gateway's payload limit. */
export const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export interface GatewayOptions {
  readonly deployment: PipelineDeployment;
  readonly kinesisEndpoint: string;
  readonly port: number;
  readonly host?: string;
  /** The key clients must send as `x-api-key` when the stage requires keys. */
  readonly apiKey?: string;
  /** Extra read-only routes under /local/ (alerts, status). */
  readonly localRoutes?: Readonly<Record<string, () => unknown>>;
  /** One line per request, when set. */
  readonly log?: (line: string) => void;
}

export interface Gateway {
  readonly url: string;
  readonly server: Server;
  stop(): Promise<void>;
}

/** A token bucket like the stage's throttle: `rate` tokens per second, at most `burst` stored. */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

interface Route {
  readonly family: FamilyDeployment;
  readonly kind: 'single' | 'batch';
  readonly requestTemplate: string;
  readonly validators: FamilyValidators;
  /** The compatibility batch route (`/events/batch/<family>`): its own model and template, the batch route's responses. */
  readonly compat?: boolean;
}

/** Status of each response type API Gateway answers with when no gateway response is configured for it. */
const DEFAULT_STATUS: Record<string, number> = {
  BAD_REQUEST_BODY: 400,
  MISSING_AUTHENTICATION_TOKEN: 403,
  RESOURCE_NOT_FOUND: 404,
  REQUEST_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  THROTTLED: 429,
  QUOTA_EXCEEDED: 429,
  INVALID_API_KEY: 403,
  DEFAULT_5XX: 500,
};

/** `$context.error.message` API Gateway uses for each of its own responses. */
const ERROR_MESSAGES: Record<string, string> = {
  BAD_REQUEST_BODY: 'Invalid request body',
  MISSING_AUTHENTICATION_TOKEN: 'Missing Authentication Token',
  RESOURCE_NOT_FOUND: 'Resource not found',
  REQUEST_TOO_LARGE: 'Request Too Long',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported Media Type',
  THROTTLED: 'Too Many Requests',
  QUOTA_EXCEEDED: 'Limit Exceeded',
  INVALID_API_KEY: 'Forbidden',
  DEFAULT_5XX: 'Internal server error',
};

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { deployment } = options;
  const api = deployment.api;
  const routes = new Map<string, Route>();
  for (const family of deployment.families) {
    const validators = compileValidators(family.family);
    routes.set(`/events/${family.family.name}`, {
      family,
      kind: 'single',
      requestTemplate: putRecordRequestTemplate(family.family, family.stream.name),
      validators,
    });
    routes.set(`/events/${family.family.name}/batch`, {
      family,
      kind: 'batch',
      requestTemplate: putRecordsRequestTemplate(family.family, family.stream.name),
      validators,
    });
    routes.set(`/events/batch/${family.family.name}`, {
      family,
      kind: 'batch',
      compat: true,
      requestTemplate: compatPutRecordsRequestTemplate(family.family, family.stream.name),
      validators,
    });
  }
  const bucket = new TokenBucket(api.throttlingRateLimit, api.throttlingBurstLimit);
  const allowOrigin = api.corsAllowOrigins[0] ?? '*';

  const server = createServer((req, res) => {
    const started = Date.now();
    const requestId = randomUUID();
    handle(req, res, requestId).then(
      () => options.log?.(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started} ms`),
      (error: unknown) => {
        logError(`${req.method} ${req.url} failed`, error);
        if (!res.headersSent) gatewayResponse(res, 'DEFAULT_5XX', baseContext(req, requestId, Date.now()));
        else res.end();
      },
    );
  });

  /** Every internal error is logged, with its stack: to `options.log`, else to stderr. */
  function logError(what: string, error: unknown): void {
    const line = `${what}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    if (options.log) options.log(line);
    else console.error(`[gateway] ${line}`);
  }

  function headers(requestId: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      'content-type': JSON_CONTENT_TYPE,
      'access-control-allow-origin': allowOrigin,
      'x-amzn-requestid': requestId,
      'x-amz-apigw-id': requestId.slice(0, 16),
      ...extra,
    };
  }

  function baseContext(req: IncomingMessage, requestId: string, requestTimeEpoch: number, resourcePath?: string): VtlContextInput {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    return {
      requestId,
      extendedRequestId: requestId,
      requestTimeEpoch,
      httpMethod: req.method ?? 'GET',
      path: `/${api.stageName}${path}`,
      resourcePath: resourcePath ?? path,
      stage: api.stageName,
      apiId: 'local',
      identity: {
        sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        userAgent: String(req.headers['user-agent'] ?? ''),
        apiKey: String(req.headers['x-api-key'] ?? ''),
      },
    };
  }

  /** API Gateway's own answer of `type`: the configured response, else DEFAULT_4XX/5XX, always with the CORS header. */
  function gatewayResponse(res: ServerResponse, type: string, context: VtlContextInput, validationError?: string): void {
    const fallback = DEFAULT_STATUS[type] !== undefined && DEFAULT_STATUS[type]! < 500 ? 'DEFAULT_4XX' : 'DEFAULT_5XX';
    const spec = GATEWAY_RESPONSES[type] ?? GATEWAY_RESPONSES[fallback]!;
    const message = ERROR_MESSAGES[type] ?? 'Internal server error';
    const rendered = substituteGatewayResponse(spec.template, {
      context: { ...context, error: { message, responseType: type, ...(validationError !== undefined ? { validationErrorString: validationError } : {}) } },
    });
    const status = GATEWAY_RESPONSES[type] ? Number(spec.statusCode) : (DEFAULT_STATUS[type] ?? 500);
    res.writeHead(status, headers(context.requestId!, { 'x-amzn-errortype': type, ...(spec.headers ?? {}) }));
    res.end(rendered);
  }

  /**
   * Over 10 MB API Gateway answers before any gateway response applies: a
   * plain-text 413 (recorded; a custom REQUEST_TOO_LARGE response is ignored),
   * so no CORS header either.
   */
  function tooLarge(res: ServerResponse): void {
    res.writeHead(413, { 'content-type': 'text; charset=utf-8' });
    res.end(`HTTP content length exceeded ${MAX_PAYLOAD_BYTES} bytes.`);
  }

  async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_PAYLOAD_BYTES) {
      req.resume();
      return 'too-large';
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_PAYLOAD_BYTES) {
        req.resume();
        return 'too-large';
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const requestTimeEpoch = Date.now();
    const path = ((req.url ?? '/').split('?')[0] ?? '/').replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';

    if (path.startsWith('/local/') && method === 'GET') {
      const route = options.localRoutes?.[path.slice('/local/'.length)];
      if (route) {
        req.resume();
        res.writeHead(200, headers(requestId));
        res.end(JSON.stringify(route(), null, 2));
        return;
      }
    }

    const route = routes.get(path);
    const context = baseContext(req, requestId, requestTimeEpoch, route ? (route.compat ? '/events/batch/{family}' : route.kind === 'single' ? '/events/{family}' : '/events/{family}/batch') : undefined);
    if (route && method === 'OPTIONS') {
      req.resume();
      // The stage's CORS preflight (a MOCK integration in AWS).
      res.writeHead(200, headers(requestId, {
        'access-control-allow-methods': 'OPTIONS,POST',
        'access-control-allow-headers': 'Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token',
      }));
      res.end('{}');
      return;
    }
    if (!route || method !== 'POST') {
      req.resume();
      // No method at this path: API Gateway answers MISSING_AUTHENTICATION_TOKEN (mapped to 404).
      gatewayResponse(res, 'MISSING_AUTHENTICATION_TOKEN', context);
      return;
    }
    if (api.apiKeyRequired && req.headers['x-api-key'] !== options.apiKey) {
      req.resume();
      gatewayResponse(res, 'INVALID_API_KEY', context);
      return;
    }
    if (!bucket.take()) {
      req.resume();
      gatewayResponse(res, 'THROTTLED', context);
      return;
    }
    const body = await readBody(req);
    if (body === 'too-large') {
      tooLarge(res);
      return;
    }
    const contentType = String(req.headers['content-type'] ?? JSON_CONTENT_TYPE).split(';')[0]!.trim().toLowerCase();
    if (contentType !== JSON_CONTENT_TYPE) {
      // passthroughBehavior NEVER: no template for this content type.
      gatewayResponse(res, 'UNSUPPORTED_MEDIA_TYPE', context);
      return;
    }
    const text = body.toString('utf8');
    let parsed: JsonValue;
    try {
      // Numbers stay text (JsonNumber): what reaches Kinesis is what the client sent.
      parsed = text.trim() === '' ? {} : parseJsonText(text);
    } catch (error) {
      if (!(error instanceof JsonTextError)) throw error;
      gatewayResponse(res, 'BAD_REQUEST_BODY', context, jsonEscape(`[Invalid JSON in request body: ${error.message}]`));
      return;
    }
    const validate = route.compat ? route.validators.compatBatch : route.kind === 'single' ? route.validators.single : route.validators.batch;
    const problems = validate(parsed);
    if (problems.length > 0) {
      gatewayResponse(res, 'BAD_REQUEST_BODY', context, validationErrorString(problems));
      return;
    }

    const header: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') header[name] = value;
    let rendered;
    try {
      rendered = renderTemplate(route.requestTemplate, { body: text, parsedBody: parsed, context, params: { header } });
    } catch (error) {
      if (!(error instanceof VtlError)) throw error;
      // A body the template cannot render is the client's problem: say so, and log it.
      logError(`request template of ${path} failed`, error);
      gatewayResponse(res, 'BAD_REQUEST_BODY', context, jsonEscape(`[The request body cannot be mapped: ${error.message}]`));
      return;
    }
    let integration: { status: number; body: string };
    try {
      integration = await awsJsonCall({
        endpoint: options.kinesisEndpoint,
        region: deployment.region,
        service: 'kinesis',
        target: route.kind === 'single' ? 'Kinesis_20131202.PutRecord' : 'Kinesis_20131202.PutRecords',
        body: rendered.output,
      });
    } catch (error) {
      logError(`integration of ${path} failed`, error);
      gatewayResponse(res, 'DEFAULT_5XX', context);
      return;
    }
    const specs = integrationResponses(route.kind);
    const status = String(integration.status);
    // Java's Pattern.matches: the whole status must match; the response without a pattern is the default.
    const spec =
      specs.find((s) => s.selectionPattern !== undefined && new RegExp(`^(?:${s.selectionPattern})$`).test(status)) ??
      specs.find((s) => s.selectionPattern === undefined)!;
    const response = renderTemplate(spec.template, { body: integration.body, context });
    res.writeHead(response.statusOverride ?? Number(spec.statusCode), headers(requestId, response.headerOverrides));
    res.end(response.output);
  }

  const port = await listenLocal(server, options.port, options.host);
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
