// Every pool account the cluster serves, decoded by decoders the programs' own maintainers
// publish: Raydium's SDK layouts (AMM v4's AmmInfo, CPMM's PoolState and AmmConfig) and Meteora's
// IDL through Anchor's account coder (LbPair, BinArray, Oracle, PresetParameter).
// Usage: node decode.mjs <cluster url>; prints one JSON object: a list of decoded accounts, each
// with the fields the test compares, and the accounts no decoder here reads.
import { createRequire } from "node:module";
import { Connection, PublicKey } from "@solana/web3.js";

// Their CommonJS builds: the DLMM package's ES build imports a directory Node refuses.
const require = createRequire(import.meta.url);
const { BorshAccountsCoder } = require("@coral-xyz/anchor");
const { IDL } = require("@meteora-ag/dlmm");
const {
  CpmmConfigInfoLayout, CpmmPoolInfoLayout, liquidityStateV4Layout,
} = require("@raydium-io/raydium-sdk-v2");

const AMM_V4 = new PublicKey("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8");
const CPMM = new PublicKey("CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C");
const DLMM = new PublicKey("LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo");

const connection = new Connection(process.argv[2], "confirmed");
const coder = new BorshAccountsCoder(IDL);
const text = (value) => (value === undefined || value === null ? null : value.toString());
const decoded = [];
const undecoded = [];

for (const { pubkey, account } of await connection.getProgramAccounts(AMM_V4)) {
  const s = liquidityStateV4Layout.decode(account.data);
  decoded.push({ address: pubkey.toBase58(), type: "AmmInfo", status: text(s.status),
    baseMint: text(s.baseMint), quoteMint: text(s.quoteMint), baseVault: text(s.baseVault),
    quoteVault: text(s.quoteVault), baseDecimal: text(s.baseDecimal),
    quoteDecimal: text(s.quoteDecimal), tradeFeeNumerator: text(s.tradeFeeNumerator),
    tradeFeeDenominator: text(s.tradeFeeDenominator), swapFeeNumerator: text(s.swapFeeNumerator),
    swapFeeDenominator: text(s.swapFeeDenominator), marketId: text(s.marketId),
    openOrders: text(s.openOrders), lpReserve: text(s.lpReserve), nonce: text(s.nonce) });
}

for (const { pubkey, account } of await connection.getProgramAccounts(CPMM)) {
  const address = pubkey.toBase58();
  if (account.data.length === CpmmPoolInfoLayout.span) {
    const s = CpmmPoolInfoLayout.decode(account.data);
    decoded.push({ address, type: "PoolState", configId: text(s.configId),
      mintA: text(s.mintA), mintB: text(s.mintB), vaultA: text(s.vaultA),
      vaultB: text(s.vaultB), mintLp: text(s.mintLp), observationId: text(s.observationId),
      mintDecimalA: text(s.mintDecimalA), mintDecimalB: text(s.mintDecimalB),
      lpAmount: text(s.lpAmount), poolCreator: text(s.poolCreator), status: text(s.status) });
  } else if (account.data.length === CpmmConfigInfoLayout.span) {
    const s = CpmmConfigInfoLayout.decode(account.data);
    decoded.push({ address, type: "AmmConfig", index: text(s.index),
      tradeFeeRate: text(s.tradeFeeRate), protocolFeeRate: text(s.protocolFeeRate),
      fundFeeRate: text(s.fundFeeRate), bump: text(s.bump) });
  } else {
    undecoded.push({ address, program: "cpmm", size: account.data.length });
  }
}

for (const { pubkey, account } of await connection.getProgramAccounts(DLMM)) {
  const address = pubkey.toBase58();
  const name = IDL.accounts.find((a) => account.data.subarray(0, 8).equals(
    Buffer.from(a.discriminator)))?.name;
  if (name === undefined) {
    undecoded.push({ address, program: "dlmm", size: account.data.length });
    continue;
  }
  const s = coder.decode(name, account.data);
  // Anchor's coder keeps the IDL's own (snake_case) field names.
  if (name === "LbPair") {
    const p = s.parameters;
    decoded.push({ address, type: name, activeId: text(s.active_id), binStep: text(s.bin_step),
      tokenXMint: text(s.token_x_mint), tokenYMint: text(s.token_y_mint),
      reserveX: text(s.reserve_x), reserveY: text(s.reserve_y), oracle: text(s.oracle),
      baseFactor: text(p.base_factor), protocolShare: text(p.protocol_share),
      minBinId: text(p.min_bin_id), maxBinId: text(p.max_bin_id),
      bump: text(s.bump_seed[0]) });
  } else if (name === "BinArray") {
    const total = (side) => s.bins.reduce((sum, b) => sum + BigInt(b[side].toString()), 0n);
    decoded.push({ address, type: name, index: text(s.index), lbPair: text(s.lb_pair),
      amountX: total("amount_x").toString(), amountY: total("amount_y").toString() });
  } else if (name === "Oracle") {
    decoded.push({ address, type: name, length: text(s.length) });
  } else if (name === "PresetParameter") {
    decoded.push({ address, type: name, binStep: text(s.bin_step),
      baseFactor: text(s.base_factor), protocolShare: text(s.protocol_share) });
  } else {
    decoded.push({ address, type: name });
  }
}
console.log(JSON.stringify({ decoded, undecoded }));
process.exit(0);
