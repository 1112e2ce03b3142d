/**
 * The one place local mode touches the cdktf app: it builds the `dev`
 * PipelineStack in-process, exactly as `cdktf synth` would, and reads the
 * resolved settings of every family from `stack.deployment()`. Nothing about a
 * family is declared here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import type { PipelineDeployment } from '../modules/deployment.js';
import { addFamilies } from '../modules/app.js';
import { PipelineStack } from '../modules/pipeline-stack.js';
import { ENVIRONMENTS, type EnvironmentName } from '../modules/environments.js';

export async function loadDeployment(environment: EnvironmentName = 'dev'): Promise<PipelineDeployment> {
  const outdir = mkdtempSync(join(tmpdir(), 'event-flow-local-'));
  try {
    const app = new App({ outdir });
    const stack = new PipelineStack(app, ENVIRONMENTS[environment]);
    addFamilies(stack);
    return stack.deployment();
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
