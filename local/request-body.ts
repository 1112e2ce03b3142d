import type { Readable } from 'node:stream';

/** The whole body of an HTTP request or response, as the bytes that came. */
export async function readBody(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
