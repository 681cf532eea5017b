"use client";
// Sign-In with Ethereum against the indexer API: a nonce from GET /v1/auth/nonce, an EIP-4361
// message signed with personal_sign in the connected wallet, a short session token from POST
// /v1/auth/login carrying the roles the account holds on chain. The token lives in this tab's
// sessionStorage and is dropped when it expires, the account changes, or the API refuses it.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { getAddress } from "viem";
import { useConfig, useConnection } from "wagmi";
import { getWalletClient } from "wagmi/actions";
import { ApiError, unwrap } from "./api";
import { explainError, isUserRejection } from "./errors";
import { useI18n } from "./i18n";
import { useApiClient, useRuntime } from "./runtime";
import { siweMessage } from "./siwe";

export interface Session {
  token: string;
  address: string;
  roles: string[];
  /** Unix seconds. */
  expiresAt: number;
}

interface SessionState {
  session: Session | null;
  busy: boolean;
  error: string | null;
  signIn: () => Promise<void>;
  signOut: () => void;
  /** The API refused the token (401): drop it and say so. */
  expire: () => void;
}

const SessionContext = createContext<SessionState | null>(null);
/** How long the signed message is valid (the server's nonce lives five minutes). */
const MESSAGE_TTL_MS = 5 * 60 * 1000;

function storageKey(chainId: number): string {
  return `enerwise-session:${chainId}`;
}

function stored(chainId: number): Session | null {
  try {
    const raw = window.sessionStorage.getItem(storageKey(chainId));
    const session = raw ? (JSON.parse(raw) as Session) : null;
    return session && session.expiresAt * 1000 > Date.now() ? session : null;
  } catch {
    return null;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const cfg = useRuntime();
  const i18n = useI18n();
  const { t } = i18n;
  const api = useApiClient();
  const config = useConfig();
  const connection = useConnection();
  const [session, setSession] = useState<Session | null>(() => stored(cfg.chainId));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const save = useCallback(
    (next: Session | null) => {
      setSession(next);
      if (next) window.sessionStorage.setItem(storageKey(cfg.chainId), JSON.stringify(next));
      else window.sessionStorage.removeItem(storageKey(cfg.chainId));
    },
    [cfg.chainId],
  );

  // Another account (or none) in the wallet: the session was someone else's.
  const connected = connection.address?.toLowerCase();
  useEffect(() => {
    if (session && session.address.toLowerCase() !== connected && connection.status !== "reconnecting" && connection.status !== "connecting") {
      save(null);
    }
  }, [session, connected, connection.status, save]);

  // Drop the token when it expires.
  useEffect(() => {
    if (!session) return;
    const left = session.expiresAt * 1000 - Date.now();
    const timer = setTimeout(() => {
      save(null);
      setError(t.session.ended);
    }, Math.max(left, 0));
    return () => clearTimeout(timer);
  }, [session, save, t]);

  const signIn = useCallback(async () => {
    setError(null);
    if (!connection.address || connection.chainId === undefined) {
      setError(t.wallet.connectPrompt);
      return;
    }
    if (connection.chainId !== cfg.chainId) {
      setError(t.session.wrongChain(cfg.chainId, connection.chainId));
      return;
    }
    setBusy(true);
    try {
      const nonce = await unwrap(api.GET("/v1/auth/nonce"));
      const here = window.location.host;
      if (nonce.domain !== here) {
        setError(t.session.wrongDomain(nonce.domain, here));
        return;
      }
      if (nonce.chain_id !== cfg.chainId) {
        setError(t.session.wrongChain(nonce.chain_id, cfg.chainId));
        return;
      }
      const address = getAddress(connection.address);
      const now = new Date();
      const message = siweMessage({
        domain: here,
        address,
        statement: nonce.statement,
        uri: window.location.origin,
        chainId: cfg.chainId,
        nonce: nonce.nonce,
        issuedAt: now,
        expirationTime: new Date(now.getTime() + MESSAGE_TTL_MS),
      });
      const wallet = await getWalletClient(config, { chainId: cfg.chainId });
      const signature = await wallet.signMessage({ account: address, message });
      const login = await unwrap(api.POST("/v1/auth/login", { body: { message, signature } }));
      save({ token: login.token, address: login.address, roles: login.roles, expiresAt: login.expires_at });
    } catch (failure) {
      if (failure instanceof ApiError) {
        const known: Record<string, string> = {
          siwe_expired: t.session.expired,
          siwe_nonce_invalid: t.session.replayed,
          siwe_not_yet_valid: t.session.notYetValid,
          siwe_bad_signature: t.session.badSignature,
        };
        setError(known[failure.code] ?? t.session.failed(failure.message));
      } else {
        setError(isUserRejection(failure) ? t.wallet.rejected : t.session.failed(explainError(failure, i18n)));
      }
    } finally {
      setBusy(false);
    }
  }, [api, cfg.chainId, config, connection.address, connection.chainId, i18n, save, t]);

  const signOut = useCallback(() => {
    setError(null);
    save(null);
  }, [save]);

  const expire = useCallback(() => {
    save(null);
    setError(t.session.ended);
  }, [save, t]);

  const value = useMemo(
    () => ({ session, busy, error, signIn, signOut, expire }),
    [session, busy, error, signIn, signOut, expire],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (state === null) throw new Error("useSession outside <SessionProvider>");
  return state;
}

export const OPERATOR_ROLES = ["admin", "meter_admin", "pauser"] as const;
