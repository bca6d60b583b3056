// The cluster through @solana/web3.js's own Connection: every call's typed result is parsed by
// web3.js (its superstruct schemas reject a wrong shape) and checked for the right values.
// Usage: node check.mjs <cluster url> <funded wallet address> [reads]; prints one JSON line
// per check and exits 1 on the first failure. "reads": the cluster runs the Python model (no
// --programs), so airdrops and transfers are not tried.
import {
  AddressLookupTableProgram, Connection, Keypair, LAMPORTS_PER_SOL, PublicKey, SYSVAR_CLOCK_PUBKEY,
  SolanaJSONRPCError, SystemProgram, Transaction, TransactionMessage, VersionedTransaction, sendAndConfirmTransaction,
} from "@solana/web3.js";

const [url, walletAddress, mode] = process.argv.slice(2);
const connection = new Connection(url, "confirmed");
const wallet = new PublicKey(walletAddress);
const USDC = new PublicKey("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v");
const TOKEN = new PublicKey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");

function check(name, ok, detail) {
  if (!ok) {
    console.log(JSON.stringify({ name, ok: false, detail }));
    process.exit(1);
  }
  console.log(JSON.stringify({ name, ok: true }));
}

const version = await connection.getVersion();
check("getVersion", version["solana-core"] === "2.2.0", version);
const genesis = await connection.getGenesisHash();
check("getGenesisHash", genesis.length >= 32, genesis);
const slot = await connection.getSlot();
check("getSlot", slot >= 0, slot);
check("getBlockHeight", (await connection.getBlockHeight()) >= 0);
const epoch = await connection.getEpochInfo();
check("getEpochInfo", epoch.slotsInEpoch === 432000, epoch);
check("getEpochSchedule", (await connection.getEpochSchedule()).slotsPerEpoch === 432000);
const latest = await connection.getLatestBlockhash();
check("getLatestBlockhash", latest.lastValidBlockHeight > 0, latest);
check("isBlockhashValid", (await connection.isBlockhashValid(latest.blockhash)).value === true);
check("getBalance", (await connection.getBalance(wallet)) > 0);
const account = await connection.getAccountInfo(wallet);
check("getAccountInfo", account !== null && account.owner.equals(SystemProgram.programId), account);
const many = await connection.getMultipleAccountsInfo([wallet, Keypair.generate().publicKey]);
check("getMultipleAccountsInfo", many[0] !== null && many[1] === null, many);
const parsed = await connection.getParsedTokenAccountsByOwner(wallet, { mint: USDC });
const usdcAccount = parsed.value[0];
check("getParsedTokenAccountsByOwner",
  parsed.value.length === 1 && usdcAccount.account.data.parsed.info.mint === USDC.toBase58(), parsed);
const byProgram = await connection.getTokenAccountsByOwner(wallet, { programId: TOKEN });
check("getTokenAccountsByOwner", byProgram.value.length >= 6, byProgram.value.length);
const balance = await connection.getTokenAccountBalance(usdcAccount.pubkey);
check("getTokenAccountBalance", balance.value.decimals === 6, balance);
check("getTokenSupply", (await connection.getTokenSupply(USDC)).value.decimals === 6);
const holders = await connection.getTokenLargestAccounts(USDC);
check("getTokenLargestAccounts", holders.value.some((h) => h.address.equals(usdcAccount.pubkey)), holders);
const filtered = await connection.getProgramAccounts(TOKEN, {
  filters: [{ dataSize: 165 }, { memcmp: { offset: 32, bytes: wallet.toBase58() } }] });
check("getProgramAccounts", filtered.length === byProgram.value.length, filtered.length);
check("getMinimumBalanceForRentExemption",
  (await connection.getMinimumBalanceForRentExemption(165)) === 2039280);
const signatures = await connection.getSignaturesForAddress(wallet);
check("getSignaturesForAddress", signatures.length >= 1 && signatures[0].memo !== null, signatures);
const landed = await connection.getTransaction(signatures[0].signature,
  { maxSupportedTransactionVersion: 0 });
check("getTransaction", landed !== null && landed.meta.err === null, landed);
const parsedTx = await connection.getParsedTransaction(signatures[0].signature,
  { maxSupportedTransactionVersion: 0 });
check("getParsedTransaction", parsedTx.transaction.message.instructions.some(
  (ix) => ix.program === "spl-memo" && ix.parsed.startsWith("order:")), parsedTx);
const block = await connection.getBlock(landed.slot, { maxSupportedTransactionVersion: 0 });
check("getBlock", block.transactions.some(
  (t) => t.transaction.signatures[0] === signatures[0].signature), block);
