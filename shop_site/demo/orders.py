"""Demo accounts and their orders.

Order numbers are fixed so tests, docs and a person trying the chat can name them ("where is order
100002?"). Two customers exist so that one can check they never see the other's orders, and one order
was placed as a guest, to be looked up by number and email.
"""

from __future__ import annotations

from typing import NamedTuple


class DemoAccount(NamedTuple):
    email: str
    password: str
    first_name: str
    last_name: str
    #: Staff accounts get this username; customers get one generated the way Oscar's sign-up form does.
    username: str = ""
    is_superuser: bool = False


class DemoAddress(NamedTuple):
    first_name: str
    last_name: str
    line1: str
    city: str
    postcode: str
    phone_number: str = ""


class DemoOrder(NamedTuple):
    number: str
    #: The customer's email; for a guest order it becomes the order's guest_email.
    email: str
    guest: bool
    status: str
    days_ago: int
    #: (product UPC, quantity)
    lines: tuple[tuple[str, int], ...]
    address: DemoAddress
    express: bool = False
    payment: str = "Visa ending 4242"
    tracking: str = ""


ADMIN = DemoAccount("admin@example.com", "admin", "Shop", "Admin", username="admin", is_superuser=True)
CUSTOMER = DemoAccount("customer@example.com", "customer", "Emma", "Clarke")
OTHER_CUSTOMER = DemoAccount("other@example.com", "other", "Li", "Wei")
GUEST_EMAIL = "guest@example.com"

ACCOUNTS: tuple[DemoAccount, ...] = (ADMIN, CUSTOMER, OTHER_CUSTOMER)

_EMMA = DemoAddress("Emma", "Clarke", "14 Acacia Avenue", "Manchester", "M20 2LS", "+44 161 496 0123")
_LI = DemoAddress("Li", "Wei", "7 Harbour Street", "Edinburgh", "EH6 6QA", "+44 131 496 0456")
_GUEST = DemoAddress("Sam", "Taylor", "22 Mill Lane", "Bristol", "BS1 4DJ")

ORDERS: tuple[DemoOrder, ...] = (
    DemoOrder(
        "100001",
        CUSTOMER.email,
        False,
        "Complete",
        35,
        (("MP-FTW-001", 1), ("MP-FTW-004", 2)),
        _EMMA,
        tracking="Royal Mail Tracked 48 RM482913576GB",
    ),
    DemoOrder(
        "100002",
        CUSTOMER.email,
        False,
        "Shipped",
        2,
        (("MP-CLO-001", 1),),
        _EMMA,
        express=True,
        payment="PayPal",
        tracking="DPD 15501234567890",
    ),
    DemoOrder("100003", CUSTOMER.email, False, "Being processed", 1, (("MP-TEA-001", 2), ("MP-TEA-005", 1)), _EMMA),
    DemoOrder("100004", CUSTOMER.email, False, "Pending", 0, (("MP-OUT-004", 1),), _EMMA),
    DemoOrder(
        "100005",
        CUSTOMER.email,
        False,
        "Cancelled",
        12,
        (("MP-OUT-005", 1), ("MP-OUT-009", 1)),
        _EMMA,
        payment="Mastercard ending 5100",
    ),
    DemoOrder(
        "100006",
        OTHER_CUSTOMER.email,
        False,
        "Shipped",
        3,
        (("MP-FTW-002", 1), ("MP-ELE-002", 1)),
        _LI,
        tracking="Royal Mail Tracked 48 RM731250864GB",
    ),
    DemoOrder(
        "100007",
        GUEST_EMAIL,
        True,
        "Being processed",
        1,
        (("MP-TEA-004", 1), ("MP-TEA-008", 1)),
        _GUEST,
        payment="Visa ending 1881",
    ),
)
