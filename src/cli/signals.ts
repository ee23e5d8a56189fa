/**
 * Calls `handler` with the signal for each of `signals` that arrives (instead of Node's default,
 * which ends the process), until the returned function is called.
 */
export function onSignals(signals: readonly NodeJS.Signals[], handler: (signal: NodeJS.Signals) => void): () => void {
  const listeners = signals.map((signal) => [signal, () => handler(signal)] as const);
  for (const [signal, listener] of listeners) process.on(signal, listener);
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}