check("getBlocks", (await connection.getBlocks(landed.slot, landed.slot)).length === 1);
check("getBlockTime", (await connection.getBlockTime(landed.slot)) > 1_700_000_000);
const statuses = await connection.getSignatureStatuses([signatures[0].signature]);
check("getSignatureStatuses", statuses.value[0] !== null, statuses);
check("getRecentPrioritizationFees", Array.isArray(await connection.getRecentPrioritizationFees()));
check("getTransactionCount", (await connection.getTransactionCount()) >= 1);
check("getFirstAvailableBlock", (await connection.getFirstAvailableBlock()) === 0);
check("getSupply", (await connection.getSupply()).value.total > 0);
check("getClusterNodes", (await connection.getClusterNodes()).length === 1);
check("getVoteAccounts", (await connection.getVoteAccounts()).current.length === 1);
check("getSlotLeader", (await connection.getSlotLeader()).length >= 32);
check("getLeaderSchedule", Object.keys(await connection.getLeaderSchedule()).length === 1);
check("getInflationGovernor", (await connection.getInflationGovernor()).initial >= 0);
check("getRecentPerformanceSamples", Array.isArray(await connection.getRecentPerformanceSamples(5)));
check("getStakeMinimumDelegation", (await connection.getStakeMinimumDelegation()).value >= 0);
check("getLargestAccounts", (await connection.getLargestAccounts()).value.length >= 1);
check("getBlockProduction", (await connection.getBlockProduction()).value.range.firstSlot === 0);
const ahead = await connection.getAccountInfoAndContext(wallet,
  { minContextSlot: slot + 1_000_000 }).then(() => null, (error) => error);  // a node behind says so
check("minContextSlot", ahead instanceof SolanaJSONRPCError && ahead.code === -32016
  && ahead.message.includes("Minimum context slot has not been reached"), String(ahead));

const slotSeen = await new Promise((resolve) => {  // PubSub on the port after JSON-RPC's
  const id = connection.onSlotChange((info) => {
    connection.removeSlotChangeListener(id);
    resolve(info.slot);
  });
});
check("slotSubscribe", slotSeen >= 0);
const clockTold = await new Promise((resolve) => {  // the Clock sysvar, told every slot
  const id = connection.onAccountChange(SYSVAR_CLOCK_PUBKEY, (info, context) => {
    connection.removeAccountChangeListener(id);
    resolve({ info, context });
  });
});
check("accountSubscribe (Clock)", clockTold.info.owner.toBase58() === "Sysvar1111111111111111111111111111111111111"
  && Number(clockTold.info.data.readBigUInt64LE(0)) === clockTold.context.slot
  && Number(clockTold.info.data.readBigInt64LE(32)) > 1_700_000_000);
if (mode === "reads") process.exit(0);

// With the programs' runtime: an airdrop, then a transfer in each message version.
const payer = Keypair.generate();
const receiver = Keypair.generate().publicKey;
const airdrop = await connection.requestAirdrop(payer.publicKey, 2 * LAMPORTS_PER_SOL);
await connection.confirmTransaction({ signature: airdrop, ...(await connection.getLatestBlockhash()) });
check("requestAirdrop", (await connection.getBalance(payer.publicKey)) === 2 * LAMPORTS_PER_SOL);
const legacy = new Transaction().add(SystemProgram.transfer(
  { fromPubkey: payer.publicKey, toPubkey: receiver, lamports: LAMPORTS_PER_SOL / 2 }));
await sendAndConfirmTransaction(connection, legacy, [payer]);
const { blockhash } = await connection.getLatestBlockhash();
const v0 = new VersionedTransaction(new TransactionMessage({ payerKey: payer.publicKey,
  recentBlockhash: blockhash, instructions: [SystemProgram.transfer(
    { fromPubkey: payer.publicKey, toPubkey: receiver, lamports: LAMPORTS_PER_SOL / 4 })],
}).compileToV0Message());
v0.sign([payer]);
const sent = await connection.sendTransaction(v0);
await connection.confirmTransaction({ signature: sent, blockhash,
  lastValidBlockHeight: (await connection.getLatestBlockhash()).lastValidBlockHeight });
check("sendTransaction", (await connection.getBalance(receiver)) === 3 * LAMPORTS_PER_SOL / 4);
const transfer = await connection.getParsedTransaction(sent, { maxSupportedTransactionVersion: 0 });
check("getParsedTransaction (System transfer)", transfer.transaction.message.instructions.some(
  (ix) => ix.program === "system" && ix.parsed.type === "transfer"
    && ix.parsed.info.lamports === LAMPORTS_PER_SOL / 4), transfer);

