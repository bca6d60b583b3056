// The dashboard: one page, no build step, fed by the firehose WebSocket.
import { drawLine } from "./charts.js";
import { el, grouped, renderDetail, renderWallet } from "./panels.js";
import { VenueStats } from "./venues.js";

const rows = new Map();          // orderId -> {tr, order}
const venues = new VenueStats();
const confirmedAt = [];          // times (ms) of recent confirmations
const latencies = [];            // [time, seconds] submit (or trigger) -> final
const prices = [];               // [time, price] of the chosen pair
const decimals = new Map();      // symbol -> decimals, learnt from the wallet
const units = new Map();         // mint -> {symbol, decimals}, learnt from the wallet
const FINAL = ["confirmed", "partially_filled", "failed", "expired", "cancelled"];
const CANCELLABLE = ["pending", "waiting"];
let lastGseq = 0, shownOrder = null, walletDue = false;

const $ = (id) => document.getElementById(id);

function chip(status) { return el("span", status, `chip ${status}`); }

function cancelButton(orderId) {
  const button = el("button", "Cancel", "cancel");
  button.addEventListener("click", async (ev) => {
    ev.stopPropagation();  // not a click on the row (which opens the detail)
    button.disabled = true;
    const r = await api(`/api/orders/${orderId}`, { method: "DELETE" });
    const body = await r.json();
    $("form-result").textContent = r.ok ? `cancelled ${orderId}` : `${body.error.code}: ${body.error.message}`;
    if (r.ok) upsert({ orderId, status: body.status });
    else button.disabled = false;
  });
  return button;
}

function upsert(order) {
  let row = rows.get(order.orderId);
  if (!row) {
    const tr = el("tr");
    tr.dataset.orderId = order.orderId;
    for (let i = 0; i < 8; i++) tr.append(el("td"));
    tr.addEventListener("click", () => showDetail(order.orderId));
    $("order-rows").prepend(tr);
    row = { tr, order: {} };
    rows.set(order.orderId, row);
    while (rows.size > 200) {
      const [oldest] = rows.keys();
      rows.get(oldest).tr.remove();
      rows.delete(oldest);
    }
  }
  Object.assign(row.order, order);
  const o = row.order, cells = row.tr.children;
  cells[0].textContent = o.orderId.slice(0, 8);
  cells[1].textContent = o.parentId ? "twap slice" : o.orderType || "";  // part of a TWAP
  cells[2].textContent = o.tokenIn ? `${o.tokenIn}/${o.tokenOut}` : "";
  // Before a fill, the amount on the side the order fixes: what it sells, or for an exact
  // out what it buys; after, what it spent and got.
  const exactOut = o.swapMode === "ExactOut";
  const spent = grouped(o.amountIn ?? (exactOut ? undefined : o.amount)) || "";
  // A TWAP still running has sold part of its amount: say of how much.
  const running = o.orderType === "twap" && !FINAL.includes(o.status) && o.amountIn !== undefined;
  cells[3].textContent = running ? `${spent} of ${grouped(o.amount)}` : spent;
  cells[3].className = "number";
  cells[4].replaceChildren(chip(o.status));
  cells[5].textContent = o.venue || "";
  cells[6].textContent = grouped(o.amountOut ?? (exactOut ? o.amount : undefined)) || "";
  cells[6].className = "number";
  row.tr.dataset.status = o.status;
  const cancellable = CANCELLABLE.includes(o.status) && (o.status === "waiting" || o.orderType !== "market");
  cells[7].replaceChildren(...(cancellable ? [cancelButton(o.orderId)] : []));
  if (shownOrder === o.orderId) showDetail(o.orderId);
}

