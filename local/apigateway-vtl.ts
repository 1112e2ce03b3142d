/**
 * The API Gateway mapping-template runtime for velocityjs: `$input`, `$util`
 * and `$context` as API Gateway defines them
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html),
 * so the local gateway and the template tests render the deployed templates
 * and get what API Gateway would produce.
 */
import { randomUUID } from 'node:crypto';
import { render } from 'velocityjs';
import { JSONPath } from 'jsonpath-plus';

export interface VtlParams {
  readonly path?: Readonly<Record<string, string>>;
  readonly querystring?: Readonly<Record<string, string>>;
  /** Header names as sent; lookups by `$input.params('Name')` are case-insensitive like API Gateway's. */
  readonly header?: Readonly<Record<string, string>>;
}

export interface VtlErrorContext {
  message?: string;
  messageString?: string;
  responseType?: string;
  validationErrorString?: string;
}

export interface VtlContextInput {
  requestId?: string;
  extendedRequestId?: string;
  /** Epoch milliseconds, as API Gateway's `$context.requestTimeEpoch`. */
  requestTimeEpoch?: number;
  requestTime?: string;
  httpMethod?: string;
  path?: string;
  resourcePath?: string;
  stage?: string;
  accountId?: string;
  apiId?: string;
  domainName?: string;
  protocol?: string;
  identity?: { sourceIp?: string; userAgent?: string; apiKey?: string; apiKeyId?: string };
  error?: VtlErrorContext;
}

export interface VtlRequest {
  /** The raw payload: the client's body in a request template, the integration's body in a response template. */
  readonly body?: string;
  readonly params?: VtlParams;
  readonly context?: VtlContextInput;
  readonly stageVariables?: Readonly<Record<string, string>>;
}

export interface VtlResult {
  /** The rendered template. */
  readonly output: string;
  /** `#set($context.responseOverride.status = ...)`, when the template set it. */
  readonly statusOverride?: number;
  /** `#set($context.responseOverride.header.Name = ...)` values. */
  readonly headerOverrides: Readonly<Record<string, string>>;
  /** The `$context` the template saw (request id, times), for callers that echo it. */
  readonly context: Readonly<Record<string, unknown>>;
}

/** Thrown where API Gateway would fail the template (e.g. `$input.path` over a non-JSON body). */
export class VtlError extends Error {}

function parseBody(body: string): unknown {
  if (body.trim() === '') return {};
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new VtlError('Unable to parse the payload as JSON');
  }
}

function evaluatePath(root: unknown, path: string): unknown {
  // JSONPath over a scalar root only makes sense for `$` itself.
  if (path === '$' || path === '') return root;
  if (root === null || typeof root !== 'object') return undefined;
  const result = JSONPath({ path, json: root as object, wrap: false }) as unknown;
  return result;
}

/**
 * JSON null is Java null in API Gateway, which `$!ref` renders as nothing;
 * velocityjs renders a JavaScript null as "null" but undefined as nothing.
 */
function javaNulls(value: unknown): unknown {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.map(javaNulls);
  if (typeof value === 'object' && value !== undefined) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, javaNulls(v)]));
  }
  return value;
}

/**
 * Java's `StringEscapeUtils.escapeJavaScript`, which is what `$util.escapeJavaScript`
 * is: quotes (single too), backslash, slash, control characters, and every
 * non-ASCII character as `\uXXXX`.
 */
