/**
 * The live local page in a real browser: Debian's Chromium driven by
 * playwright-core (headless, a fresh profile), against local mode while
 * events flow through the API. It checks that the numbers move (events in,
 * processed, rates), that a failed payment's alert and a malformed record
 * with its reason appear, and saves a screenshot (to LOCAL_PAGE_SCREENSHOT
 * when set, e.g. docs/local-page.png; else to a temporary folder).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromium as playwright, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocal, type LocalPipeline } from '../local/index.js';
import { CHROMIUM_ARGS, ensureChromium, freshUserDataDir } from './support/chromium.js';
import { eventually, fastWindows, post, tempStateDir } from './local/helpers.js';

const chromium = ensureChromium();
if ('skip' in chromium) console.warn(`live page browser test skipped: ${chromium.skip}`);

interface Row {
  family: string;
  inRate: number;
  processedRate: number;
  inTotal: number;
  processedTotal: number;
  malformed: number;
}

async function familyRows(page: Page): Promise<Record<string, Row>> {
  // Evaluated in the page (a string: this project's TypeScript has no DOM types).
  const rows = (await page.evaluate(`[...document.querySelectorAll('#families tbody tr[data-family]')].map((tr) => {
    const field = (name) => Number(tr.querySelector('[data-field="' + name + '"]')?.textContent ?? 'NaN');
    return { family: tr.dataset.family, inRate: field('in-rate'), processedRate: field('processed-rate'), inTotal: field('in-total'),
      processedTotal: field('processed-total'), malformed: field('malformed') };
  })`)) as Row[];
  return Object.fromEntries(rows.map((r) => [r.family, r]));
}

describe.skipIf('skip' in chromium)('live local page in Chromium', () => {
  let local: LocalPipeline;
  let stateDir: string;
  let userDataDir: string;
  let context: BrowserContext | undefined;
  let sending = false;
  let sender: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    stateDir = tempStateDir('live-page');
    userDataDir = freshUserDataDir();
    local = await startLocal({ port: 0, stateDir, quiet: true, deployment: (dev) => fastWindows(dev) });
  });

  afterAll(async () => {
    sending = false;
    await sender.catch(() => undefined);
    await context?.close().catch(() => undefined);
    await local?.stop();
    for (const dir of [stateDir, userDataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows events in and processed per family moving, shard lag, the latest alerts and malformed records with reasons', async () => {
    context = await playwright.launchPersistentContext(userDataDir, {
      executablePath: 'path' in chromium ? chromium.path : undefined,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    await page.goto(local.pageUrl);
    await page.waitForSelector('#families tbody tr[data-family="user_activity"]');
    const shardRows = await page.locator('#shards tbody tr[data-shard]').count();
    expect(shardRows).toBe(local.deployment.families.reduce((n, f) => n + f.stream.shardCount, 0));
    const before = await familyRows(page);

    // Events keep flowing while the page is watched: batches of user_activity and orders every 200 ms.
    sending = true;
    let n = 0;
    sender = (async () => {
      while (sending) {
        n += 1;
        await post(`${local.apiUrl}/events/user_activity/batch`, {
          records: Array.from({ length: 5 }, (_, i) => ({ user_id: `u-page-${i}`, action: 'page_view', event_id: `page-${n}-${i}` })),
        });
        await post(`${local.apiUrl}/events/orders`, { order_id: `o-page-${n}`, customer_id: 'c-1', type: 'created', items: [{ sku: 's', quantity: 1 }], total_amount: 1, currency: 'EUR' });
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    // The rates move while events flow, and the totals grow.
    const moving = await eventually(
      async () => {
        const rows = await familyRows(page);
        const ua = rows.user_activity!;
        return ua.inRate > 0 && ua.processedRate > 0 && ua.processedTotal > before.user_activity!.processedTotal + 10 && rows.orders!.inTotal > before.orders!.inTotal ? rows : undefined;
      },
      30_000,
      'user_activity and orders rates and totals moving on the page',
    );
    const later = await eventually(
      async () => {
        const rows = await familyRows(page);
        return rows.user_activity!.processedTotal > moving.user_activity!.processedTotal ? rows : undefined;
      },
      15_000,
      'the processed total growing again',
    );
    expect(later.user_activity!.inTotal).toBeGreaterThan(moving.user_activity!.inTotal);

    // A failed payment raises an alert; a record the processor cannot validate lands in the malformed sink.
    await post(`${local.apiUrl}/events/payments`, { payment_id: 'p-page', order_id: 'o-page-1', amount: 1, currency: 'EUR', status: 'failed', method: 'card', failure_reason: 'card_declined' });
    await post(`${local.apiUrl}/events/batch/payments`, { records: [{ data: JSON.stringify({ payment_id: 'p-bad' }), partitionKey: 'p-bad' }] });
    await page.waitForSelector('#alerts tbody tr >> text=PaymentFailed', { timeout: 20_000 });
    await page.waitForSelector('#malformed tbody tr[data-reason="invalid_event"]', { timeout: 20_000 });
    const malformedText = await page.locator('#malformed tbody tr[data-reason="invalid_event"]').first().innerText();
    expect(malformedText).toContain('payments');
    expect(malformedText).toMatch(/amount|order_id|currency/);
    expect((await familyRows(page)).payments!.malformed).toBeGreaterThanOrEqual(1);

    const shot = resolve(process.env.LOCAL_PAGE_SCREENSHOT ?? join(tmpdir(), 'event-flow-local-page.png'));
    mkdirSync(dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    sending = false;
    await sender;
  }, 120_000);
});
