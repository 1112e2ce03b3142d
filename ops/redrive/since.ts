/** `--since` of `npm run redrive`: an ISO time, or a duration back from now (`30m`, `6h`, `7d`). */
export function parseSince(text: string | undefined, now = Date.now()): Date | undefined {
  if (text === undefined) return undefined;
  const relative = /^(\d+)([mhd])$/.exec(text);
  if (relative) return new Date(now - Number(relative[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd']);
  const at = Date.parse(text);
  if (!Number.isFinite(at)) throw new Error(`--since ${text}: not an ISO time nor a duration like 30m, 6h, 7d`);
  return new Date(at);
}
