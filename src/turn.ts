// Keeping the event loop free during a big operation. A 10,000-port apply spends tens of
// milliseconds of JavaScript in each of validate, model, plan and encode; an embedding
// application's timers and I/O must not wait for all of that.
//
// Steps: a long synchronous computation written once, as a generator that `yield`s wherever
// it may pause (every few hundred items of a loop). runSteps runs it through in one go (the
// synchronous API: validateState, desiredRules); runStepsYielding lets the event loop in
// whenever a slice of SLICE_MS has passed (DockerHost.apply). A yield costs one generator
// resumption, so the loops yield often and the clock decides when to pause.

/** Lets the event loop run once (timers, I/O) before going on. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A computation that may pause at each `yield`, and returns T. */
export type Steps<T> = Generator<void, T, void>;

/** How long a slice of synchronous work may run before the event loop gets a turn. */
export const SLICE_MS = 2;

/** How many loop iterations go between two pause points (a power of two: a mask tests it). */
const ITEMS_PER_YIELD = 64;

/** Runs `steps` to the end without pausing. */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Runs `steps` to the end, giving the event loop a turn after each slice of SLICE_MS. */
export async function runStepsYielding<T>(steps: Steps<T>): Promise<T> {
  let since = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    const now = performance.now();
    if (now - since >= SLICE_MS) {
      await nextTurn();
      since = performance.now();
    }
  }
}

/** Whether loop iteration `i` is a pause point. */
export function pausesAt(i: number): boolean {
  return (i & (ITEMS_PER_YIELD - 1)) === ITEMS_PER_YIELD - 1;
}

/** `xs.map(f)`, pausing every ITEMS_PER_YIELD items. */
export function* mapSteps<T, U>(xs: readonly T[], f: (x: T) => U): Steps<U[]> {
  const out = new Array<U>(xs.length);
  for (let i = 0; i < xs.length; i++) {
    out[i] = f(xs[i]!);
    if (pausesAt(i)) yield;
  }
  return out;
}
