// One Lambda execution environment: a worker thread with its own process.env
// (set by the parent), which imports the handler bundle once, like a warm
// sandbox, and runs one invocation at a time. Plain JS so the worker needs no
// TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

const { bundleFile, exportName } = workerData;
let handlerPromise;

function loadHandler() {
  handlerPromise ??= import(pathToFileURL(bundleFile).href).then((mod) => {
    const fn = mod[exportName];
    if (typeof fn !== 'function') throw new Error(`Runtime.HandlerNotFound: ${bundleFile}.${exportName} is undefined or not exported`);
    return fn;
  });
  return handlerPromise;
}

function errorPayload(error) {
  if (error instanceof Error) {
    return { errorType: error.name || 'Error', errorMessage: error.message, trace: String(error.stack ?? '').split('\n') };
  }
  return { errorType: 'Error', errorMessage: String(error), trace: [] };
}

parentPort.on('message', async (message) => {
  const { id, event, context: plain, crash } = message;
  const context = {
    ...plain,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, plain.deadlineMs - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
  delete context.deadlineMs;
  try {
    const handler = await loadHandler();
    // Injected before the handler runs so it has no effects, as a sandbox that crashes on start.
    if (crash) throw new Error('Injected fault: the handler crashed (local handlerCrashRate)');
    const result = await handler(event, context);
    parentPort.postMessage({ id, ok: true, result: result === undefined ? null : JSON.parse(JSON.stringify(result)) });
  } catch (error) {
    parentPort.postMessage({ id, ok: false, error: errorPayload(error) });
  }
});
