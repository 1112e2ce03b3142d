/**
 * Runs one family's handler bundle as Lambda would: its own sandbox (a worker
 * thread with its own environment), a Lambda-like context, one invocation at a
 * time per caller, and a timeout that throws the sandbox away.
 */
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { resolve as resolvePath } from 'node:path';
import type { FamilyDeployment } from '../modules/deployment.js';

export interface InvokeOutcome {
  readonly requestId: string;
  /** What the handler returned (JSON round-tripped), when it did not fail. */
  readonly result?: unknown;
  /** Set when the invocation failed: a throw, a crash or a timeout (Lambda's `FunctionError: Unhandled`). */
  readonly error?: { errorType: string; errorMessage: string };
  readonly durationMs: number;
}

export interface SandboxOptions {
  readonly deployment: FamilyDeployment;
  readonly repoRoot: string;
  readonly region: string;
  readonly accountId: string;
  /** Variables local mode adds to the function's own environment (endpoints, credentials). */
  readonly extraEnv: Readonly<Record<string, string>>;
  /** Where the sandbox's stdout/stderr lines go (its logs, EMF metrics); dropped when absent. */
  readonly log?: (line: string) => void;
  /** Decides, per invocation, whether to inject a crash. */
  readonly crash?: () => boolean;
}

interface Pending {
  resolve: (outcome: InvokeOutcome) => void;
  timer: NodeJS.Timeout;
  requestId: string;
  started: number;
  worker: Worker;
}

export class Sandbox {
  private worker: Worker | undefined;
  private readonly pending = new Map<string, Pending>();
  private closed = false;
  readonly functionArn: string;

  constructor(private readonly options: SandboxOptions) {
    const p = options.deployment.processor;
    this.functionArn = `arn:aws:lambda:${options.region}:${options.accountId}:function:${p.functionName}`;
  }

  private bundle(): { file: string; exportName: string } {
    const p = this.options.deployment.processor;
    const dot = p.handler.lastIndexOf('.');
    const module = p.handler.slice(0, dot);
    return { file: resolvePath(this.options.repoRoot, p.bundleDir, `${module}.mjs`), exportName: p.handler.slice(dot + 1) };
  }

  private spawn(): Worker {
    const p = this.options.deployment.processor;
    const { file, exportName } = this.bundle();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      TZ: 'UTC',
      // What the Lambda runtime itself sets in every function's environment.
      AWS_LAMBDA_FUNCTION_NAME: p.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(p.memorySize),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${p.functionName}`,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_DEFAULT_REGION: this.options.region,
      ...p.environment,
      ...this.options.extraEnv,
    };
    const worker = new Worker(new URL('./lambda-worker.mjs', import.meta.url), {
      workerData: { bundleFile: file, exportName },
      env,
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(64, p.memorySize) },
    });
    const pipe = (stream: NodeJS.ReadableStream) => {
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line) this.options.log?.(line);
        }
      });
    };
    pipe(worker.stdout);
    pipe(worker.stderr);
    worker.on('message', (message: { id: string; ok: boolean; result?: unknown; error?: { errorType: string; errorMessage: string } }) => {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      clearTimeout(pending.timer);
      pending.resolve({
        requestId: pending.requestId,
        durationMs: Date.now() - pending.started,
        ...(message.ok ? { result: message.result } : { error: message.error ?? { errorType: 'Error', errorMessage: 'unknown' } }),
      });
    });
    const fail = (errorType: string, errorMessage: string) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, pending] of this.pending) {
        // Only this worker's invocations: a replaced sandbox's late exit must not fail its successor's.
        if (pending.worker !== worker) continue;
        this.pending.delete(id);
        clearTimeout(pending.timer);
        pending.resolve({ requestId: pending.requestId, durationMs: Date.now() - pending.started, error: { errorType, errorMessage } });
      }
    };
    worker.on('error', (error) => fail('Runtime.ExitError', error.message));
    worker.on('exit', (code) => fail('Runtime.ExitError', `sandbox exited with code ${code}`));
    return worker;
  }

  async invoke(event: unknown): Promise<InvokeOutcome> {
    if (this.closed) return { requestId: randomUUID(), durationMs: 0, error: { errorType: 'Sandbox.Closed', errorMessage: 'local mode is stopping' } };
    const p = this.options.deployment.processor;
    this.worker ??= this.spawn();
    const worker = this.worker;
    const requestId = randomUUID();
    const started = Date.now();
    const timeoutMs = p.timeoutSeconds * 1000;
    const context = {
      functionName: p.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: this.functionArn,
      memoryLimitInMB: String(p.memorySize),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${p.functionName}`,
      logStreamName: `${new Date().toISOString().slice(0, 10).replace(/-/g, '/')}/[$LATEST]${requestId.replace(/-/g, '')}`,
      deadlineMs: started + timeoutMs,
    };
    const crash = this.options.crash?.() ?? false;
    return new Promise<InvokeOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        // A timed-out sandbox may be wedged: Lambda discards it, and so do we.
        if (this.worker === worker) this.worker = undefined;
        void worker.terminate();
        resolve({
          requestId,
          durationMs: Date.now() - started,
          error: { errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${p.timeoutSeconds.toFixed(2)} seconds` },
        });
      }, timeoutMs);
      this.pending.set(requestId, { resolve, timer, requestId, started, worker });
      worker.postMessage({ id: requestId, event, context, crash });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }
}
