// Values kept in localStorage that components read with useSyncExternalStore: the store's
// subscribers are woken by a write in this tab (`notify`) or in another (the `storage` event).

export interface StorageSubscribers {
  /** useSyncExternalStore's `subscribe`. */
  subscribe: (onChange: () => void) => () => void;
  /** Wakes the subscribers after a write in this tab (the `storage` event only fires in others). */
  notify: () => void;
}

export function storageSubscribers(): StorageSubscribers {
  const listeners = new Set<() => void>();
  return {
    subscribe(onChange) {
      listeners.add(onChange);
      window.addEventListener("storage", onChange);
      return () => {
        listeners.delete(onChange);
        window.removeEventListener("storage", onChange);
      };
    },
    notify() {
      for (const notify of listeners) notify();
    },
  };
}
