/**
 * The API Gateway mapping-template runtime for velocityjs: `$input`, `$util`
 * and `$context` as API Gateway defines them
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html),
 * so the local gateway and the template tests render the deployed templates
 * and get what API Gateway would produce.
 */
import { randomUUID } from 'node:crypto';
import { Compile, parse } from 'velocityjs';
import { JSONPath } from 'jsonpath-plus';
import { JsonNumber, JsonTextError, parseJsonText, writeJsonText, type JsonValue } from './json-text.js';

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
  /** `body` already parsed by json-text (the gateway parsed it to validate it), so it is not parsed twice. */
  readonly parsedBody?: JsonValue;
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

function parseBody(body: string): JsonValue {
  if (body.trim() === '') return {};
  try {
    return parseJsonText(body);
  } catch (error) {
    if (error instanceof JsonTextError) throw new VtlError(`Unable to parse the payload as JSON: ${error.message}`);
    throw error;
  }
}

function evaluatePath(root: JsonValue, path: string): unknown {
  // JSONPath over a scalar root only makes sense for `$` itself.
  if (path === '$' || path === '') return root;
  if (root === null || typeof root !== 'object' || root instanceof JsonNumber) return undefined;
  return JSONPath({ path, json: root as object, wrap: false }) as unknown;
}

/**
 * `$input.path` gives Java objects: numbers as numbers, but one the double
 * cannot hold exactly stays its text (it renders as sent).
 */
function javaValue(value: unknown): unknown {
  if (value instanceof JsonNumber) return String(value.value) === value.raw ? value.value : value;
  if (Array.isArray(value)) return value.map(javaValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: javaValue(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

/**
 * How API Gateway's Velocity prints a value (recorded, see
 * test/conformance/recorded-apigateway.ts): a map as Java's `{k=v, k2=v2}`, a
 * list as JSON (`[{"foo":"bar"}]`, also inside a map), null as nothing.
 */
export function javaString(value: unknown, nested = false): string {
  if (value === null || value === undefined) return nested ? 'null' : '';
  if (Array.isArray(value)) return writeJsonText(value);
  if (value instanceof JsonNumber) return value.raw;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}=${javaString(v, true)}`)
      .join(', ')}}`;
  }
  return String(value);
}

/**
 * Velocity 1.7's `==`: null equals null (and, as API Gateway records it, an
 * empty string); numbers compare by value; objects of different classes
 * compare by `toString()`, so `[] == ""` is false where JavaScript says true.
 */
function javaEquals(a: unknown, b: unknown): boolean {
  const number = (v: unknown) => (v instanceof JsonNumber ? v.value : typeof v === 'number' ? v : undefined);
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? '') === (b ?? '');
  const na = number(a);
  const nb = number(b);
  if (na !== undefined && nb !== undefined) return na === nb;
  if (typeof a === 'boolean' || typeof b === 'boolean') return a === b;
  return javaString(a) === javaString(b);
}

/** Velocity 1.7's truth: only null and false are false (an empty string and 0 are true). */
const javaTruthy = (v: unknown) => v !== null && v !== undefined && v !== false;

/** A Java regex as a JavaScript one: the flags Java writes inline, `\A` and `\z`; what JavaScript lacks fails the template. */
function javaRegex(pattern: string, global: boolean): RegExp {
  let flags = global ? 'g' : '';
  let source = pattern.replace(/^\(\?([imsux]+)\)/, (_, f: string) => {
    for (const c of f) if ('ims'.includes(c) && !flags.includes(c)) flags += c;
    return '';
  });
  source = source.replace(/\\A/g, '^').replace(/\\[zZ]/g, '$');
  if (/\(\?>|[*+?}]\+/.test(source)) throw new VtlError(`Java regex feature not supported locally: ${pattern}`);
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new VtlError(`Invalid regex ${JSON.stringify(pattern)}: ${(error as Error).message}`);
  }
}

/** Java's Matcher replacement: `$n` and `${name}` are groups, a backslash quotes the next character. */
function javaReplacement(replacement: string): (match: string, ...groups: unknown[]) => string {
  return (...args: unknown[]) => {
    const named = typeof args[args.length - 1] === 'object' ? (args[args.length - 1] as Record<string, string> | undefined) : undefined;
    const groups = args.slice(0, named ? -3 : -2) as (string | undefined)[];
    let out = '';
    for (let i = 0; i < replacement.length; i++) {
      const c = replacement[i]!;
      if (c === '\\' && i + 1 < replacement.length) out += replacement[++i];
      else if (c === '$' && replacement[i + 1] === '{') {
        const close = replacement.indexOf('}', i);
        out += named?.[replacement.slice(i + 2, close)] ?? '';
        i = close;
      } else if (c === '$' && /\d/.test(replacement[i + 1] ?? '')) out += groups[Number(replacement[++i])] ?? '';
      else out += c;
    }
    return out;
  };
}

