/**
 * API Gateway mapping templates (Apache Velocity) of the unified events API.
 *
 * These are pure functions of a family definition. The deployed REST API and
 * the local gateway render exactly these strings, so what runs locally is what
 * API Gateway runs. They must stay within the subset of Velocity that both
 * API Gateway (Velocity 1.7 on the JVM) and velocityjs evaluate alike:
 * no string `+`, only string methods that Java and JavaScript share
 * (`endsWith`, `indexOf`), and `#set` targets reset before a possibly-null
 * assignment (Velocity 1.7 keeps the old value when the right side is null).
 */
import type { FamilyDefinition } from '../handlers/runtime/family.js';

export const JSON_CONTENT_TYPE = 'application/json';

/** A double quote, so JSON can be assembled inside Velocity's double-quoted (interpolating) strings. */
const QUOTE = `#set($q = '"')`;

function jsonPath(base: string, dotted: string): string {
  return `${base}.${dotted}`;
}

/**
 * Sets `$pk` to the first present partition-key field of the event at `base`
 * (a JSONPath such as `$` or `$.records[$i]`), else to `fallback`.
 */
function partitionKeyLines(family: FamilyDefinition, base: string, fallback: string): string[] {
  const [first, ...rest] = family.partitionKey;
  const lines = [`#set($pk = '')`];
  if (first !== undefined) lines.push(`#set($pk = $input.path("${jsonPath(base, first)}"))`);
  for (const path of rest) lines.push(`#if("$!pk" == "")#set($pk = $input.path("${jsonPath(base, path)}"))#end`);
  lines.push(`#if("$!pk" == "")#set($pk = "${fallback}")#end`);
  return lines;
}

/** Sets `$envelope` to the JSON envelope (ARCHITECTURE.md, 4 envelope) of the event at `base`. */
function envelopeLines(family: FamilyDefinition, base: string, id: string): string[] {
  const field = (name: string) => `\${q}${name}\${q}`;
  const text = (value: string) => `\${q}${value}\${q}`;
  return [
    `#set($key = '')`,
    `#set($key = $input.path("${jsonPath(base, family.idempotencyKey)}"))`,
    `#if("$!key" == "")#set($keyJson = 'null')#else#set($keyJson = "$q$key$q")#end`,
    `#set($data = $input.json("${base}"))`,
    '#set($envelope = "{' +
      [
        `${field('id')}:${text(id)}`,
        `${field('family')}:${text(family.name)}`,
        `${field('key')}:$keyJson`,
        `${field('receivedAt')}:$context.requestTimeEpoch`,
        `${field('sourceIp')}:${text('$context.identity.sourceIp')}`,
        `${field('data')}:$data`,
      ].join(',') +
      '}")',
  ];
}

/** Request template of `POST /events/<family>`: one event → Kinesis `PutRecord`. */
export function putRecordRequestTemplate(family: FamilyDefinition, streamName: string): string {
  return [
    QUOTE,
    ...partitionKeyLines(family, '$', '$context.requestId'),
    ...envelopeLines(family, '$', '$context.requestId'),
    `{"StreamName":"${streamName}","PartitionKey":"$pk","Data":"$util.base64Encode($envelope)"}`,
  ].join('\n');
}

/** Request template of `POST /events/<family>/batch`: `{"records":[...]}` → Kinesis `PutRecords`. */
export function putRecordsRequestTemplate(family: FamilyDefinition, streamName: string): string {
  const base = '$.records[$i]';
  const id = '$context.requestId:$i';
  return [
    QUOTE,
    `{"StreamName":"${streamName}","Records":[`,
    `#foreach($record in $input.path('$.records'))`,
    `#set($i = $foreach.index)`,
    ...partitionKeyLines(family, base, id),
    ...envelopeLines(family, base, id),
    `{"PartitionKey":"$pk","Data":"$util.base64Encode($envelope)"}#if($foreach.hasNext),#end`,
    `#end`,
    `]}`,
  ].join('\n');
}

/**
 * Request template of the compatibility route `POST /events/batch/<family>`
 * (the modular Terraform seed's clients): `{"records":[{"data":"<event as JSON
 * text>","partitionKey":"..."}]}` → one Kinesis `PutRecords`. The edge cannot
 * look inside a string, so `data` travels as the JSON string it is, marked
 * `"encoding":"json"`; the processor parses and validates it (an invalid one
 * lands in the malformed sink) and reads the idempotency key from it.
 * `$input.json` re-serialises both strings, so no client text can break out of
 * the envelope or the request.
 */
