/**
 * What local mode needs to talk AWS protocols to the local engines: real SDK
 * clients (HTTP/1.1 for kinesis-local, ARCHITECTURE.md 9), dummy credentials, and
 * SigV4-signed raw JSON calls for the places where API Gateway itself calls a
 * service with a rendered request body.
 */
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBClient, paginateScan, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';

export const LOCAL_CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' } as const;

export function kinesisClient(endpoint: string, region: string): KinesisClient {
  return new KinesisClient({
    endpoint,
    region,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 10_000 }),
    maxAttempts: 3,
  });
}

export function dynamoClient(endpoint: string, region: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 10_000 }),
  });
}

/** Every item of a table, as raw attribute maps (tests, benchmarks and the soak read the table whole). */
export async function scanTable(client: DynamoDBClient, table: string, consistentRead = false): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  for await (const page of paginateScan({ client }, { TableName: table, ConsistentRead: consistentRead })) items.push(...(page.Items ?? []));
  return items;
}

/** node:crypto behind the Checksum interface SignatureV4 expects (no extra dependency). */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    throw new Error('not supported');
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export interface RawResponse {
  readonly status: number;
  readonly body: string;
}

/**
 * A signed AWS JSON-protocol call with a body the caller already rendered,
 * which is what an API Gateway AWS service integration sends.
 */
export async function awsJsonCall(options: {
  endpoint: string;
  region: string;
  service: string;
  target: string;
  body: string;
  contentType?: string;
}): Promise<RawResponse> {
  const url = new URL(options.endpoint);
  const signer = new SignatureV4({ service: options.service, region: options.region, credentials: LOCAL_CREDENTIALS, sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    headers: {
      host: url.host,
      'content-type': options.contentType ?? 'application/x-amz-json-1.1',
      'x-amz-target': options.target,
    },
    body: options.body,
  });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { hostname: url.hostname, port: url.port, path: '/', method: 'POST', headers: { ...signed.headers, 'content-length': Buffer.byteLength(options.body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 500, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(29_000, () => req.destroy(new Error('integration timeout')));
    req.on('error', reject);
    req.end(options.body);
  });
}