type MethodHandler = { uid: string; match: (p: { property: string; context: unknown; params: unknown[] }) => boolean; resolve: (p: { property: string; context: unknown; params: unknown[] }) => unknown };

const on = (test: (context: unknown) => boolean, property: string, resolve: (context: never, params: unknown[]) => unknown): MethodHandler => ({
  uid: `apigateway: ${property}`,
  match: (p) => p.property === property && test(p.context),
  resolve: (p) => resolve(p.context as never, p.params),
});
const isString = (c: unknown) => typeof c === 'string';
const isList = (c: unknown) => Array.isArray(c);
const isMap = (c: unknown) => c !== null && typeof c === 'object' && !Array.isArray(c) && !(c instanceof JsonNumber);

/** The Java methods templates call on strings, lists and maps, with Java's semantics where JavaScript's differ. */
const JAVA_METHODS: MethodHandler[] = [
  on(() => true, 'toString', (c: unknown) => javaString(c)),
  on(isString, 'length', (c: string) => c.length),
  on(isString, 'isEmpty', (c: string) => c.length === 0),
  on(isString, 'equals', (c: string, [o]) => c === o),
  on(isString, 'equalsIgnoreCase', (c: string, [o]) => typeof o === 'string' && c.toLowerCase() === o.toLowerCase()),
  on(isString, 'contains', (c: string, [o]) => c.includes(String(o))),
  on(isString, 'matches', (c: string, [re]) => javaRegex(`^(?:${String(re)})$`, false).test(c)),
  on(isString, 'replaceAll', (c: string, [re, rep]) => c.replace(javaRegex(String(re), true), javaReplacement(String(rep)))),
  on(isString, 'replaceFirst', (c: string, [re, rep]) => c.replace(javaRegex(String(re), false), javaReplacement(String(rep)))),
  // Java's replace(CharSequence, CharSequence) replaces every occurrence, literally.
  on(isString, 'replace', (c: string, [a, b]) => c.split(String(a)).join(String(b))),
  // Java's split takes a regex and drops trailing empty strings.
  on(isString, 'split', (c: string, [re]) => {
    const parts = c.split(javaRegex(String(re), false));
    while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
    return parts;
  }),
  on(isString, 'substring', (c: string, [from, to]) => {
    const end = to === undefined ? c.length : Number(to);
    if (Number(from) < 0 || end > c.length || Number(from) > end) throw new VtlError(`String index out of range: substring(${String(from)}, ${String(to)}) of a ${c.length}-character string`);
    return c.substring(Number(from), end);
  }),
  on(isString, 'charAt', (c: string, [i]) => c.charAt(Number(i))),
  on(isList, 'isEmpty', (c: unknown[]) => c.length === 0),
  on(isList, 'contains', (c: unknown[], [o]) => c.some((x) => javaEquals(x, o))),
  on(isList, 'get', (c: unknown[], [i]) => c[Number(i)]),
  on(isMap, 'isEmpty', (c: object) => Object.keys(c).length === 0),
  on(isMap, 'containsKey', (c: object, [k]) => Object.prototype.hasOwnProperty.call(c, String(k))),
];

/**
 * velocityjs with API Gateway's Velocity where the two differ: how values
 * print, null references, `==`, truth in `#if`, `#set` to null, and Java's
 * string, list and map methods (the differences are listed in the README's
 * "Where it differs from AWS"; the recorded facts in test/conformance).
 */
/** The parts of velocityjs' compiler this runtime overrides, typed loosely (its own types are narrower than what it does). */
interface VelocityCompiler {
  context: Record<string, unknown>;
  contextId: string;
  render(context: Record<string, unknown>): string;
  getReferences(ast: any, isVal?: boolean): any;
  getExpression(ast: any): any;
  getLiteral(ast: any): any;
  getBlockIf(block: any[]): string;
  setValue(ast: any): void;
  renderAstList(asts: any[], contextId?: string): string;
}
const VelocityBase = Compile as unknown as new (asts: unknown, config: unknown) => VelocityCompiler;

class ApiGatewayVelocity extends VelocityBase {
  constructor(template: string) {
    super(parse(template), { customMethodHandlers: JAVA_METHODS });
  }

  override getReferences(ast: any, isVal?: boolean): any {
    if (!isVal) return super.getReferences(ast, isVal);
    // A reference that resolves to nothing prints nothing (recorded: `$result` and `$result.nested` of a missing path).
    const value = super.getReferences(ast, false);
    if (value === null || value === undefined) return '';
    return typeof value === 'object' ? javaString(value) : value;
  }

