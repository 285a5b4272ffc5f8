"""Order answers: status, tracking, what was in it, and whether it can still be cancelled.

Signed-in visitors see their own orders (``shop.orders_for``); guests give the order number and the
email it was placed with (``shop.order_lookup``). Nothing else is ever looked up.
"""

from __future__ import annotations

import re

from django.utils import formats
from django.utils.translation import gettext as _

from chatbot.order_lookups import OrderLookupThrottled, lookup_guest_order
from chatbot.providers.base import ChatRequest
from chatbot.providers.local.question import CANCEL, EMAIL, ORDER_NUMBER, is_order_question
from chatbot.shop.base import OrderInfo

_LAST = re.compile(r"\b(last|latest|most recent|newest|previous)\b|最近一次|最新|上一个|上次", re.I)
_TRACKING = re.compile(r"\btrack(ing)?\b|\bwhere is\b|\bwhen will\b|\barrive\b|物流|快递|单号|到哪|追踪", re.I)


def general(request: ChatRequest, text: str, topic: str | None) -> bool:
    """A question about orders in general ("how long will my order take to arrive?") from a guest who
    names no order: the shop's policy answers it, not an order look-up."""
    if topic is None or request.visitor.is_authenticated or ORDER_NUMBER.search(text) or EMAIL.search(text):
        return False
    return is_order_question(text) and not CANCEL.search(text)


def answer(request: ChatRequest, text: str, cancel_policy: str) -> str:
    number_match = ORDER_NUMBER.search(text)
    number = number_match.group(1) if number_match else ""
    wants_cancel = bool(CANCEL.search(text))
    visitor = request.visitor
    if visitor.is_authenticated:
        orders = request.shop.orders_for(visitor.user, limit=50 if number else 5)
        if number:
            mine = [o for o in orders if o.number == number]
            if not mine:
                return _(
                    "I couldn't find order %(number)s for your account. Please check the number, or ask to "
                    "talk to a human."
                ) % {"number": number}
            orders = mine
        if not orders:
            return _("I can't find any orders on your account yet.")
        if wants_cancel:
            target = orders[0] if number else next((o for o in orders if o.can_cancel), orders[0])
            return cancel_text(target, cancel_policy)
        if number or _LAST.search(text) or _TRACKING.search(text) and len(orders) == 1:
            return order_text(request, orders[0], text)
        latest = [order_text(request, o, text) for o in orders[:3]]
        return "\n\n".join([_("Here are your most recent orders:"), *latest])
    email_match = EMAIL.search(text)
    if not (number and email_match):
        return _(
            "I can look up an order with its order number and the email address it was placed with, for "
            'example: "order 100001, jane@example.com". Or sign in to see all your orders.'
        )
    try:
        order = lookup_guest_order(request.shop, number, email_match.group(0))
    except OrderLookupThrottled as exc:
        # Said kindly in the chat, like any other answer: how long to wait, or to sign in.
        return exc.message
    if order is None:
        return _(
            "I couldn't find a guest order with that number and email address. Please check both; an order "
            "placed from an account is shown after signing in. Or ask to talk to a human."
        )
    return cancel_text(order, cancel_policy) if wants_cancel else order_text(request, order, text)


def order_text(request: ChatRequest, order: OrderInfo, question: str = "") -> str:
    details = [_("Order **%(number)s**: %(status)s") % {"number": order.number, "status": order.status or "-"}]
    extra = []
    if order.placed:
        extra.append(_("placed %(date)s") % {"date": formats.date_format(order.placed, "DATE_FORMAT")})
    if order.total is not None:
        extra.append(_("total %(total)s") % {"total": request.shop.format_price(order.total, order.currency)})
    if extra:
        details[0] += " (" + ", ".join(extra) + ")"
    if order.lines:
        items = ", ".join(f"{line.quantity} × {line.title}" for line in order.lines[:8])
        details.append(_("Items: %(items)s") % {"items": items})
    if order.tracking:
        details.append(_("Tracking: %(tracking)s") % {"tracking": "; ".join(order.tracking)})
    elif _TRACKING.search(question):
        details.append(_("No tracking number yet: you get one by email as soon as the parcel leaves us."))
    if order.url:
        details.append(_("[View order details](%(url)s)") % {"url": order.url})
    return "\n".join(details)


def cancel_text(order: OrderInfo, cancel_policy: str) -> str:
    status = {"number": order.number, "status": order.status or "-"}
    if order.can_cancel:
        lead = _("Order **%(number)s** is %(status)s, so it can still be cancelled.") % status
        ask = _('A member of our team cancels it for you: say "talk to a human" and they will take it from here.')
    elif order.can_cancel is False:
        lead = _("Order **%(number)s** is %(status)s, so it can no longer be cancelled.") % status
        ask = _('If you don\'t want it, you can return it once it arrives; or say "talk to a human".')
    else:
        lead = _("Order **%(number)s** is %(status)s.") % status
        ask = _('A member of our team can tell you whether it can still be cancelled: say "talk to a human".')
    parts = [lead]
    if cancel_policy:
        parts.append(cancel_policy)
    parts.append(ask)
    return "\n\n".join(parts)
