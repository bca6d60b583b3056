// The dashboard: one page, no build step, fed by the firehose WebSocket.
"use strict";
const rows = new Map();          // orderId -> {tr, order}
const venues = new Map();        // venue -> {won, improvement}
const confirmedAt = [];          // times (ms) of recent confirmations
const latencies = [];            // [time, seconds] submit -> final
let lastGseq = 0;

const $ = (id) => document.getElementById(id);

function chip(status) {
  const span = document.createElement("span");
  span.className = `chip ${status}`;
  span.textContent = status;
  return span;
}

function upsert(order) {
  let row = rows.get(order.orderId);
  if (!row) {
    const tr = document.createElement("tr");
    tr.dataset.orderId = order.orderId;
    tr.innerHTML = "<td></td><td></td><td></td><td></td><td></td><td></td><td></td>";
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
  cells[1].textContent = o.orderType || "";
  cells[2].textContent = o.tokenIn ? `${o.tokenIn}/${o.tokenOut}` : "";
  cells[3].textContent = o.amount || "";
  cells[4].replaceChildren(chip(o.status));
  cells[5].textContent = o.venue || "";
  cells[6].textContent = o.amountOut || "";
}

function onEvent(e) {
  lastGseq = Math.max(lastGseq, e.gseq || 0);
  const update = { orderId: e.orderId, status: e.status };
  for (const k of ["orderType", "tokenIn", "tokenOut", "amount", "venue", "amountOut"]) {
    if (e[k] !== undefined) update[k] = e[k];
  }
  if (e.received !== undefined) update.amountOut = e.received;  // a TWAP parent, so far
  if (e.status === "pending") update.submittedAt = Date.parse(e.at);
  upsert(update);
  if (e.status === "routing" && e.route) countVenue(e);
  if (["confirmed", "partially_filled", "failed", "expired", "cancelled"].includes(e.status)) {
    const row = rows.get(e.orderId);
    if (e.status === "confirmed") confirmedAt.push(Date.now());
    if (row && row.order.submittedAt) {
      latencies.push([Date.now(), (Date.parse(e.at) - row.order.submittedAt) / 1000]);
    }
  }
}

function countVenue(e) {
  const outs = e.route.quotes.map((q) => Number(q.outAmount)).sort((a, b) => b - a);
  const gain = outs.length > 1 && outs[1] > 0 ? (Number(e.route.outAmount) - outs[1]) / outs[1] * 100 : 0;
  const v = venues.get(e.venue) || { won: 0, improvement: 0 };
  v.improvement = (v.improvement * v.won + gain) / (v.won + 1);
  v.won += 1;
  venues.set(e.venue, v);
  $("venue-stats").replaceChildren(...[...venues].map(([name, s]) => {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td>${name}</td><td>${s.won}</td><td>${s.improvement.toFixed(3)} %</td>`;
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
  const resp = await api(`/api/orders/${orderId}`);
  const order = await resp.json();
  $("detail").hidden = false;
  $("detail-id").textContent = orderId;
  const attempts = order.events.filter((e) => e.status === "building")
    .map((e) => ({ attempt: e.attempt, txHash: e.txHash, previousError: e.previousError }));
  $("detail-body").textContent = JSON.stringify({
    status: order.status, request: { type: order.orderType, tokenIn: order.tokenIn, tokenOut: order.tokenOut, amount: order.amount, slippage: order.slippage },
    route: order.route, attempts, fill: order.fill, signature: order.txHash, error: order.error,
  }, null, 2);
}

function chart(canvas, points, label) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const max = Math.max(1e-9, ...points);
  ctx.strokeStyle = "#5b8cff"; ctx.beginPath();
  points.forEach((p, i) => {
    const x = (i / Math.max(1, points.length - 1)) * (w - 10) + 5, y = h - 15 - (p / max) * (h - 30);
    i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = "#9fb0cc"; ctx.fillText(`${label} (max ${max.toFixed(2)})`, 6, 12);
}

function drawCharts() {
  const now = Date.now(), perSecond = [], latency = [];
  for (let s = 59; s >= 0; s--) {
    const from = now - (s + 1) * 1000, to = now - s * 1000;
    perSecond.push(confirmedAt.filter((t) => t >= from && t < to).length);
    const l = latencies.filter(([t]) => t >= from && t < to).map(([, v]) => v);
    latency.push(l.length ? l.reduce((a, b) => a + b, 0) / l.length : 0);
  }
  while (confirmedAt.length && confirmedAt[0] < now - 61000) confirmedAt.shift();
  while (latencies.length && latencies[0][0] < now - 61000) latencies.shift();
  chart($("throughput"), perSecond, "confirmed / s");
  chart($("latency"), latency, "latency s");
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/api/orders/stream?after=${lastGseq}`, socketProtocols());
  ws.onopen = () => { $("connection").className = "chip confirmed"; $("connection").textContent = "live"; };
  ws.onmessage = (m) => onEvent(JSON.parse(m.data));
  ws.onclose = () => {
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

function formBody(form) {
  const body = {};
  for (const [k, v] of new FormData(form)) if (v !== "") body[k] = v;
  if (body.orderType !== "limit" && body.orderType !== "twap") delete body.limitPrice;
  if (body.orderType !== "twap") { delete body.slices; delete body.intervalSeconds; }
  if (!["market", "limit", "stop"].includes(body.orderType) || body.swapMode === "ExactIn") delete body.swapMode;
  if (body.orderType !== "sniper") delete body.maxPrice;
  if (body.orderType !== "stop") delete body.triggerPrice;
  if (body.orderType !== "trailing_stop") delete body.trail;
  if (body.orderType !== "bracket") { delete body.takeProfitPrice; delete body.stopPrice; }
  if (body.orderType === "market") delete body.ttlSeconds;
  return body;
}

function syncFormType() {
  const type = $("orderType").value;
  document.querySelectorAll(".limit-only").forEach((e) => e.classList.toggle("hidden", type !== "limit" && type !== "twap"));
  document.querySelectorAll(".twap-only:not(.limit-only)").forEach((e) => e.classList.toggle("hidden", type !== "twap"));
  document.querySelectorAll(".exact-out-able").forEach((e) => e.classList.toggle("hidden", !["market", "limit", "stop"].includes(type)));
  document.querySelectorAll(".sniper-only").forEach((e) => e.classList.toggle("hidden", type !== "sniper"));
  document.querySelectorAll(".stop-only").forEach((e) => e.classList.toggle("hidden", type !== "stop"));
  document.querySelectorAll(".trailing-only").forEach((e) => e.classList.toggle("hidden", type !== "trailing_stop"));
  document.querySelectorAll(".bracket-only").forEach((e) => e.classList.toggle("hidden", type !== "bracket"));
  document.querySelectorAll(".trigger-only").forEach((e) => e.classList.toggle("hidden", type === "market"));
}

async function start() {
  const resp = await api("/api/orders?limit=50");
  const page = await resp.json();
  lastGseq = page.gseq || 0;
  page.orders.reverse().forEach((o) => {
    upsert({ ...o, amountOut: o.fill ? o.fill.amountOut : undefined, venue: o.route ? o.route.venue : undefined });
    if (o.route) countVenue({ venue: o.route.venue, route: o.route });  // decisions made before we loaded
  });
  connect();
  setInterval(drawCharts, 1000);
  showTrading();
  setInterval(showTrading, 5000);
  // The launch controls exist only when the engine serves the simulated market's (--sim-api).
  const sim = await api("/api/sim");
  $("launch-button").classList.toggle("unavailable", !sim.ok);
  syncFormType();
  $("orderType").addEventListener("change", syncFormType);
  $("order-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await api("/api/orders/execute", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(formBody(ev.target)) });
    const body = await r.json();
    $("form-result").textContent = r.ok ? `accepted ${body.orderId}` : `${body.error.code}: ${body.error.message}`;
  });
  $("launch-button").addEventListener("click", async () => {
    const mint = $("order-form").tokenOut.value;
    const r = await api("/api/sim/launch", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ mint, venue: "raydium", price: 0.000001, liquidity: 85 }) });
    const body = await r.json();
    $("form-result").textContent = r.ok ? `launched ${body.mint} on ${body.venue}` : `${body.error.code}: ${body.error.message}`;
  });
}

start();
