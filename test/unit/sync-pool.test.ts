/**
 * lib/sync/pool.ts: at most `limit` jobs in flight, results in input order.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runPool } from '../../lib/sync/pool.ts';

test('never more than the limit at once; results keep the input order', async () => {
  let running = 0;
  let peak = 0;
  const items = Array.from({ length: 12 }, (_, i) => i);
  const results = await runPool(items, 4, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, (12 - n) * 2));
    running--;
    return n * 10;
  });
  assert.equal(results, items.map((n) => n * 10));
  assert.is(peak, 4);
});

test('an empty list runs nothing', async () => {
  assert.equal(await runPool([], 4, async () => 1), []);
});

test.run();
