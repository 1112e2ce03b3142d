/**
 * The cdktf app as a function: one PipelineStack per environment, and in each
 * one EventFamily per entry of the family list (handlers/families.ts). It
 * builds no bundles: scripts/synth.ts builds them, then calls buildApp();
 * main.ts and local mode (local/deployment.ts) call it too.
 */
import type { App } from 'cdktf';
import { FAMILIES } from '../handlers/families.js';
import type { FamilyDefinition } from '../handlers/runtime/family.js';
import { ENVIRONMENT_NAMES, ENVIRONMENTS } from './environments.js';
import { EventFamily, type FamilyOptions } from './event-family.js';
import { PipelineStack } from './pipeline-stack.js';

/**
 * Infrastructure settings one family needs that differ from its environment's
 * defaults (stream, processor, eventSource, alarms, archive), by family name.
 * Empty: every family runs on the environment's defaults.
 */
export const FAMILY_OVERRIDES: ReadonlyMap<string, FamilyOptions> = new Map();

export function addFamilies(stack: PipelineStack, families: readonly FamilyDefinition[] = FAMILIES): EventFamily[] {
  return families.map((family) => new EventFamily(stack, family.name, { ...FAMILY_OVERRIDES.get(family.name), family, host: stack }));
}

export function buildApp(app: App): PipelineStack[] {
  return ENVIRONMENT_NAMES.map((name) => {
    const stack = new PipelineStack(app, ENVIRONMENTS[name]);
    addFamilies(stack);
    return stack;
  });
}
