"""What a landed transaction means for the order that sent it: the rules, without the I/O."""

from __future__ import annotations

from engine.domain.errors import FirstHopSlipped, OutOfCompute, PermanentError, SlippageExceeded
from engine.domain.events import Armed, Failure, Fill, Filled
from engine.domain.order import Order
from engine.domain.transactions import Landed


def landing(order: Order, landed: Landed) -> Filled | Armed:
    """The order's fill; or, for one that waits for its price and slipped on chain, waiting
    again. A failure is raised as what it is: transient where another attempt may fill it (it
    swapped nothing, or only a route's first pool moved), permanent otherwise."""
    plan, r = order.route, order.request
    assert plan is not None
    slipped = landed.err == SlippageExceeded.code
    if slipped and r.waits:
        # The price was met when it fired but moved before landing: wait for it again.
        return Armed("re-armed after a slippage failure",
                     error=Failure(SlippageExceeded.code, landed.err_message))
    if landed.err is not None:
        message = f"{landed.err_message or landed.err} (tx {landed.signature}, slot {landed.slot})"
        if landed.err == OutOfCompute.code:
            raise OutOfCompute(message)
        if slipped and landed.failed_hop == 0 and len(plan.hops) > 1:
            # The first pool moved past the margin between the hops, not past the order's
            # own bound: a fresh route may well fill it.
            raise FirstHopSlipped(f"the route's first swap slipped: {message}")
        raise SlippageExceeded(message) if slipped else PermanentError(message, code=landed.err)
    opened = max((leg.opened_slot for leg in plan.legs if leg.opened_slot is not None),
                 default=None)
    return Filled(Fill(landed.signature, landed.slot, plan.venue, landed.amount_in,
                       landed.amount_out, landed.fee_lamports, landed.rent_lamports,
                       landed.commitment, opened if r.order_type.snipes else None))
