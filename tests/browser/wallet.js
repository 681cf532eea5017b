// A test wallet injected into the page before any script runs (Playwright add_init_script).
// EIP-1193 provider announced through EIP-6963; it answers eth_accounts with [] until the page
// asks eth_requestAccounts (like a real wallet before the user approves), and forwards every
// other JSON-RPC call to anvil, where the account is unlocked: eth_sendTransaction is "signed"
// by anvil's dev account. __WALLET__ is replaced by the test with {rpcUrl, account, chainId}.
(() => {
  const { rpcUrl, account, chainId } = __WALLET__;
  const AUTH_KEY = "enerwise-test-wallet-authorized";
  let authorized = window.sessionStorage.getItem(AUTH_KEY) === "1";
  const listeners = new Map();
  let nextId = 1;

  const emit = (event, ...args) => {
    for (const fn of listeners.get(event) ?? []) fn(...args);
  };
  const rpcError = (code, message, data) => Object.assign(new Error(message), { code, data });

  async function forward(method, params) {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params: params ?? [] }),
    });
    const body = await response.json();
    if (body.error) throw rpcError(body.error.code, body.error.message, body.error.data);
    return body.result;
  }

  const provider = {
    isEnerwiseTestWallet: true,
    async request({ method, params }) {
      window.__walletCalls.push(method);
      switch (method) {
        case "eth_accounts":
          return authorized ? [account] : [];
        case "eth_requestAccounts":
        case "wallet_requestPermissions":
          authorized = true;
          window.sessionStorage.setItem(AUTH_KEY, "1");
          setTimeout(() => emit("accountsChanged", [account]), 0);
          return method === "eth_requestAccounts" ? [account] : [{ parentCapability: "eth_accounts" }];
        case "wallet_getPermissions":
          return authorized ? [{ parentCapability: "eth_accounts" }] : [];
        case "wallet_revokePermissions":
          authorized = false;
          window.sessionStorage.removeItem(AUTH_KEY);
          return null;
        case "eth_chainId":
          return chainId;
        case "net_version":
          return String(parseInt(chainId, 16));
        case "wallet_switchEthereumChain":
          if (String(params?.[0]?.chainId).toLowerCase() !== chainId) {
            throw rpcError(4902, "Unrecognized chain");
          }
          return null;
        case "wallet_addEthereumChain":
          return null;
        case "eth_sendTransaction":
        case "eth_sign":
        case "personal_sign":
        case "eth_signTypedData_v4":
          if (!authorized) throw rpcError(4100, "The wallet is not connected");
          return forward(method, params);
        default:
          return forward(method, params);
      }
    },
    on(event, fn) {
      listeners.set(event, [...(listeners.get(event) ?? []), fn]);
      return provider;
    },
    removeListener(event, fn) {
      listeners.set(event, (listeners.get(event) ?? []).filter((f) => f !== fn));
      return provider;
    },
  };

  window.__walletCalls = [];
  const info = Object.freeze({
    uuid: "2b7c4a0e-5d1e-4f0a-9a51-6f3b1b3c0e11",
    name: "Enerwise Test Wallet",
    icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='8' height='8'/%3E",
    rdns: "org.enerwise.testwallet",
  });
  const announce = () =>
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();
