/**
 * A small typed event emitter. Listeners that throw are reported to `onListenerError` and never
 * reach the emitter's caller, so a user's hook cannot break the worker's loop.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventMap<E> = { [K in keyof E]: (...args: any[]) => void };

export class TypedEmitter<E extends EventMap<E>> {
  private readonly listeners = new Map<keyof E, Set<E[keyof E]>>();

  constructor(private readonly onListenerError: (event: string, error: unknown) => void = () => undefined) {}

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E & string>(event: K, listener: E[K]): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs at most once; returns a function that removes it. */
  once<K extends keyof E & string>(event: K, listener: E[K]): () => void {
    const wrapped = ((...args: Parameters<E[K]>) => {
      off();
      listener(...args);
    }) as E[K];
    const off = this.on(event, wrapped);
    return off;
  }

  off<K extends keyof E & string>(event: K, listener: E[K]): void {
    this.listeners.get(event)?.delete(listener);
  }

  /** Number of listeners of an event (emitters skip building payloads nobody listens to). */
  listenerCount<K extends keyof E & string>(event: K): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  protected emit<K extends keyof E & string>(event: K, ...args: Parameters<E[K]>): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (error) {
        this.onListenerError(event, error);
      }
    }
  }
}
