import { cpus, totalmem, type as osType, release } from 'node:os';

/** One row of the results table: a figure of ours next to its baseline, measured in the same run. */
export interface Row {
  part: string;
  measure: string;
  ours: string;
  baseline: string;
  /** ours ÷ baseline or baseline ÷ ours, stated in the text so the direction is never ambiguous. */
  ratio: string;
  notes?: string;
}

export interface PartResult {
  rows: Row[];
  /** Raw figures for results.json. */
  data?: unknown;
}

export function notAvailable(part: string, why: string): PartResult {
  return { rows: [{ part, measure: '—', ours: 'not available', baseline: '—', ratio: '—', notes: `not available: ${why}` }] };
}

export function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: `${osType()} ${release()}`,
  };
}

export function markdownTable(rows: readonly Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = ['| part | measure | ours | baseline | ratio | notes |', '|---|---|---:|---:|---:|---|'];
  for (const r of rows) lines.push(`| ${[r.part, r.measure, r.ours, r.baseline, r.ratio, r.notes ?? ''].map(esc).join(' | ')} |`);
  return lines.join('\n');
}

export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
export const x = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(ratio >= 10 ? 0 : 2)}×` : 'n/a');
