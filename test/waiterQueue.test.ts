import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REMOVED, Waiter, WaiterQueue } from '../src/core/WaiterQueue.js';

// The waiting room's FIFO on its own: order and length against a plain array model, and the memory
// bound of its array (removed waiters and the head's holes are dropped once they outnumber the live
// ones, past 64), which is what keeps a queued caller at its measured size however many abort.

const waiter = (count = 1): Waiter => new Waiter(count, () => undefined, undefined);

/** The queue's array, read for the memory bound (its fields are private). */
const storage = (queue: WaiterQueue) => queue as unknown as { slots: unknown[]; start: number };

describe('WaiterQueue', () => {
  it('is FIFO under pushes, head grants and removals anywhere (model, property)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), count: fc.integer({ min: 1, max: 9 }) }),
      fc.record({ kind: fc.constant('grantHead' as const) }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const queue = new WaiterQueue();
        const model: Waiter[] = [];
        const counts = new Map<Waiter, number>();
        for (const step of ops) {
          if (step.kind === 'push') {
            const w = waiter(step.count);
            counts.set(w, step.count);
            queue.push(w);
            model.push(w);
          } else if (step.kind === 'grantHead') {
            const head = queue.head;
            expect(head).toBe(model[0]);
            if (head === undefined) continue;
            queue.remove(head);
            model.shift();
            expect(head.count, 'a head keeps its count').toBe(counts.get(head));
          } else if (model.length > 0) {
            const index = step.pick % model.length;
            const [w] = model.splice(index, 1) as [Waiter];
            queue.remove(w);
            if (index > 0) expect(w.count, 'a waiter removed behind the head').toBe(REMOVED);
          }
          expect(queue.length).toBe(model.length);
          expect(queue.head).toBe(model[0]);
          expect([...queue]).toEqual(model);
          // The memory bound: the array's slots beyond the live waiters (the head's holes and the waiters
          // removed behind it) stay within a small multiple of the live ones, or of 64. Each removal leaves
          // at most max(64, live) of each kind, and the head's skipping turns one kind into the other.
          const wasted = storage(queue).slots.length - model.length;
          expect(wasted).toBeLessThanOrEqual(3 * Math.max(64, model.length));
        }
        expect(queue.takeAll()).toEqual(model);
        expect([queue.length, queue.head, [...queue]]).toEqual([0, undefined, []]);
      }),
      { numRuns: 300 },
    );
  });

  // Rows: [what, waiters pushed, indexes removed (in this order; 0 is the head at the time), expected
  // array length and start index afterwards]
  const rows: Array<[string, number, number[], number, number]> = [
    ['64 head grants of 100: the holes are kept', 100, Array<number>(64).fill(0), 100, 64],
    ['65 head grants of 100: compacted (65 holes, over half)', 100, Array<number>(65).fill(0), 35, 0],
    ['65 head grants of 130: kept (exactly half)', 130, Array<number>(65).fill(0), 130, 65],
    ['65 head grants of 129: compacted', 129, Array<number>(65).fill(0), 64, 0],
    ['64 removals behind the head of 65: kept', 65, Array<number>(64).fill(1), 65, 0],
    ['65 removals behind the head of 129: compacted (65 removed, 64 live)', 129, Array<number>(65).fill(1), 64, 0],
    ['65 removals behind the head of 130: kept (65 removed, 65 live)', 130, Array<number>(65).fill(1), 130, 0],
    ['the last waiter leaves: the array is dropped', 3, [1, 0, 0], 0, 0],
  ];
  it.each(rows)('%s', (_what, pushed, removals, length, start) => {
    const queue = new WaiterQueue();
    const live = Array.from({ length: pushed }, () => waiter());
    for (const w of live) queue.push(w);
    for (const index of removals) {
      const [w] = live.splice(index, 1) as [Waiter];
      queue.remove(w);
    }
    expect({ length: storage(queue).slots.length, start: storage(queue).start }).toEqual({ length, start });
    expect([...queue]).toEqual(live);
    expect(queue.head).toBe(live[0]);
  });

  it('removed waiters that surfaced at the head no longer count towards a compaction', () => {
    const queue = new WaiterQueue();
    const live = Array.from({ length: 100 }, () => waiter());
    for (const w of live) queue.push(w);
    for (const w of live.splice(1, 60)) queue.remove(w); // 60 removed behind the head
    queue.remove(live.shift() as Waiter); // the head granted: the 60 surface
    expect(queue.head).toBe(live[0]);
    expect(storage(queue).start).toBe(61);
    for (const w of live.splice(1, 5)) queue.remove(w); // 5 removed: far from the 64 tolerated
    expect({ length: storage(queue).slots.length, start: storage(queue).start }).toEqual({ length: 100, start: 61 });
    expect([...queue]).toEqual(live);
  });

  it('drops the removed waiters at the head as they surface, and takeAll() returns only live ones', () => {
    const queue = new WaiterQueue();
    const [a, b, c, d] = [waiter(), waiter(), waiter(), waiter()];
    for (const w of [a, b, c, d]) queue.push(w);
    queue.remove(b);
    queue.remove(c);
    queue.remove(a); // the head: b and c, removed behind it, now surface
    expect(queue.head).toBe(d);
    expect(storage(queue).start).toBe(3);
    expect(queue.length).toBe(1);
    const e = waiter();
    queue.push(e);
    queue.remove(e);
    expect(queue.takeAll()).toEqual([d]);
  });
});
