/**
 * What real API Gateway does, as recorded (./sources.ts): the request
 * validator's texts and rules, the mapping-template runtime, the Kinesis
 * integration's answers and the 413 over 10 MB. Data written down here, not code.
 */
import { SOURCES } from './sources.js';

/** The validator's message texts (`%s`/`%d` are its arguments). */
export const VALIDATOR_TEXTS = {
  source: SOURCES.validatorTexts,
  missingMembers: 'object has missing required properties (%s)',
  typeNoMatch: 'instance type (%s) does not match any allowed primitive type (allowed: %s)',
  notInEnum: 'instance value (%s) not found in enum (possible values: %s)',
  oneOfFail: 'instance failed to match exactly one schema (matched %d out of %d)',
  anyOfFail: 'instance failed to match at least one required schema among %d',
  additionalNotAllowed: 'object instance has properties which are not allowed by the schema: %s',
  patternNoMatch: 'ECMA 262 regex "%s" does not match input string "%s"',
  tooLong: 'string "%s" is too long (length: %d, maximum allowed: %d)',
  tooShort: 'string "%s" is too short (length: %d, required minimum: %d)',
  tooLarge: 'numeric instance is greater than the required maximum (maximum: %s, found: %s)',
  tooSmall: 'numeric instance is lower than the required minimum (minimum: %s, found: %s)',
  arrayTooShort: 'array is too short: must have at least %d elements but instance has %d elements',
  arrayTooLong: 'array is too long: must have at most %d elements but instance has %d elements',
  invalidDate: 'string "%s" is invalid against requested date format(s) %s',
  dateTimeFormats: "[yyyy-MM-dd'T'HH:mm:ssZ, yyyy-MM-dd'T'HH:mm:ss.[0-9]{1,12}Z]",
} as const;

/** Fills a recorded text's `%s`/`%d` in order. */
export function text(template: string, ...args: Array<string | number>): string {
  let i = 0;
  return template.replace(/%[sd]/g, () => String(args[i++]));
}

