// The wallet and order-detail panels, built as DOM nodes (text only: nothing is parsed as HTML).

export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

export function table(headers, rows) {
  const t = el("table");
  const head = el("tr");
  headers.forEach((h) => head.append(el("th", h)));
  t.append(el("thead"));
  t.tHead.append(head);
  const body = el("tbody");
  rows.forEach((cells) => {
    const tr = el("tr");
    cells.forEach((c) => tr.append(c instanceof Node ? wrap(c) : el("td", c ?? "")));
    body.append(tr);
  });
  t.append(body);
  return t;
}

// A decimal string with its whole part grouped in threes ("10000000000.5" -> "10,000,000,000.5");
// exact: the string never becomes a float.
export function grouped(text) {
  if (text === undefined || text === null || text === "") return text;
  const [whole, fraction] = String(text).split(".");
  const digits = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return fraction === undefined ? digits : `${digits}.${fraction}`;
}

// Atoms as a decimal string of the token's units ("1500000000", 9 -> "1.5"), exactly.
export function fromAtoms(atoms, decimals) {
  const digits = String(atoms).padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : whole;
}

// An amount of a mint, in its units and symbol when `units` (mint -> {symbol, decimals}, from
// the wallet) knows it; otherwise in atoms, which are exact whatever the token.
function tokenAmount(atoms, mint, units) {
  const unit = units.get(mint);
  return unit ? `${grouped(fromAtoms(atoms, unit.decimals))} ${unit.symbol}` : `${grouped(atoms)} atoms`;
}

function wrap(node) { const td = el("td"); td.append(node); return td; }

function facts(pairs) {
  const dl = el("dl");
  pairs.filter(([, v]) => v !== undefined && v !== null && v !== "").forEach(([k, v]) => {
    const dd = v instanceof Node ? el("dd") : el("dd", v);
    if (v instanceof Node) dd.append(v);
    dl.append(el("dt", k), dd);
  });
  return dl;
}

// `pick(balance)`: what a click on a balance does (the dashboard offers it for sale).
export function renderWallet(target, wallet, pick) {
  $id("wallet-address").textContent = wallet.address;
  target.replaceChildren(...wallet.balances.map((b) => {
    const tr = el("tr");
    tr.dataset.mint = b.mint;
    tr.title = `${b.mint}: click to sell it`;
    tr.addEventListener("click", () => pick(b));
    tr.append(el("td", b.symbol || `${b.mint.slice(0, 4)}…${b.mint.slice(-4)}`),
              el("td", b.amount !== undefined && b.amount !== null ? grouped(b.amount)
                                                                  : `${grouped(b.atoms)} atoms`,
                 "number"));
    return tr;
  }));
}

function $id(id) { return document.getElementById(id); }

function requestFacts(order) {
  // Levels are net prices: tokenOut per tokenIn, but a sniper's ceiling is what a token costs.
  const per = (v) => (v === undefined || v === null ? null : `${v} ${order.tokenOut} per ${order.tokenIn}`);
  const cost = (v) => (v === undefined || v === null ? null : `${v} ${order.tokenIn} per ${order.tokenOut}`);
  const fields = [["status", order.status],
    ["error", order.error ? `${order.error.code}: ${order.error.message}` : null],
    ["signature", order.txHash], ["type", order.orderType], ["pair", `${order.tokenIn} → ${order.tokenOut}`],
    ["amount", `${order.amount} ${order.swapMode === "ExactOut" ? order.tokenOut : order.tokenIn}`],
    ["slippage", order.slippage], ["limit price", per(order.limitPrice)], ["trigger price", per(order.triggerPrice)],
    ["trail", order.trail], ["take profit", per(order.takeProfitPrice)], ["stop", per(order.stopPrice)],
    ["max price", cost(order.maxPrice)], ["slices", order.slices], ["every (s)", order.intervalSeconds],
    ["best price seen", per(order.highWaterMark)], ["triggered at", per(order.triggeredAt)],
    ...waitingFacts(order, per), ["expires", order.expiresAt], ["created", order.createdAt]];
  return facts(fields);
}

function waitingFacts(order, per) {
  // What a waiting order waits for, in its own words, and the last price it was shown.
  if (order.status !== "waiting" || order.children) return [];
  const said = (k) => [...order.events].reverse().find((e) => e.status === "waiting" && e[k] !== undefined);
  const reason = said("reason"), price = said("currentPrice");
  return [["waiting", reason ? reason.reason : null],
    ["current price", price ? `${per(price.currentPrice)} (${price.at})` : null]];
}

