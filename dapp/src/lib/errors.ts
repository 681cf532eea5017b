// Contract reverts and wallet errors in plain words. The custom errors come from the ABIs of
// every contract, so a revert bubbling up from a nested call (an ERC-20 transfer inside
// deposit) is decoded too.
import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  UserRejectedRequestError,
  type Abi,
} from "viem";
import { energyMarketAbi, energyTokenAbi, meterRegistryAbi, paymentTokenAbi } from "@/generated/abis";
import type { RuntimeConfig } from "./config";
import { formatMoney, formatTime, formatWh, priceOfTick } from "./format";

const ALL_ERRORS: Abi = [
  ...energyMarketAbi,
  ...energyTokenAbi,
  ...meterRegistryAbi,
  ...paymentTokenAbi,
].filter((item) => item.type === "error");

export interface DecodedRevert {
  name: string;
  args: readonly unknown[];
}

type Explain = (args: readonly unknown[], cfg: RuntimeConfig) => string;

const n = (value: unknown): number => Number(value as bigint | number);
const big = (value: unknown): bigint => BigInt(value as bigint | number);

/** Plain-words message per custom error name. */
export const MESSAGES: Record<string, Explain> = {
  MarketZeroAddress: () => "An address is missing (the zero address was given).",
  MarketInvalidParam: (a) => `The market parameter "${String(a[0])}" is out of range.`,
  MarketFeeTooHigh: (a) => `A fee of ${n(a[0])} bp is above the allowed ${n(a[1])} bp.`,
  MarketZeroAmount: () => "The amount must be more than zero.",
  MarketInsufficientBalance: (a, cfg) =>
    `Your market vault holds ${formatMoney(cfg, big(a[1]))}, but this needs ${formatMoney(cfg, big(a[2]))}. Deposit more first.`,
  MarketInsufficientEnergy: (a) =>
    `Your market vault holds ${formatWh(big(a[2]))} of slot ${n(a[1])}, but this needs ${formatWh(big(a[3]))}. Move energy tokens into the vault first.`,
  MarketUnsupportedToken: () => "The market accepts only EnergyChain slot tokens.",
  OrderQtyTooSmall: (a) =>
    `The quantity ${formatWh(big(a[0]))} is below the market's minimum order of ${formatWh(big(a[1]))}.`,
  OrderTickOutOfRange: (a, cfg) =>
    `That price is above the market's highest price (${formatMoney(cfg, priceOfTick(cfg.market, n(a[1])))} per kWh).`,
  OrderWindowNotOpen: (a) => `Orders for slot ${n(a[0])} are accepted only from ${formatTime(n(a[1]))}.`,
  OrderWindowClosed: (a) =>
    `The order window of slot ${n(a[0])} closed at ${formatTime(n(a[1]))} (gate closure): no more orders or cancels.`,
  OrderLevelOverflow: (a) => `The book of slot ${n(a[0])} holds too much at that price; choose another price.`,
  OrderNotFound: (a) => `Order ${String(a[0])} no longer exists: it was cancelled or already claimed.`,
  GateNotClosed: (a) => `Slot ${n(a[0])} can be cleared only from ${formatTime(n(a[1]))} (gate closure).`,
  AlreadyCleared: (a) => `Slot ${n(a[0])} was already cleared.`,
  SlotNotCleared: (a) => `Slot ${n(a[0])} has not been cleared yet, so its orders cannot be claimed.`,
  NotOwnerOrAgent: () => "This account is neither the owner nor an authorized agent of that owner.",
  AgentExpired: (a) => `The agent's authorization ended at ${formatTime(n(a[1]))}.`,
  AgentPriceOutOfBounds: (a, cfg) =>
    `The price is outside the agent's bound (${formatMoney(cfg, priceOfTick(cfg.market, n(a[1])))} per kWh).`,
  AgentBudgetExceeded: (a, cfg) =>
    `The agent would spend ${formatMoney(cfg, big(a[1]))} today, above its daily budget of ${formatMoney(cfg, big(a[2]))}.`,
  AgentInvalid: () => "That address cannot be an agent: it is the zero address or your own account.",
  AgentInvalidExpiry: () => "The expiry must be in the future.",
  EnergyTokenUnauthorized: () => "Only the meter registry may mint energy tokens.",
  EnergyTokenZeroAmount: () => "The amount to redeem must be more than zero.",
  EnergyTokenRedeemExceedsImport: (a) =>
    `You can redeem at most ${formatWh(big(a[3]))} of slot ${n(a[1])}: what your meters imported in that slot and you have not redeemed yet.`,
  ERC20InsufficientAllowance: (a, cfg) =>
    `The market may take only ${formatMoney(cfg, big(a[1]))} of your tokens, but needs ${formatMoney(cfg, big(a[2]))}. Approve more first.`,
  ERC20InsufficientBalance: (a, cfg) =>
    `Your wallet holds ${formatMoney(cfg, big(a[1]))}, but this needs ${formatMoney(cfg, big(a[2]))}.`,
  ERC1155InsufficientBalance: (a) =>
    `Your wallet holds ${formatWh(big(a[1]))} of slot ${String(a[3])}, but this needs ${formatWh(big(a[2]))}.`,
  EnforcedPause: () => "The market is paused by its operator: no new orders for now.",
  AccessControlUnauthorizedAccount: () => "This account lacks the role this action needs.",
};

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

/** One sentence for the user. */
export function explainError(error: unknown, cfg: RuntimeConfig): string {
  const revert = decodeRevert(error);
  if (revert) {
    const explain = MESSAGES[revert.name];
    return explain ? explain(revert.args, cfg) : `The contract refused: ${revert.name}.`;
  }
  if (error instanceof BaseError) {
    if (error.walk((e) => e instanceof UserRejectedRequestError)) {
      return "You rejected the request in your wallet.";
    }
    return error.shortMessage;
  }
  return error instanceof Error ? error.message : String(error);
}
