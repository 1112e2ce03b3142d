/**
 * The cdktf app: one PipelineStack per environment, and the event families.
 * Adding a family = its folder under handlers/ plus one line in addFamilies().
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App } from 'cdktf';
import { orders } from './handlers/orders/family.js';
import { payments } from './handlers/payments/family.js';
import { tutoring } from './handlers/tutoring/family.js';
import { userActivity } from './handlers/user_activity/family.js';
import { ENVIRONMENT_NAMES, ENVIRONMENTS } from './modules/environments.js';
import { EventFamily } from './modules/event-family.js';
import { PipelineStack } from './modules/pipeline-stack.js';

export function addFamilies(stack: PipelineStack): void {
  new EventFamily(stack, { family: userActivity });
  new EventFamily(stack, { family: orders });
  new EventFamily(stack, { family: payments });
  new EventFamily(stack, { family: tutoring });
}

export function buildApp(app: App): PipelineStack[] {
  return ENVIRONMENT_NAMES.map((name) => {
    const stack = new PipelineStack(app, ENVIRONMENTS[name]);
    addFamilies(stack);
    return stack;
  });
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
}

if (isEntryPoint()) {
  // `cdktf synth` runs this file directly: build the bundles first so the assets are current.
  if (process.env.EVENT_FLOW_SKIP_BUILD !== '1') {
    const { buildHandlers } = await import('./scripts/build.js');
    await buildHandlers();
  }
  const app = new App();
  buildApp(app);
  app.synth();
}
