"use client";
// The runtime context: the resolved configuration, the typed API client, the live feed state.
import { createContext, useContext } from "react";
import { makeApiClient, type ApiClient } from "./api";
import type { RuntimeConfig } from "./config";

export const RuntimeContext = createContext<RuntimeConfig | null>(null);

export function useRuntime(): RuntimeConfig {
  const cfg = useContext(RuntimeContext);
  if (cfg === null) throw new Error("useRuntime outside <Providers>");
  return cfg;
}

const clients = new Map<string, ApiClient>();

/** The typed client of the indexer API the configuration names (one per base URL). */
export function useApiClient(): ApiClient {
  const { apiBase } = useRuntime();
  let client = clients.get(apiBase);
  if (client === undefined) {
    client = makeApiClient(apiBase);
    clients.set(apiBase, client);
  }
  return client;
}

export interface LiveEvent {
  topic: string;
  name: string;
  block_number: number;
  block_time: number;
  tx_hash: string;
  log_index: number;
  data: Record<string, unknown>;
}

export interface LiveState {
  connected: boolean;
  events: LiveEvent[];
}

export const LiveContext = createContext<LiveState>({ connected: false, events: [] });

export function useLive(): LiveState {
  return useContext(LiveContext);
}