function onEvent(e) {
  lastGseq = Math.max(lastGseq, e.gseq || 0);
  const update = { orderId: e.orderId, status: e.status };
  for (const k of ["orderType", "tokenIn", "tokenOut", "amount", "swapMode", "venue", "amountIn", "amountOut", "parentId"]) {
    if (e[k] !== undefined) update[k] = e[k];
  }
  if (e.received !== undefined) {  // a TWAP parent, so far (its slice events' amount is a slice's)
    update.amountIn = e.filled;
    update.amountOut = e.received;
    delete update.amount;
  }
  // The clock of an order's execution: from its submission, stopped while it waits for its
  // price (or its next slice), restarted when it fires. A stop that waited an hour and filled
  // in 40 ms took 40 ms, and a cancelled wait is no execution at all.
  if (e.status === "pending") update.startedAt = Date.parse(e.at);
  if (e.status === "waiting") update.startedAt = null;
  const before = rows.get(e.orderId);
  if (e.status === "routing" && before && before.order.status === "waiting") update.startedAt = Date.parse(e.at);
  upsert(update);
  if (e.status === "routing" && e.route) countVenue(e.orderId, e.venue, e.route);
  if (FINAL.includes(e.status)) {
    const row = rows.get(e.orderId);
    if (e.status === "confirmed" || e.status === "partially_filled") walletDue = true;
    if (e.status === "confirmed") confirmedAt.push([Date.now(), 1]);
    if (row && row.order.startedAt) {
      latencies.push([Date.now(), (Date.parse(e.at) - row.order.startedAt) / 1000]);
    }
  }
}

function countVenue(orderId, venue, route) {
  venues.add(orderId, venue, route);
  $("venue-stats").replaceChildren(...venues.rows().map(([name, won, gain]) => {
    const tr = el("tr");
    tr.append(el("td", name), el("td", won), el("td", gain === null ? "—" : `${gain.toFixed(3)} %`));
    return tr;
  }));
}

// Once the engine has API keys, every call needs one: asked for once, kept for this tab only
// (sessionStorage), sent as a Bearer header, and to WebSockets as the bearer.<key> subprotocol.
function apiKey() { return sessionStorage.getItem("engineKey"); }

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (apiKey()) headers.Authorization = `Bearer ${apiKey()}`;
  const resp = await fetch(path, { ...options, headers });
  if (resp.status !== 401) return resp;
  const key = prompt("This engine needs an API key (kept for this browser tab only):");
  if (!key) return resp;
  sessionStorage.setItem("engineKey", key.trim());
  return api(path, options);
}

function socketProtocols() {
  return apiKey() ? ["order-engine.v1", `bearer.${apiKey()}`] : ["order-engine.v1"];
}

async function showDetail(orderId) {
  shownOrder = orderId;
  const resp = await api(`/api/orders/${orderId}`);
  if (!resp.ok || shownOrder !== orderId) return;
  const order = await resp.json();
  $("detail").hidden = false;
  $("detail-id").textContent = orderId;
  renderDetail($("detail-body"), order, units, showDetail);
}

function perSecond(events, now) {
  const buckets = [];
  for (let s = 59; s >= 0; s--) {
    const from = now - (s + 1) * 1000, to = now - s * 1000;
    const inside = events.filter(([t]) => t >= from && t < to).map(([, v]) => v);
    buckets.push([to, inside]);
  }
  return buckets;
}

function drawCharts() {
  const now = Date.now();
  for (const list of [confirmedAt, latencies, prices]) {
    while (list.length && list[0][0] < now - 61_000) list.shift();
  }
  const rate = perSecond(confirmedAt, now).map(([t, v]) => [t, v.length]);
  const latency = perSecond(latencies, now).filter(([, v]) => v.length)
    .map(([t, v]) => [t, v.reduce((a, b) => a + b, 0) / v.length]);
  drawLine($("throughput"), rate, { label: "confirmed / s", empty: "no confirmed orders in the last minute" });
  drawLine($("latency"), latency, { label: "latency (s), submit or trigger → final", empty: "no finished orders in the last minute" });
  const [base, quote] = $("pair").value.split("/");
  drawLine($("price-chart"), prices, { label: `${base} in ${quote} (net of fees, 1 ${base})`, fromZero: false, empty: "waiting for a quote" });
}

