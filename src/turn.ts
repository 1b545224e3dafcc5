// Lets the event loop run between the synchronous steps of a big operation (a 10,000-port
// apply spends tens of milliseconds in each of validate, model, plan and encode): timers and
// I/O of the embedding application run in between instead of waiting for all of them.
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
