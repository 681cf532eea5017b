"use client";
// The runtime context: the resolved configuration, the live feed state.
import { createContext, useContext } from "react";
import type { RuntimeConfig } from "./config";

export const RuntimeContext = createContext<RuntimeConfig | null>(null);

export function useRuntime(): RuntimeConfig {
  const cfg = useContext(RuntimeContext);
  if (cfg === null) throw new Error("useRuntime outside <Providers>");
  return cfg;
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
