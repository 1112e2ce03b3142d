/**
 * Part 6: wall time and peak memory of synthesizing every environment, in a
 * child process so the peak RSS is the synth's own (reported by the kernel
 * through getrusage, the same figure `/usr/bin/time -v` prints).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from '../generators/stats.js';
import { notAvailable, type PartResult } from './report.js';

const root = resolve(import.meta.dirname, '../..');

export async function synth(options: { runs?: number } = {}): Promise<PartResult> {
  const script = join(root, 'scripts/synth.ts');
  if (!existsSync(script)) return notAvailable('6 synth', 'scripts/synth.ts has not landed');
  if (!existsSync(join(root, 'main.ts'))) return notAvailable('6 synth', 'main.ts has not landed');
  const runs = options.runs ?? 3;
  const tsx = join(root, 'node_modules/.bin/tsx');
  const wall: number[] = [];
  const rss: number[] = [];
  let lastError = '';
  for (let i = 0; i < runs; i++) {
    const out = mkdtempSync(join(tmpdir(), 'ef-synth-'));
    const t0 = performance.now();
    // /usr/bin/time -v reports the maximum resident set size of the whole child tree's largest process.
    const result = spawnSync('/usr/bin/time', ['-v', tsx, script], {
      cwd: root,
      env: { ...process.env, CHECKPOINT_DISABLE: '1', CDKTF_OUTDIR: out },
      encoding: 'utf8',
    });
    wall.push(performance.now() - t0);
    rmSync(out, { recursive: true, force: true });
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr ?? '');
    if (result.status !== 0 || !m) {
      lastError = (result.stderr ?? '').split('\n').filter((l) => l.trim() && !l.startsWith('\t')).slice(-3).join(' ');
      return notAvailable('6 synth', `synth failed (exit ${result.status}): ${lastError.slice(0, 200)}`);
    }
    rss.push(Number(m[1]) / 1024);
  }
  const w = median(wall);
  const r = median(rss);
  return {
    rows: [
      {
        part: '6 synth',
        measure: `synth all environments: wall time / peak RSS (median of ${runs})`,
        ours: `${(w / 1000).toFixed(2)} s / ${r.toFixed(0)} MB`,
        baseline: '—',
        ratio: '—',
        notes: 'includes tsx start-up; provider classes imported from submodules (ARCHITECTURE.md 9)',
      },
    ],
    data: { wallMs: wall, maxRssMB: rss },
  };
}
