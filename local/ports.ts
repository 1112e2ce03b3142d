import type { Server } from 'node:net';
import { createServer } from 'node:net';

/** The API port of `npm start` unless `PORT` says otherwise; the engines take the next four. */
export const DEFAULT_API_PORT = 4010;

/** The API port local mode's command-line tools mean: `PORT`, else DEFAULT_API_PORT. */
export const localApiPort = (): number => (process.env.PORT === undefined ? DEFAULT_API_PORT : Number(process.env.PORT));

/** A port the OS says is free right now (bind to 0, read it, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Listens on `port` (0 = any free one) on loopback, rejecting if it is taken; resolves with the bound port. */
export async function listenLocal(server: Server, port: number, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}

/** Polls `isReady` every 50 ms (about 5 s in all), as the engines create resources asynchronously. */
export async function waitUntil(isReady: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await isReady()) return;
    await sleep(50);
  }
  throw new Error(`${what} did not become ready`);
}

/** Fails fast, with a message a person can act on, when a fixed port is taken. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', () => reject(new Error(`port ${port} (${what}) is in use: is another local mode running? Set PORT to move all five ports.`)));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}
