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
 * 202 body of the batch route. PutRecords is not atomic: each record succeeds
 * or fails alone, so the response lists every record in request order and a
 * client retries exactly those with an `errorCode`. Kinesis' own error
 * messages name the account, so only the public error code is passed on.
 */
export function putRecordsResponseTemplate(): string {
  const id = '$context.requestId:$foreach.index';
  return [
    `{"failedRecordCount":$input.path('$.FailedRecordCount'),"records":[`,
    `#foreach($r in $input.path('$.Records'))`,
    `#if("$!r.ErrorCode" == "")` +
      `{"id":"${id}","sequenceNumber":"$r.SequenceNumber","shardId":"$r.ShardId"}` +
      `#else{"id":"${id}","errorCode":"$r.ErrorCode"}#end#if($foreach.hasNext),#end`,
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
  requestTooLarge: 'Request too large: API Gateway accepts at most 10 MB.',
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
    `{"message":"${MESSAGES.throttled}"}`,
    // Kinesis has said "too large" both as a ValidationException (member length) and as an
    // InvalidArgumentException ("exceeds the stream's max record size of 1048576 bytes").
    `#elseif(($type.endsWith('ValidationException') || $type.endsWith('InvalidArgumentException')) && $message.indexOf('1048576') >= 0)`,
    `#set($context.responseOverride.status = 413)`,
    `{"message":"${MESSAGES.tooLarge}"}`,
    `#elseif($type.endsWith('ValidationException') || $type.endsWith('InvalidArgumentException'))`,
    `{"message":"${MESSAGES.rejected}"}`,
    `#else`,
    `#set($context.responseOverride.status = 500)`,
    `{"message":"${MESSAGES.internal}"}`,
    `#end`,
  ].join('\n');
}

export function serverErrorResponseTemplate(): string {
  return `{"message":"${MESSAGES.internal}"}`;
}

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
}

/**
 * API Gateway's own error responses, rewritten as JSON `{"message"}` with the
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
  REQUEST_TOO_LARGE: { statusCode: '413', template: `{"message":"${MESSAGES.requestTooLarge}"}` },
  UNSUPPORTED_MEDIA_TYPE: { statusCode: '415', template: `{"message":"${MESSAGES.unsupportedMediaType}"}` },
  THROTTLED: { statusCode: '429', template: `{"message":"${MESSAGES.rateLimited}"}` },
  QUOTA_EXCEEDED: { statusCode: '429', template: `{"message":"${MESSAGES.quotaExceeded}"}` },
  INVALID_API_KEY: { statusCode: '403', template: `{"message":"${MESSAGES.forbidden}"}` },
  DEFAULT_5XX: { statusCode: '500', template: `{"message":"${MESSAGES.internal}"}` },
};