async function samplePrice() {
  const [base, quote] = $("pair").value.split("/");
  if (!decimals.has(base) || !decimals.has(quote)) return;
  const atoms = 10n ** BigInt(decimals.get(base));
  const resp = await api(`/api/quotes?inputMint=${base}&outputMint=${quote}&amount=${atoms}`);
  if (!resp.ok) { $("price-now").textContent = `${base}/${quote}: no route`; return; }
  const q = await resp.json();
  if ($("pair").value !== `${base}/${quote}`) return;  // the trader switched pairs meanwhile
  const price = Number(q.outAmount) / 10 ** decimals.get(quote);
  prices.push([Date.now(), price]);
  $("price-now").textContent = `1 ${base} = ${price.toPrecision(6)} ${quote} (slot ${q.contextSlot})`;
}

async function showWallet() {
  const resp = await api("/api/wallet");
  if (!resp.ok) return;
  const wallet = await resp.json();
  const first = decimals.size === 0;
  wallet.balances.forEach((b) => b.symbol && b.decimals !== null && decimals.set(b.symbol, b.decimals));
  wallet.balances.forEach((b) => b.decimals !== null && units.set(b.mint, {
    symbol: b.symbol || `${b.mint.slice(0, 4)}…${b.mint.slice(-4)}`, decimals: b.decimals }));
  renderWallet($("wallet-rows"), wallet, sellFromWallet);
  if (first) fillPairs();
}

// A balance clicked in the wallet: the form sells it, by symbol or, for a token the engine
// does not list (a launch a sniper bought), by its mint, which the engine accepts too.
function sellFromWallet(balance) {
  const form = $("order-form");
  form.tokenIn.value = balance.symbol || balance.mint;
  if (form.tokenOut.value === form.tokenIn.value) form.tokenOut.value = balance.symbol === "USDC" ? "SOL" : "USDC";
  if (balance.amount) form.amount.value = balance.amount;
  form.amount.focus();
}