// A bare Connection names no commitment: the node's default, finalized, 32 slots behind. Its
// preflight does not know a blockhash read at confirmed ("Blockhash not found", as on a real
// node); its own, the root's, it knows.
const bare = new Connection(url);
const transferWith = (recentBlockhash) => {
  const tx = new VersionedTransaction(new TransactionMessage({ payerKey: payer.publicKey,
    recentBlockhash, instructions: [SystemProgram.transfer({ fromPubkey: payer.publicKey,
      toPubkey: Keypair.generate().publicKey, lamports: LAMPORTS_PER_SOL / 100 })],
  }).compileToV0Message());
  tx.sign([payer]);
  return tx;
};
let unknown = null;
try {
  await bare.sendTransaction(transferWith((await connection.getLatestBlockhash()).blockhash));
} catch (error) {
  unknown = error;
}
check("a confirmed blockhash, preflighted at finalized", unknown !== null
  && String(unknown.message).includes("Blockhash not found"), String(unknown));
const rootBefore = await bare.getBlockHeight();
const rooted = await bare.getLatestBlockhash();
check("getLatestBlockhash at finalized", rooted.lastValidBlockHeight >= rootBefore + 150
  && rooted.lastValidBlockHeight <= (await bare.getBlockHeight()) + 150
  && (await connection.getBlockHeight()) - rootBefore >= 32, rooted);
const viaRoot = await bare.sendTransaction(transferWith(rooted.blockhash));
await connection.confirmTransaction({ signature: viaRoot, ...rooted });
check("a finalized blockhash, preflighted at finalized",
  (await connection.getSignatureStatus(viaRoot)).value?.err === null);

// Logs and account changes of transactions made here.
const logged = new Promise((resolve) => {
  const id = connection.onLogs(payer.publicKey, (logs) => {
    connection.removeOnLogsListener(id);
    resolve(logs);
  });
});
const changed = new Promise((resolve) => {
  const id = connection.onAccountChange(receiver, (info) => {
    connection.removeAccountChangeListener(id);
    resolve(info.lamports);
  });
});
await new Promise((resolve) => setTimeout(resolve, 300));  // the subscriptions are made
const last = new Transaction().add(SystemProgram.transfer(
  { fromPubkey: payer.publicKey, toPubkey: receiver, lamports: LAMPORTS_PER_SOL / 4 }));
await sendAndConfirmTransaction(connection, last, [payer]);
check("logsSubscribe", (await logged).err === null);
check("accountSubscribe", (await changed) === LAMPORTS_PER_SOL);

// An address lookup table made with web3.js's own instructions, read back with its own
// decoder, then looked up by a v0 transfer.
const recentSlot = await connection.getSlot("finalized");
const [create, tableAddress] = AddressLookupTableProgram.createLookupTable(
  { authority: payer.publicKey, payer: payer.publicKey, recentSlot });
const extend = AddressLookupTableProgram.extendLookupTable({ lookupTable: tableAddress,
  authority: payer.publicKey, payer: payer.publicKey, addresses: [receiver] });
await sendAndConfirmTransaction(connection, new Transaction().add(create, extend), [payer]);
const table = (await connection.getAddressLookupTable(tableAddress)).value;
check("getAddressLookupTable", table !== null && table.state.addresses.length === 1
  && table.state.addresses[0].equals(receiver)
  && table.state.authority.equals(payer.publicKey), table);
while ((await connection.getSlot()) <= table.state.lastExtendedSlot) {  // usable next slot
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const fresh = await connection.getLatestBlockhash();
const viaTable = new VersionedTransaction(new TransactionMessage({ payerKey: payer.publicKey,
  recentBlockhash: fresh.blockhash, instructions: [SystemProgram.transfer(
    { fromPubkey: payer.publicKey, toPubkey: receiver, lamports: LAMPORTS_PER_SOL / 8 })],
}).compileToV0Message([table]));
viaTable.sign([payer]);
const looked = await connection.sendTransaction(viaTable);
await connection.confirmTransaction({ signature: looked, ...fresh });
const lookedUp = await connection.getTransaction(looked, { maxSupportedTransactionVersion: 0 });
check("a v0 transaction's lookups", lookedUp.meta.loadedAddresses.writable.length === 1
  && lookedUp.meta.loadedAddresses.writable[0].equals(receiver)
  && (await connection.getBalance(receiver)) === LAMPORTS_PER_SOL * 9 / 8, lookedUp.meta);
process.exit(0);
