/** Shared helpers of the local-mode end-to-end tests. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { scanTable } from '../../local/aws.js';
import type { PipelineDeployment } from '../../modules/deployment.js';

export function tempStateDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `event-flow-${prefix}-`));
}

/**
 * The dev deployment with a shorter batching window. Tests only: dev's 5 s
 * window is faithful but would make every assertion wait 5 s.
 */
export function fastWindows(dev: PipelineDeployment, seconds = 0.3): PipelineDeployment {
  return {
    ...dev,
    families: dev.families.map((f) => ({ ...f, eventSource: { ...f.eventSource, maximumBatchingWindowInSeconds: seconds } })),
  };
}

export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export async function scanAll(dynamo: DynamoDBClient, table: string): Promise<Array<Record<string, unknown>>> {
  return (await scanTable(dynamo, table)).map((item) => Object.fromEntries(Object.entries(item).map(([k, v]) => [k, Object.values(v)[0]])));
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json, headers: response.headers };
}
