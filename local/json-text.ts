/**
 * JSON as API Gateway handles it: parsed once, numbers kept as the text the
 * client sent, and written back out with that same text. `JSON.parse` then
 * `JSON.stringify` would turn `1e400` into `null` and `12345678901234567890`
 * into `12345678901234567000`; API Gateway passes both through unchanged.
 */

/** A JSON number as sent: its text, and the double JavaScript reads from it. */
export class JsonNumber {
  constructor(readonly raw: string) {}
  get value(): number {
    return Number(this.raw);
  }
  /** JSON Schema's (and Jackson's) integer: written without fraction or exponent. */
  get isIntegerLiteral(): boolean {
    return !/[.eE]/.test(this.raw);
  }
  toString(): string {
    return this.raw;
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | { [key: string]: JsonValue };

/** Thrown for text that is not JSON, or nested deeper than the parser accepts. */
export class JsonTextError extends Error {
  override readonly name = 'JsonTextError';
}

/**
 * How deep a body may nest. Jackson (API Gateway's JSON library) refuses
 * documents nested deeper than 1000 levels since 2.15; the local gateway
 * answers those with a 400 instead of running out of stack.
 */
export const MAX_NESTING_DEPTH = 1000;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

/** Parses JSON text; object keys become own properties (also `__proto__`), numbers {@link JsonNumber}. */
export function parseJsonText(text: string, maxDepth = MAX_NESTING_DEPTH): JsonValue {
  let at = 0;
  const fail = (what: string): never => {
    throw new JsonTextError(`${what} at position ${at}`);
  };
  const skip = () => {
    WHITESPACE.lastIndex = at;
    WHITESPACE.exec(text);
    at = WHITESPACE.lastIndex;
  };
  const string = (): string => {
    const start = at;
    at++;
    for (;;) {
      const ch = text.charCodeAt(at);
      if (Number.isNaN(ch)) fail('Unterminated string');
      if (ch === 0x22) break;
      if (ch < 0x20) fail('Unescaped control character in string');
      at += ch === 0x5c ? 2 : 1;
    }
    at++;
    try {
      return JSON.parse(text.slice(start, at)) as string;
    } catch {
      return fail('Invalid string escape');
    }
  };
  const value = (depth: number): JsonValue => {
    skip();
    const ch = text[at];
    if (ch === '{' || ch === '[') {
      if (depth >= maxDepth) fail(`Document nested deeper than ${maxDepth} levels`);
      at++;
      skip();
      if (ch === '[') {
        const list: JsonValue[] = [];
        if (text[at] === ']') {
          at++;
          return list;
        }
        for (;;) {
          list.push(value(depth + 1));
          skip();
          if (text[at] === ',') at++;
          else if (text[at] === ']') {
            at++;
            return list;
          } else fail("Expected ',' or ']'");
        }
      }
      const object: { [key: string]: JsonValue } = {};
      if (text[at] === '}') {
        at++;
        return object;
      }
      for (;;) {
        skip();
        if (text[at] !== '"') fail('Expected a property name');
        const key = string();
        skip();
        if (text[at] !== ':') fail("Expected ':'");
        at++;
        Object.defineProperty(object, key, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        skip();
        if (text[at] === ',') at++;
        else if (text[at] === '}') {
          at++;
          return object;
        } else fail("Expected ',' or '}'");
      }
    }
    if (ch === '"') return string();
    if (text.startsWith('true', at)) return (at += 4), true;
    if (text.startsWith('false', at)) return (at += 5), false;
    if (text.startsWith('null', at)) return (at += 4), null;
    NUMBER.lastIndex = at;
    const match = NUMBER.exec(text);
    if (!match) return fail(ch === undefined ? 'Unexpected end of JSON input' : `Unexpected token ${JSON.stringify(ch)}`);
    at = NUMBER.lastIndex;
    return new JsonNumber(match[0]);
  };
  const result = value(0);
  skip();
  if (at < text.length) fail('Unexpected data after the JSON value');
  return result;
}

/** Writes a parsed value back as compact JSON, numbers as they were sent. */
export function writeJsonText(value: unknown): string {
  if (value instanceof JsonNumber) return value.raw;
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(writeJsonText).join(',')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${JSON.stringify(k)}:${writeJsonText(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
