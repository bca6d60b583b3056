// Which venue each order was routed to, and by how much its route beat the best alternative the
// engine compared. Each order counts once, by its latest route (a limit order put back to waiting
// after a slip, or a market order rerouted, is routed again).

// The route's edge over the best quote it was compared with, in percent, or null when the engine
// had nothing to compare it with. ExactIn: more out for the same in; ExactOut: less in for the
// same out. A split or a route through another token is compared with the best single quote; a
// single venue, with the best of the others.
export function improvement(route) {
  const exactOut = route.swapMode === "ExactOut";
  const amount = (q) => Number(exactOut ? q.inAmount : q.outAmount);
  const single = route.legs && route.legs.length === 1 ? route.legs[0] : null;
  const others = (route.quotes || []).filter((q) => !single || q.pool !== single.pool).map(amount);
  if (others.length === 0) return null;
  const alternative = exactOut ? Math.min(...others) : Math.max(...others);
  if (!(alternative > 0)) return null;
  const chosen = amount(route);
  return (exactOut ? alternative - chosen : chosen - alternative) / alternative * 100;
}

export class VenueStats {
  constructor() {
    this.byOrder = new Map();  // orderId -> {venue, gain}
    this.venues = new Map();   // venue -> {won, gains, compared}
  }

  // Count (or recount) one order's route.
  add(orderId, venue, route) {
    const before = this.byOrder.get(orderId);
    if (before) this.#apply(before, -1);
    const now = { venue, gain: improvement(route) };
    this.byOrder.set(orderId, now);
    this.#apply(now, 1);
  }

  // [venue, orders won, mean improvement in % (null if none was compared)], most won first.
  rows() {
    return [...this.venues]
      .filter(([, s]) => s.won > 0)
      .sort((a, b) => b[1].won - a[1].won)
      .map(([name, s]) => [name, s.won, s.compared ? s.gains / s.compared : null]);
  }

  #apply({ venue, gain }, sign) {
    const s = this.venues.get(venue) || { won: 0, gains: 0, compared: 0 };
    s.won += sign;
    if (gain !== null) {
      s.gains += sign * gain;
      s.compared += sign;
    }
    this.venues.set(venue, s);
  }
}
