// Contract reverts and wallet errors in plain words (the user's language). The custom errors
// come from the ABIs of every contract, so a revert bubbling up from a nested call (an ERC-20
// transfer inside deposit) is decoded too.
import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  UserRejectedRequestError,
  type Abi,
  type ContractErrorName,
} from "viem";
import {
  energyMarketAbi,
  energyTokenAbi,
  meterRegistryAbi,
  paymentTokenAbi,
  sealedEnergyMarketAbi,
} from "@/generated/abis";
import { ApiError } from "./api";
import type { I18n } from "./i18n";
import { en } from "./i18n/en";
import { JournalError, type FileProblem } from "./sealed";

const ALL_ERRORS: Abi = [
  ...energyMarketAbi,
  ...sealedEnergyMarketAbi,
  ...energyTokenAbi,
  ...meterRegistryAbi,
  ...paymentTokenAbi,
].filter((item) => item.type === "error");

type RevertText = (args: readonly unknown[], f: I18n["f"]) => string;
/** Every custom error of both markets has its plain words (en.ts; de.ts has the same keys, which
 * TypeScript checks): a market error without them fails the type check. */
type MarketErrorName = ContractErrorName<typeof energyMarketAbi> | ContractErrorName<typeof sealedEnergyMarketAbi>;
export const MARKET_ERRORS_EXPLAINED: Record<MarketErrorName, RevertText> = en.reverts;

export interface DecodedRevert {
  name: string;
  args: readonly unknown[];
}

function decodeRaw(data: `0x${string}` | undefined): DecodedRevert | null {
  if (!data || data.length < 10) return null;
  try {
    const decoded = decodeErrorResult({ abi: ALL_ERRORS, data });
    return { name: decoded.errorName, args: decoded.args ?? [] };
  } catch {
    return null;
  }
}

/** The custom error inside a viem error chain, when there is one. */
export function decodeRevert(error: unknown): DecodedRevert | null {
  if (!(error instanceof BaseError)) return null;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError) {
    if (reverted.data?.errorName) {
      return { name: reverted.data.errorName, args: reverted.data.args ?? [] };
    }
    return decodeRaw(reverted.raw);
  }
  // A node error that carries revert data (e.g. from eth_estimateGas).
  const withData = error.walk((e) => typeof (e as { data?: unknown }).data === "string");
  return decodeRaw((withData as { data?: `0x${string}` } | null)?.data);
}

export function isUserRejection(error: unknown): boolean {
  return error instanceof BaseError && error.walk((e) => e instanceof UserRejectedRequestError) !== null;
}

/** One sentence for the user. */
export function explainError(error: unknown, { t, f }: Pick<I18n, "t" | "f">): string {
  const revert = decodeRevert(error);
  if (revert) {
    const explain = (t.reverts as Record<string, RevertText | undefined>)[revert.name];
    return explain ? explain(revert.args, f) : t.tx.refused(revert.name);
  }
  if (isUserRejection(error)) return t.wallet.rejected;
  if (error instanceof JournalError) return explainJournalError(error, t);
  if (error instanceof BaseError) return error.shortMessage;
  if (error instanceof ApiError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/** A problem with the sealed orders kept in this browser, in plain words. */
export function explainJournalError(error: JournalError, t: I18n["t"]): string {
  if (error.kind !== "file") return t.sealed.journal[error.kind];
  return t.sealed.journal.file(explainFileProblem(error.detail ?? { kind: "json" }, t));
}

function explainFileProblem(problem: FileProblem, t: I18n["t"]): string {
  switch (problem.kind) {
    case "json":
      return t.sealed.journal.notABackup;
    case "field":
      return t.sealed.journal.badField(problem.entry, problem.field);
    case "mismatch":
      return t.sealed.journal.mismatch(problem.entry);
  }
}
