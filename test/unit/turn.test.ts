import { describe, expect, it } from 'vitest';
import { mapSteps, pausesAt, runSteps, runStepsYielding, SLICE_MS, type Steps } from '../../src/turn.js';

/** Steps that each take at least `ms` of the thread, recording their order. */
function* busy(steps: number, ms: number, log: string[]): Steps<number> {
  for (let i = 0; i < steps; i++) {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // the synchronous work of one slice
    }
    log.push(`step ${i}`);
    yield;
  }
  return steps;
}

describe('turn: steps run in slices', () => {
  it('runSteps runs every step without letting the event loop in', async () => {
    const log: string[] = [];
    setImmediate(() => log.push('immediate'));
    expect(runSteps(busy(3, 0, log))).toBe(3);
    expect(log).toEqual(['step 0', 'step 1', 'step 2']);
    await new Promise((r) => setImmediate(r));
    expect(log.at(-1)).toBe('immediate');
  });

  it('runStepsYielding lets callbacks run between slices, and returns the same value', async () => {
    const log: string[] = [];
    setImmediate(() => log.push('immediate'));
    // Each step is longer than a slice, so the event loop gets a turn after the first one.
    expect(await runStepsYielding(busy(3, SLICE_MS + 1, log))).toBe(3);
    expect(log.indexOf('immediate')).toBeGreaterThan(0);
    expect(log.indexOf('immediate')).toBeLessThan(log.indexOf('step 2'));
  });

  it('runStepsYielding passes an exception of a step to its caller', async () => {
    function* failing(): Steps<number> {
      yield;
      throw new RangeError('ports[3].hostPort: bad');
    }
    await expect(runStepsYielding(failing())).rejects.toThrow('ports[3].hostPort: bad');
    expect(() => runSteps(failing())).toThrow(RangeError);
  });

  it('mapSteps is map, with a pause point every 64 items', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i);
    const g = mapSteps(xs, (x) => x * 2);
    let pauses = 0;
    let r = g.next();
    for (; !r.done; r = g.next()) pauses++;
    expect(r.value).toEqual(xs.map((x) => x * 2));
    expect(pauses).toBe(15);
    expect([63, 127, 191, 959].every(pausesAt)).toBe(true);
    expect([0, 1, 62, 64, 256].some(pausesAt)).toBe(false);
  });
});