  override getExpression(ast: any): any {
    if (ast.type === 'math') {
      const [left, right] = ast.expression as unknown[];
      switch (ast.operator) {
        case '==':
          return javaEquals(this.getExpression(left!), this.getExpression(right!));
        case '!=':
          return !javaEquals(this.getExpression(left!), this.getExpression(right!));
        case 'not':
          return !javaTruthy(this.getExpression(left!));
        case '&&':
          return javaTruthy(this.getExpression(left!)) && javaTruthy(this.getExpression(right!));
        case '||':
          return javaTruthy(this.getExpression(left!)) || javaTruthy(this.getExpression(right!));
        default:
      }
    }
    return super.getExpression(ast);
  }

  override getBlockIf(block: any[]): string {
    let received = false;
    const body: unknown[] = [];
    for (const ast of block as Array<{ type: string; condition?: unknown }>) {
      const conditional = ast.type === 'if' || ast.type === 'elseif';
      if (!conditional && ast.type !== 'else') {
        if (received) body.push(ast);
        continue;
      }
      if (received) break;
      received = conditional ? javaTruthy(this.getExpression(ast.condition)) : true;
    }
    return this.renderAstList(body, this.contextId);
  }

  override setValue(ast: any): void {
    const node = ast as { equal: [unknown, { type: string }] };
    const right = node.equal[1];
    if (right.type === 'math') return super.setValue(ast);
    // Velocity 1.7: a #set whose right side is null leaves the left side as it was.
    const value = this.getLiteral(right);
    if (value === null || value === undefined) return;
    const hidden = '__apigateway_set_value';
    (this.context as Record<string, unknown>)[hidden] = value;
    node.equal[1] = { type: 'references', id: hidden, leader: '$' } as never;
    try {
      super.setValue(ast);
    } finally {
      node.equal[1] = right;
      delete (this.context as Record<string, unknown>)[hidden];
    }
  }
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
  // An empty payload is `{}` to the template, `$input.body` included (recorded).
  const rawBody = request.body === undefined || request.body === '' ? '{}' : request.body;
  let parsed: JsonValue | undefined = request.parsedBody;
  // API Gateway parses the payload lazily: a template that only uses `$input.body` works on any body.
  const root = (): JsonValue => (parsed ??= parseBody(rawBody));
  const params = {
    path: { ...(request.params?.path ?? {}) },
    querystring: { ...(request.params?.querystring ?? {}) },
    header: { ...(request.params?.header ?? {}) },
  };

  const input = {
    body: rawBody,
    json(path: string): string {
      const value = evaluatePath(root(), path);
      // Written back with each number's own text: no JSON round trip through doubles.
      return value === undefined ? '' : writeJsonText(value);
    },
    path(path: string): unknown {
      return javaValue(evaluatePath(root(), path));
    },
    params(name?: string): unknown {
      if (name === undefined) return params;
      return params.path[name] ?? params.querystring[name] ?? headerLookup(params.header, name) ?? '';
    },
  };

  const util = {
    escapeJavaScript: (value: unknown) => escapeJavaScript(String(value ?? '')),
    parseJson: (value: string) => javaValue(parseBody(String(value ?? ''))),
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

  let output: string;
  try {
    output = new ApiGatewayVelocity(template).render({ input, util, context, stageVariables: { ...(request.stageVariables ?? {}) } });
  } catch (error) {
    if (error instanceof VtlError) throw error;
    // A RangeError from a body too deep to walk, a TypeError from a template: API Gateway fails the template too.
    throw new VtlError(`Template could not be rendered: ${(error as Error).message}`);
  }

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

/**
 * A gateway response's template: API Gateway does no VTL there, only
 * substitutes `$context.*` and `$stageVariables.*` references ("A
 * GatewayResponse mapping template isn't processed by the VTL engine", the
 * x-amazon-apigateway-gateway-responses.responseTemplates page). Unknown ones become empty.
 */
export function substituteGatewayResponse(template: string, request: Pick<VtlRequest, 'context' | 'stageVariables'> = {}): string {
  const { context } = renderTemplate('', { context: request.context });
  const roots: Record<string, unknown> = { context, stageVariables: { ...(request.stageVariables ?? {}) } };
  return template.replace(/\$!?(?:\{(context|stageVariables)((?:\.[\w-]+)+)\}|(context|stageVariables)((?:\.[\w-]+)+))/g, (...m: string[]) => {
    const root = m[1] ?? m[3]!;
    const path = m[2] ?? m[4]!;
    let node: unknown = roots[root];
    for (const key of path.slice(1).split('.')) node = node !== null && typeof node === 'object' && Object.prototype.hasOwnProperty.call(node, key) ? (node as Record<string, unknown>)[key] : undefined;
    return node === undefined || node === null || typeof node === 'object' ? '' : String(node);
  });
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `$context.requestTime` in API Gateway's CLF format: `23/Nov/2026:10:42:47 +0000`. */
export function apiGatewayRequestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}