export function compatPutRecordsRequestTemplate(family: FamilyDefinition, streamName: string): string {
  const field = (name: string) => `\${q}${name}\${q}`;
  const envelope = [
    `${field('id')}:\${q}$context.requestId:$i\${q}`,
    `${field('family')}:\${q}${family.name}\${q}`,
    `${field('key')}:null`,
    `${field('receivedAt')}:$context.requestTimeEpoch`,
    `${field('sourceIp')}:\${q}$context.identity.sourceIp\${q}`,
    `${field('encoding')}:\${q}json\${q}`,
    `${field('data')}:$data`,
  ].join(',');
  return [
    QUOTE,
    `{"StreamName":"${streamName}","Records":[`,
    `#foreach($record in $input.path('$.records'))`,
    `#set($i = $foreach.index)`,
    `#set($data = $input.json("$.records[$i].data"))`,
    `#set($envelope = "{${envelope}}")`,
    `{"PartitionKey":$input.json("$.records[$i].partitionKey"),"Data":"$util.base64Encode($envelope)"}#if($foreach.hasNext),#end`,
    `#end`,
    `]}`,
  ].join('\n');
}

/** 202 body of the single route: the event's id and where Kinesis put it. */
export function putRecordResponseTemplate(): string {
  return [
    `#set($r = $input.path('$'))`,
    `{"id":"$context.requestId","sequenceNumber":"$r.SequenceNumber","shardId":"$r.ShardId"}`,
  ].join('\n');
}

/**
 * What a client should do about one failed PutRecords entry, by Kinesis'
 * entry `ErrorCode` (PutRecords API reference): a message of our own (Kinesis'
 * `ErrorMessage` names the account and stream) and whether retrying that entry
 * can succeed. Codes not listed are not retryable.
 */
export const ENTRY_FAILURES: Readonly<Record<string, { readonly message: string; readonly retryable: boolean }>> = {
  ProvisionedThroughputExceededException: { message: 'The stream is over its throughput: retry this record with backoff.', retryable: true },
  InternalFailure: { message: 'Kinesis failed to store this record: retry it.', retryable: true },
  KMSThrottlingException: { message: 'The stream key is throttled: retry this record with backoff.', retryable: true },
  KMSAccessDeniedException: { message: 'The stream key refused the write: retrying will not help; contact the operators.', retryable: false },
  KMSDisabledException: { message: 'The stream key is disabled: retrying will not help; contact the operators.', retryable: false },
  KMSInvalidStateException: { message: 'The stream key is not usable: retrying will not help; contact the operators.', retryable: false },
  KMSNotFoundException: { message: 'The stream key does not exist: retrying will not help; contact the operators.', retryable: false },
  KMSOptInRequired: { message: 'The stream key is not enabled for this account: retrying will not help; contact the operators.', retryable: false },
};
const UNKNOWN_ENTRY_FAILURE = 'Kinesis refused this record.';

/**
 * 202 body of the batch route. PutRecords is not atomic: each record succeeds
 * or fails alone, so the response lists every record in request order and a
 * client retries exactly those with `"retryable":true`. Kinesis' own error
 * messages name the account, so the entry carries its public code and our message.
 */
export function putRecordsResponseTemplate(): string {
  const id = '$context.requestId:$foreach.index';
  const branches = Object.entries(ENTRY_FAILURES)
    .map(([code, { message }], i) => `${i === 0 ? '#if' : '#elseif'}($code == '${code}')${message}`)
    .join('');
  const retryable = Object.entries(ENTRY_FAILURES)
    .filter(([, f]) => f.retryable)
    .map(([code]) => `$code == '${code}'`)
    .join(' || ');
  return [
    `{"failedRecordCount":$input.path('$.FailedRecordCount'),"records":[`,
    `#foreach($r in $input.path('$.Records'))`,
    `#if("$!r.ErrorCode" == "")` +
      `{"id":"${id}","sequenceNumber":"$r.SequenceNumber","shardId":"$r.ShardId"}` +
      `#else#set($code = "$r.ErrorCode"){"id":"${id}","errorCode":"$code","message":"${branches}#{else}${UNKNOWN_ENTRY_FAILURE}#end","retryable":#if(${retryable})true#{else}false#end}#end#if($foreach.hasNext),#end`,
    `#end`,
    `]}`,
  ].join('\n');
}

export const MESSAGES = {
  throttled: 'Too many requests: the event stream is over its throughput. Retry with exponential backoff.',
  tooLarge: 'Event too large: one event, wrapped in its envelope, may be at most 1 MiB.',
  rejected: 'The event was rejected by the stream.',
  internal: 'Internal error: the event was not accepted. Retry later.',
  notFound: 'Not found: there is no event family route at this path. Use POST /events/<family> or /events/<family>/batch.',
  unsupportedMediaType: 'Unsupported media type: send application/json.',
  rateLimited: 'Too many requests: the API is over its rate limit. Retry with exponential backoff.',
  quotaExceeded: 'Too many requests: the API key is over its quota.',
  forbidden: 'Forbidden: a valid x-api-key header is required.',
} as const;

/**
 * Response template for a Kinesis 4xx. Kinesis reports throttling and
 * oversize records as 400s; the template tells them apart by `__type` and
 * overrides the status, so clients get 429 and 413 they can act on.
 */
