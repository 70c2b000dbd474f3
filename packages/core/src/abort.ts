/** Aborts `target` when `source` aborts; returns the unlink function. */
export function linkAbort(source: AbortSignal | undefined, target: AbortController): () => void {
  if (!source) return () => {};
  if (source.aborted) {
    target.abort(source.reason);
    return () => {};
  }
  const onAbort = () => target.abort(source.reason);
  source.addEventListener("abort", onAbort, { once: true });
  return () => source.removeEventListener("abort", onAbort);
}

/**
 * While a run lives, SIGINT/SIGTERM abort it so cleanup can happen. Afterwards the signal is
 * re-raised if nobody else listens, so the process still ends the way the sender meant.
 */
export function trapProcessSignals(controller: AbortController, signals: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"]): () => void {
  let received: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals) => {
    received = signal;
    controller.abort(signal);
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
    if (received && process.listenerCount(received) === 0) process.kill(process.pid, received);
  };
}