function routeSection(route, units) {
  // A venue's fee is taken from what goes in, so it is counted in the input token.
  const amounts = (q) => [tokenAmount(q.inAmount, q.inputMint, units), tokenAmount(q.outAmount, q.outputMint, units),
    tokenAmount(q.feeAmount, q.inputMint, units)];
  const section = el("div");
  section.append(el("h3", "Route"), el("p", route.reason));
  section.append(table(["leg", "venue", "pool", "in", "out", "fee", "impact"],
    route.legs.map((l, i) => [i + 1, l.venue, l.pool, ...amounts(l), `${l.priceImpactPct} %`])));
  section.append(el("h3", "Quotes compared"));
  section.append(table(["venue", "pool", "in", "out", "fee", "slot"],
    route.quotes.map((q) => [q.venue, q.pool, ...amounts(q), q.slot])));
  return section;
}

function attemptsSection(events) {
  const section = el("div");
  const built = events.filter((e) => e.status === "building");
  section.append(el("h3", `Attempts (${built.length})`));
  if (!built.length) {
    section.append(el("p", "none yet: no transaction was built for it"));
    return section;
  }
  section.append(table(["attempt", "signature", "instructions", "previous error"], built.map((e) => {
    const list = el("ol", undefined, "instructions");
    (e.instructions || []).forEach((i) => list.append(el("li", i)));
    return [e.attempt, el("code", e.txHash), list, e.previousError ? `${e.previousError.code}: ${e.previousError.message}` : ""];
  })));
  return section;
}

function fillSection(fill, order) {
  const section = el("div");
  section.append(el("h3", "Fill"));
  section.append(facts([["sold", `${grouped(fill.amountIn)} ${order.tokenIn}`], ["bought", `${grouped(fill.amountOut)} ${order.tokenOut}`],
    ["price", `${fill.executedPrice} ${order.tokenOut} per ${order.tokenIn}`], ["venue", fill.venue],
    ["network fee", `${fill.networkFeeLamports} lamports`], ["token account rent", `${fill.ataRentLamports} lamports`],
    ["slot", fill.slot], ["commitment", fill.commitment], ["signature", fill.txHash]]));
  return section;
}

const ENDED = ["confirmed", "partially_filled", "failed", "expired", "cancelled"];

// An order's id that opens its own detail when clicked (`open`), as a link reads.
function orderLink(id, open) {
  const link = el("a", id, "order-link");
  link.href = "#";
  link.addEventListener("click", (event) => { event.preventDefault(); open(id); });
  return link;
}

function slicesSection(order, open) {
  // Each slice's outcome, from the parent's own events: its child's status and amounts.
  const ended = new Map(order.events.filter((e) => e.childStatus).map((e) => [e.childId, e]));
  const average = order.averagePrice ? `${order.averagePrice} ${order.tokenOut} per ${order.tokenIn}` : "—";
  return [el("h3", "Slices"), facts([["sent", `${order.slicesSent} of ${order.slices}`],
    ["sold", `${grouped(order.filled)} ${order.tokenIn}`], ["received", `${grouped(order.received)} ${order.tokenOut}`],
    ["remaining", `${grouped(order.remaining)} ${order.tokenIn}`], ["average price", average]]),
  table(["slice", "order", "status", "sold", "received"], order.children.map((id, i) => {
    const done = ended.get(id);
    const unended = ENDED.includes(order.status) ? "finished on its own" : "in flight";
    return [i + 1, orderLink(id, open), done ? done.childStatus : unended,
      done ? `${grouped(done.amountIn)} ${order.tokenIn}` : "", done ? `${grouped(done.amountOut)} ${order.tokenOut}` : ""];
  }))];
}

// `open(id)`: show another order's detail (a TWAP's slice, a slice's parent).
export function renderDetail(target, order, units, open) {
  const parts = [el("h3", "Order"), requestFacts(order)];
  const parent = order.events.find((e) => e.parentId);
  if (parent) parts.push(facts([["slice of", orderLink(parent.parentId, open)]]));
  if (order.route) parts.push(routeSection(order.route, units));
  if (!order.children) parts.push(attemptsSection(order.events));  // a TWAP's are its slices'
  if (order.fill) parts.push(fillSection(order.fill, order));
  if (order.children) parts.push(...slicesSection(order, open));
  target.replaceChildren(...parts);
}