export function clientErrorResponseTemplate(): string {
  return [
    `#set($type = "$!input.path('$.__type')")`,
    `#set($message = "$!input.path('$.message')$!input.path('$.Message')")`,
    `#if($type.endsWith('ProvisionedThroughputExceededException') || $type.endsWith('LimitExceededException') || $type.endsWith('ThrottlingException'))`,
    `#set($context.responseOverride.status = 429)`,
    `#set($context.responseOverride.header.Retry-After = "${RETRY_AFTER_SECONDS}")`,
    // Browsers show a cross-origin response's Retry-After to scripts only when it is exposed.
    `#set($context.responseOverride.header.Access-Control-Expose-Headers = "Retry-After")`,
    `{"message":"${MESSAGES.throttled}","retryable":true}`,
    // Kinesis has said "too large" both as a ValidationException (member length) and as an
    // InvalidArgumentException ("exceeds the stream's max record size of 1048576 bytes").
    `#elseif(($type.endsWith('ValidationException') || $type.endsWith('InvalidArgumentException')) && $message.indexOf('1048576') >= 0)`,
    `#set($context.responseOverride.status = 413)`,
    `{"message":"${MESSAGES.tooLarge}","retryable":false}`,
    `#elseif($type.endsWith('ValidationException') || $type.endsWith('InvalidArgumentException'))`,
    `{"message":"${MESSAGES.rejected}","retryable":false}`,
    `#else`,
    `#set($context.responseOverride.status = 500)`,
    `{"message":"${MESSAGES.internal}","retryable":true}`,
    `#end`,
  ].join('\n');
}

export function serverErrorResponseTemplate(): string {
  return `{"message":"${MESSAGES.internal}","retryable":true}`;
}

/** What a 429 tells clients to wait, in seconds (`Retry-After`): the stage's token bucket refills within a second. */
export const RETRY_AFTER_SECONDS = 1;

export interface IntegrationResponseSpec {
  /** Regex over the integration's HTTP status; undefined marks the default response. */
  readonly selectionPattern?: string;
  readonly statusCode: string;
  readonly template: string;
}

/** Integration responses of both routes, in the order API Gateway should try them. */
export function integrationResponses(route: 'single' | 'batch'): readonly IntegrationResponseSpec[] {
  return [
    { statusCode: '202', template: route === 'single' ? putRecordResponseTemplate() : putRecordsResponseTemplate() },
    // `[0-9]`, not `\d`: the same regex, and it survives `cdktf synth --hcl` (which does not escape backslashes).
    { selectionPattern: '4[0-9]{2}', statusCode: '400', template: clientErrorResponseTemplate() },
    { selectionPattern: '5[0-9]{2}', statusCode: '500', template: serverErrorResponseTemplate() },
  ];
}

/** Status codes a method can answer with (method responses must declare every one). */
export const METHOD_STATUS_CODES = ['202', '400', '413', '429', '500'] as const;

export interface GatewayResponseSpec {
  readonly statusCode: string;
  readonly template: string;
  /** Static response headers besides the CORS ones every response gets. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * API Gateway's own error responses (their templates are not VTL: API Gateway
 * only substitutes `$context` and `$stageVariables` references in them), rewritten as JSON `{"message"}` with the
 * status a client expects: an unknown family is 404, not the default 403
 * "Missing Authentication Token".
 */
export const GATEWAY_RESPONSES: Readonly<Record<string, GatewayResponseSpec>> = {
  BAD_REQUEST_BODY: {
    statusCode: '400',
    template: `{"message":"Invalid request body: $context.error.validationErrorString"}`,
  },
  MISSING_AUTHENTICATION_TOKEN: { statusCode: '404', template: `{"message":"${MESSAGES.notFound}"}` },
  RESOURCE_NOT_FOUND: { statusCode: '404', template: `{"message":"${MESSAGES.notFound}"}` },
  UNSUPPORTED_MEDIA_TYPE: { statusCode: '415', template: `{"message":"${MESSAGES.unsupportedMediaType}"}` },
  THROTTLED: { statusCode: '429', template: `{"message":"${MESSAGES.rateLimited}","retryable":true}`, headers: { 'Retry-After': String(RETRY_AFTER_SECONDS), 'Access-Control-Expose-Headers': 'Retry-After' } },
  // A quota resets at the end of its period (a day or more), not in a second: no Retry-After.
  QUOTA_EXCEEDED: { statusCode: '429', template: `{"message":"${MESSAGES.quotaExceeded}","retryable":false}` },
  INVALID_API_KEY: { statusCode: '403', template: `{"message":"${MESSAGES.forbidden}"}` },
  // Every response type not configured above inherits the defaults, CORS headers included.
  DEFAULT_4XX: { statusCode: '400', template: `{"message":$context.error.messageString}` },
  DEFAULT_5XX: { statusCode: '500', template: `{"message":"${MESSAGES.internal}","retryable":true}` },
};
