// A stable path for the network policy types: `src/services/ContreeConfig.ts` imports them from here; the module is sandbox/SandboxNetwork.
export { NETWORK_HELPERS, NETWORK_POLICIES, type NetworkHelperName, type NetworkPolicy } from "./sandbox/SandboxNetwork.js"