export function escapeJavaScript(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (code > 0xffff) {
      for (const unit of [ch.charCodeAt(0), ch.charCodeAt(1)]) out += `\\u${unit.toString(16).toUpperCase().padStart(4, '0')}`;
    } else if (code > 0x7f) {
      out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    } else if (code < 0x20) {
      const short: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };
      out += short[code] ?? `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    } else if (ch === '"' || ch === "'" || ch === '\\' || ch === '/') {
      out += `\\${ch}`;
    } else {
      out += ch;
    }
  }
  return out;
}

/** Java's `URLEncoder.encode(s, "UTF-8")`: form encoding, spaces as `+`. */
function urlEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

function urlDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

function headerLookup(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

export function renderTemplate(template: string, request: VtlRequest = {}): VtlResult {
  const rawBody = request.body ?? '';
  let parsed: unknown;
  let parsedOnce = false;
  // API Gateway parses the payload lazily: a template that only uses `$input.body` works on any body.
  const root = (): unknown => {
    if (!parsedOnce) {
      parsed = parseBody(rawBody);
      parsedOnce = true;
    }
    return parsed;
  };
  const params = {
    path: { ...(request.params?.path ?? {}) },
    querystring: { ...(request.params?.querystring ?? {}) },
    header: { ...(request.params?.header ?? {}) },
  };

  const input = {
    body: rawBody,
    json(path: string): string {
      const value = evaluatePath(root(), path);
      return value === undefined ? '' : JSON.stringify(value);
    },
    path(path: string): unknown {
      return javaNulls(evaluatePath(root(), path));
    },
    params(name?: string): unknown {
      if (name === undefined) return params;
      return params.path[name] ?? params.querystring[name] ?? headerLookup(params.header, name) ?? '';
    },
  };

  const util = {
    escapeJavaScript: (value: unknown) => escapeJavaScript(String(value ?? '')),
    parseJson: (value: string) => JSON.parse(value) as unknown,
    urlEncode: (value: string) => urlEncode(String(value ?? '')),
    urlDecode: (value: string) => urlDecode(String(value ?? '')),
    base64Encode: (value: unknown) => Buffer.from(String(value ?? ''), 'utf8').toString('base64'),
    base64Decode: (value: string) => Buffer.from(String(value ?? ''), 'base64').toString('utf8'),
  };

  const c = request.context ?? {};
  const requestTimeEpoch = c.requestTimeEpoch ?? Date.now();
  const responseOverride: { status?: unknown; header: Record<string, unknown> } = { header: {} };
  const context: Record<string, unknown> = {
    accountId: c.accountId ?? '000000000000',
    apiId: c.apiId ?? 'local',
    domainName: c.domainName ?? '127.0.0.1',
    extendedRequestId: c.extendedRequestId ?? c.requestId ?? randomUUID(),
    httpMethod: c.httpMethod ?? 'POST',
    path: c.path ?? '/',
    protocol: c.protocol ?? 'HTTP/1.1',
    requestId: c.requestId ?? randomUUID(),
    requestTime: c.requestTime ?? apiGatewayRequestTime(requestTimeEpoch),
    requestTimeEpoch,
    resourcePath: c.resourcePath ?? c.path ?? '/',
    stage: c.stage ?? 'local',
    identity: {
      sourceIp: c.identity?.sourceIp ?? '127.0.0.1',
      userAgent: c.identity?.userAgent ?? '',
      apiKey: c.identity?.apiKey ?? '',
      apiKeyId: c.identity?.apiKeyId ?? '',
    },
    error: {
      message: c.error?.message ?? '',
      messageString: c.error?.messageString ?? (c.error?.message !== undefined ? JSON.stringify(c.error.message) : ''),
      responseType: c.error?.responseType ?? '',
      validationErrorString: c.error?.validationErrorString ?? '',
    },
    responseOverride,
  };

  const output = render(template, { input, util, context, stageVariables: { ...(request.stageVariables ?? {}) } });

  const status = responseOverride.status;
  const statusOverride = status === undefined || status === null || status === '' ? undefined : Number(status);
  const headerOverrides: Record<string, string> = {};
  for (const [name, value] of Object.entries(responseOverride.header)) headerOverrides[name] = String(value);
  return {
    output,
    ...(statusOverride !== undefined && Number.isFinite(statusOverride) ? { statusOverride } : {}),
    headerOverrides,
    context,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `$context.requestTime` in API Gateway's CLF format: `23/Nov/2026:10:42:47 +0000`. */
export function apiGatewayRequestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}
