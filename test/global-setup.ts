/**
 * Builds the handler bundles once before the whole suite: handler tests run
 * the bundles, and local-mode and infrastructure tests need them to exist.
 */
import { buildHandlers } from '../tools/build/bundles.js';

export default async function setup(): Promise<void> {
  await buildHandlers();
}
