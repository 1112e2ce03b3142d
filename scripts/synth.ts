/**
 * `npm run synth`: builds the handler bundles, then synthesizes one Terraform
 * stack per environment into cdktf.out/ — offline, no AWS account needed.
 * Equivalent to `npx cdktf synth`, without the CLI's start-up cost.
 */
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { App } from 'cdktf';
import { buildApp } from '../modules/app.js';
import { buildHandlers } from '../tools/build/bundles.js';

process.env.CHECKPOINT_DISABLE ??= '1';
const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const outdir = resolve(root, process.env.CDKTF_OUTDIR ?? 'cdktf.out');

const buildStart = performance.now();
const bundles = await buildHandlers();
const buildMs = performance.now() - buildStart;
console.log(`built ${bundles.length} handler bundles in ${buildMs.toFixed(0)} ms`);

const synthStart = performance.now();
const app = new App({ outdir });
const stacks = buildApp(app);
app.synth();
const synthMs = performance.now() - synthStart;

for (const stack of stacks) {
  const dir = join(outdir, 'stacks', stack.node.id);
  console.log(`  ${stack.node.id.padEnd(20)} ${relative(process.cwd(), join(dir, 'cdk.tf.json'))}  (${stack.eventFamilies.length} families)`);
}
console.log(`synthesized ${stacks.length} stacks in ${synthMs.toFixed(0)} ms`);
console.log(`next: cd ${relative(process.cwd(), join(outdir, 'stacks', stacks[0]!.node.id))} && terraform init && terraform plan`);