function fillPairs() {
  const symbols = [...decimals.keys()].filter((s) => s !== "USDC");
  const pairs = symbols.map((s) => `${s}/USDC`);
  $("pair").replaceChildren(...pairs.map((p) => el("option", p)));
  if (pairs.includes("SOL/USDC")) $("pair").value = "SOL/USDC";
  samplePrice();
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/api/orders/stream?after=${lastGseq}`, socketProtocols());
  ws.onopen = () => { $("connection").className = "chip confirmed"; $("connection").textContent = "live"; };
  ws.onmessage = (m) => onEvent(JSON.parse(m.data));
  ws.onclose = (e) => {
    // 4416: the engine has no such position, so it started over on a new database and what
    // this page holds is from the old one. Loading again takes the new one's state.
    if (e.code === 4416) { location.reload(); return; }
    $("connection").className = "chip failed"; $("connection").textContent = "reconnecting";
    setTimeout(connect, 1000);  // resumes after the last gseq seen: nothing is missed
  };
}

async function showTrading() {
  const resp = await api("/api/risk");
  if (!resp.ok) return;
  const risk = await resp.json();
  $("trading").className = `chip ${risk.state === "active" ? "confirmed" : "failed"}`;
  $("trading").textContent = `trading ${risk.state} · ${risk.openOrders} open`;
}

// The engine's own health: "degraded" says why (a store refusing writes, a pool left out of
// quotes), the first reason shown and all of them on hover.
async function showHealth() {
  let health;
  try {
    health = await (await api("/healthz")).json();
  } catch {
    health = { status: "unreachable" };
  }
  const reasons = health.reasons || [];
  const look = { ok: "confirmed", degraded: "waiting" }[health.status] || "failed";
  $("health").className = `chip ${look}`;
  $("health").textContent = `engine ${health.status}${reasons.length ? `: ${reasons[0]}` : ""}`;
  $("health").title = reasons.length ? reasons.join("\n") : "GET /healthz";
}

const TYPE_FIELDS = {
  limitPrice: ["limit", "stop_limit", "twap"], slices: ["twap"], intervalSeconds: ["twap"],
  maxPrice: ["sniper"], triggerPrice: ["stop", "stop_limit"], trail: ["trailing_stop"],
  takeProfitPrice: ["bracket"], stopPrice: ["bracket"], swapMode: ["market", "limit", "stop", "stop_limit"],
};

function formBody(form) {
  const body = {};
  for (const [k, v] of new FormData(form)) if (v !== "") body[k] = v;
  for (const [field, types] of Object.entries(TYPE_FIELDS)) {
    if (!types.includes(body.orderType)) delete body[field];
  }
  if (body.swapMode === "ExactIn") delete body.swapMode;
  if (body.orderType === "market") delete body.ttlSeconds;
  return body;
}

// Each type's own fields only: a field shows when its label's data-types names the type.
function syncFormType() {
  const type = $("orderType").value;
  document.querySelectorAll("[data-types]").forEach((label) => {
    label.classList.toggle("hidden", !label.dataset.types.split(" ").includes(type));
  });
}

async function post(path, body) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

async function start() {
  // Before anything is awaited: the form shows each type's fields from the start, and a submit
  // made while the page still loads is the page's to send (the browser's own would navigate away).
  syncFormType();
  $("orderType").addEventListener("change", syncFormType);
  $("order-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await post("/api/orders/execute", formBody(ev.target));
    const body = await r.json();
    $("form-result").textContent = r.ok ? `accepted ${body.orderId}` : `${body.error.code}: ${body.error.message}`;
  });
  $("launch-button").addEventListener("click", async () => {
    const mint = $("order-form").tokenOut.value;
    const r = await post("/api/sim/launch", { mint, venue: "raydium", price: 0.000001, liquidity: 85 });
    const body = await r.json();
    $("form-result").textContent = r.ok ? `launched ${body.mint} on ${body.venue}` : `${body.error.code}: ${body.error.message}`;
  });
  $("close-detail").addEventListener("click", () => { shownOrder = null; $("detail").hidden = true; });
  const resp = await api("/api/orders?limit=50");
  const page = await resp.json();
  lastGseq = page.gseq || 0;
  const now = Date.now();
  page.orders.reverse().forEach((o) => {
    upsert({ ...o, amountIn: o.fill ? o.fill.amountIn : o.filled ?? undefined,
             amountOut: o.fill ? o.fill.amountOut : o.received ?? undefined,
             venue: o.route ? o.route.venue : undefined });
    // The last minute's finished orders, so a page opened after a burst charts it.
    const ended = Date.parse(o.updatedAt);
    if (FINAL.includes(o.status) && ended > now - 60_000) {
      if (o.status === "confirmed") confirmedAt.push([ended, 1]);
      // An order's own record does not say when a wait ended: market orders only.
      if (o.orderType === "market") latencies.push([ended, (ended - Date.parse(o.createdAt)) / 1000]);
    }
    if (o.route) countVenue(o.orderId, o.route.venue, o.route);  // decisions made before we loaded
  });
  for (const list of [confirmedAt, latencies]) list.sort((a, b) => a[0] - b[0]);
  connect();
  drawCharts();
  setInterval(drawCharts, 1000);
  showTrading();
  setInterval(showTrading, 5000);
  showHealth();
  setInterval(showHealth, 5000);
  await showWallet();
  // The wallet refreshes after fills (at most once a second) and every 10 s for other changes.
  setInterval(() => { if (walletDue) { walletDue = false; showWallet(); } }, 1000);
  setInterval(showWallet, 10_000);
  setInterval(samplePrice, 2000);
  $("pair").addEventListener("change", () => { prices.length = 0; samplePrice(); drawCharts(); });
  // The launch controls exist only when the engine serves the simulated market's (--sim-api),
  // and only for a key that may use them (an admin's, once keys exist).
  const sim = await (await api("/api/sim")).json();
  $("launch-button").classList.toggle("unavailable", !sim.enabled || sim.canLaunch === false);
  document.body.setAttribute("aria-busy", "false");  // loaded: assistive tools may read it now
}

start();