/** How the validator walks a body and reports (its rules, each with the file that shows it). */
export const VALIDATOR_RULES = {
  requiredNamesSorted: SOURCES.validatorRequiredOrder,
  typeListOrder: { source: SOURCES.validatorTypeOrder, order: ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string'] },
  unwantedOneMessageSorted: SOURCES.validatorUnwantedOrder,
  combinatorsSummaryOnly: SOURCES.validatorOneOf,
  noChildrenAfterFailure: SOURCES.validatorWalk,
  /** The value of `$context.error.validationErrorString`: the messages as a Java list, `[a, b]`. */
  listSeparator: ', ',
} as const;

/** The template runtime, recorded by rendering templates on real API Gateway. */
export const TEMPLATE_RUNTIME = {
  pathFormatting: {
    source: SOURCES.templatePathFormatting,
    /** `#set($result = $input.path("$.json"))$result` etc.: what came out for each input. */
    cases: [
      { template: '#set($result = $input.path("$"))$result', body: { foo: 'bar' }, output: '{foo=bar}' },
      { template: '#set($result = $input.path("$"))$result', body: [{ foo: 'bar' }], output: '[{"foo":"bar"}]' },
      { template: '#set($result = $input.path("$"))$result.nested', body: { nested: { foo: 'bar' } }, output: '{foo=bar}' },
      { template: '#set($result = $input.path("$"))$result.nested', body: { nested: [{ foo: 'bar' }] }, output: '[{"foo":"bar"}]' },
      { template: '#set($result = $input.path("$"))$result[0]', body: [{ foo: 'bar' }], output: '{foo=bar}' },
      { template: '#set($result = $input.path("$"))$result[0]', body: [[{ foo: 'bar' }]], output: '[{"foo":"bar"}]' },
      { template: '#set($result = $input.path("$"))$result', body: { foo: [{ nested: 'bar' }] }, output: '{foo=[{"nested":"bar"}]}' },
      { template: '#set($result = $input.path("$"))$result', body: { bigger: 'dict', to: 'test', with: 'separators' }, output: '{bigger=dict, to=test, with=separators}' },
      { template: '#set($result = $input.path("$"))$result.toString()', body: { foo: 'bar' }, output: '{foo=bar}' },
      { template: '#set($result = $input.path("$"))$result.toString()', body: { list: [{ foo: 'bar' }] }, output: '{list=[{"foo":"bar"}]}' },
      {
        // A missing path: the reference and its properties print nothing; it equals both $null and "".
        template:
          '#set($result = $input.path("$.nonExisting")){"body": $result, "nested": $result.nested, "isNull": #if( $result == $null )"true"#else"false"#end, "isEmptyString": #if( $result == "" )"true"#else"false"#end}',
        body: undefined,
        output: '{"body": , "nested": , "isNull": "true", "isEmptyString": "true"}',
      },
      {
        template:
          '#set($result = $input.path("$.listValue")){"body": $result, "nested": $result.nested, "isNull": #if( $result == $null )"true"#else"false"#end, "isEmptyString": #if( $result == "" )"true"#else"false"#end}',
        body: { listValue: [] },
        output: '{"body": [], "nested": , "isNull": "false", "isEmptyString": "false"}',
      },
      {
        template:
          '#set($result = $input.path("$.listValue")){"body": $result, "nested": $result.nested, "isNull": #if( $result == $null )"true"#else"false"#end, "isEmptyString": #if( $result == "" )"true"#else"false"#end}',
        body: { listValue: null },
        output: '{"body": , "nested": , "isNull": "true", "isEmptyString": "true"}',
      },
    ],
  },
  bodyFormatting: {
    source: SOURCES.templateBodyFormatting,
    cases: [
      { template: '#set($result = $input.body)$result', body: '', output: '{}' },
      { template: '#set($result = $input.body)$result', body: '{"some": "value"}', output: '{"some": "value"}' },
      { template: '#set($result = $input.body)$result', body: 'some raw data', output: 'some raw data' },
      { template: 'Action=SendMessage&MessageBody=$input.body', body: '', output: 'Action=SendMessage&MessageBody={}' },
      { template: 'EncodedBody=$util.urlEncode($input.body)&EncodedBodyAccess=$util.urlEncode($input.body.testAccess)', body: '', output: 'EncodedBody=%7B%7D&EncodedBodyAccess=' },
      {
        template: 'EncodedBody=$util.urlEncode($input.body)&EncodedBodyAccess=$util.urlEncode($input.body.testAccess)',
        body: '{"some": "value"}',
        output: 'EncodedBody=%7B%22some%22%3A+%22value%22%7D&EncodedBodyAccess=',
      },
      { template: 'EncodedBody=$util.urlEncode($input.body)&EncodedBodyAccess=$util.urlEncode($input.body.testAccess)', body: 'some raw data', output: 'EncodedBody=some+raw+data&EncodedBodyAccess=' },
    ],
  },
} as const;

/**
 * Velocity 1.7's own rules (its user guide), which API Gateway's runtime is
 * built on: Java strings' methods, truth in #if, #set to null.
 */
export const VELOCITY_RULES = {
  source: SOURCES.velocity,
  cases: [
    // Java's String.length() is a method; JavaScript's is a property.
    { template: '#set($s = "héllo")$s.length()', output: '5' },
    // Java's replaceAll takes a regex and $n group references.
    { template: '#set($s = "a1b22c333")$s.replaceAll("[0-9]+", "#")', output: 'a#b#c#' },
    { template: '#set($s = "2026-11-23")$s.replaceAll("(\\d+)-(\\d+)-(\\d+)", "$3/$2/$1")', output: '23/11/2026' },
    // Java's replace(CharSequence, CharSequence) replaces every occurrence, not the first.
    { template: '#set($s = "a.b.c")$s.replace(".", "/")', output: 'a/b/c' },
    // Java's split takes a regex.
    { template: '#set($s = "a1b2c")#foreach($p in $s.split("[0-9]"))$p;#end', output: 'a;b;c;' },
    // Only null and false are false: an empty string and 0 are true in Velocity 1.7.
    { template: '#set($s = "")#if($s)yes#{else}no#end', output: 'yes' },
    { template: '#set($n = 0)#if($n)yes#{else}no#end', output: 'yes' },
    // Objects of different classes compare by toString(): "1" == 1, but [] is not "".
    { template: '#set($n = 1)#if("1" == $n)eq#{else}ne#end', output: 'eq' },
    { template: '#set($l = [])#if($l == "")eq#{else}ne#end', output: 'ne' },
    // A #set whose right side is null keeps the old value.
    { template: '#set($v = "old")#set($v = $input.path("$.missing"))$v', output: 'old' },
  ],
} as const;

/** The Kinesis service integration's raw answers (what the integration response templates read). */
export const KINESIS_INTEGRATION = {
  source: SOURCES.kinesisIntegration,
  putRecord: { fields: ['SequenceNumber', 'ShardId'] },
  putRecords: { fields: ['FailedRecordCount', 'Records'], recordFields: ['SequenceNumber', 'ShardId'] },
  /** Failed entries carry both (PutRecords API reference). */
  failedEntryFields: ['ErrorCode', 'ErrorMessage'],
  failedEntrySource: SOURCES.putRecords,
} as const;

/** A request over 10 MB: answered before any gateway response applies. */
export const OVER_10_MB = {
  source: SOURCES.tooLarge,
  limitBytes: 10_485_760,
  status: 413,
  contentType: 'text; charset=utf-8',
  body: 'HTTP content length exceeded 10485760 bytes.',
  /** Recorded on an edge-optimized API (CloudFront in front); nobody has published a REGIONAL recording. */
  recordedOn: 'EDGE',
} as const;

export const MISSING_AUTHENTICATION_TOKEN = { source: SOURCES.missingAuthenticationToken, message: 'Missing Authentication Token' } as const;
