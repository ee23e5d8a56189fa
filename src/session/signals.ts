/** Where signals come from: the process's, or a test's. */
export interface SignalSource {
  /** Calls `handler` for each of `signals` that arrives, instead of the default; returns the undo. */
  on(signals: readonly NodeJS.Signals[], handler: (signal: NodeJS.Signals) => void): () => void;
}

export const processSignals: SignalSource = {
  on(signals, handler) {
    const listeners = signals.map((signal) => [signal, () => handler(signal)] as const);
    for (const [signal, listener] of listeners) process.on(signal, listener);
    return () => {
      for (const [signal, listener] of listeners) process.off(signal, listener);
    };
  },
};
