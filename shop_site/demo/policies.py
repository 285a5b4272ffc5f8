"""The shop's policy pages, served by django.contrib.flatpages as Oscar does.

Each page ends with a short Chinese summary because the shop serves Chinese-speaking customers too, and
the assistant answers policy questions in either language from these same pages.
"""

from __future__ import annotations

from typing import NamedTuple


class DemoPolicy(NamedTuple):
    url: str
    title: str
    content: str


POLICIES: tuple[DemoPolicy, ...] = (
    DemoPolicy(
        "/shipping/",
        "Shipping & Delivery",
        """
<h2>UK delivery</h2>
<p><strong>Standard delivery</strong> takes 3-5 working days and costs <strong>£3.95</strong>.
It is <strong>free on orders over £50</strong>.</p>
<p><strong>Express delivery</strong> arrives the next working day when you order before 2pm
(Monday to Friday) and costs <strong>£7.95</strong>. Orders placed after 2pm on Friday, at weekends or on
bank holidays are dispatched the next working day.</p>
<p>We ship from our warehouse in Leeds with Royal Mail Tracked 48 (standard) and DPD (express). As
soon as your parcel leaves us you receive an email with its tracking number; you can also see it in
your account under "Order history".</p>
<h2>International delivery</h2>
<p>We deliver to the EU, the USA, Canada, Australia, China and Hong Kong. International delivery
costs £12.95 to Europe (5-8 working days) and £19.95 to the rest of the world (7-14 working days).
Import duties and taxes are charged by the destination country and paid by the recipient.</p>
<p>Some items cannot be sent abroad: gas canisters and power banks over 100 Wh.</p>
<h2>中文摘要</h2>
<p>英国境内标准配送3-5个工作日，运费£3.95，订单满£50免运费；次日达快递£7.95（工作日下午2点前下单）。
国际配送：欧洲£12.95（5-8个工作日），其他地区£19.95（7-14个工作日），进口关税由收件人承担。</p>
""",
    ),
    DemoPolicy(
        "/returns/",
        "Returns & Refunds",
        """
<h2>30-day returns</h2>
<p>If you are not happy with something you bought, you can return it within <strong>30 days</strong>
of delivery for a full refund. Items must be <strong>unused</strong>, in their original condition and
packaging, with tags attached. Footwear must have been worn indoors only.</p>
<p>Returns within the UK are <strong>free</strong>: log in, open the order under "Order history" and
request a <strong>free returns label</strong>, or ask us in the chat. Drop the parcel at any Post
Office or parcel locker.</p>
<h2>Refunds</h2>
<p>We refund to your original payment method within 5 working days of the parcel reaching us. The
original delivery charge is refunded if you return the whole order.</p>
<h2>Faulty items</h2>
<p>If an item arrives damaged or develops a fault within 12 months, contact us with your order number
and a photo and we will repair, replace or refund it. This does not affect your statutory rights.</p>
<p>For hygiene reasons, opened food and tea cannot be returned unless faulty.</p>
<h2>Cancelling an order</h2>
<p>You can cancel an order until it has been dispatched: while it is Pending or Being processed, ask us in
the chat or by email and we cancel it and refund you in full. Once an order has shipped it can no longer
be cancelled, but you can return it for free within 30 days.</p>
<h2>中文摘要</h2>
<p>收货后30天内可退货，商品须未使用且保持原包装；英国境内退货免费，可在账户的订单记录中申请免费退货标签。
退款在收到退货后5个工作日内原路退回。已开封的茶叶和食品除质量问题外不予退货。
订单发货前可以取消并全额退款；发货后无法取消，但可在30天内免费退货。</p>
""",
    ),
    DemoPolicy(
        "/payment/",
        "Payment",
        """
<h2>How you can pay</h2>
<p>We accept Visa, Mastercard, American Express and Maestro debit and credit cards, PayPal, Apple Pay
and Google Pay. All prices are in pounds sterling (GBP) and include UK VAT.</p>
<h2>Security</h2>
<p>Payments are processed by our payment provider over an encrypted connection and authenticated with
3-D Secure. <strong>We never see or store your card number</strong>: we only keep the card type and
the last four digits so you can recognise the payment.</p>
<p>Your card is charged when you place the order. If an item turns out to be unavailable, we refund it
straight away.</p>
<h2>Gift cards</h2>
<p>Gift cards can be used at checkout alongside any other payment method and are valid for 24 months.</p>
<h2>中文摘要</h2>
<p>支持Visa、Mastercard、美国运通、Maestro、PayPal、Apple Pay和Google Pay，价格以英镑计价并含增值税。
支付通过加密连接处理，我们不会查看或保存您的银行卡号。</p>
""",
    ),
    DemoPolicy(
        "/privacy/",
        "Privacy Policy",
        """
<h2>What we collect</h2>
<p>We collect the details you give us when you order or create an account (name, email address,
delivery address, phone number) and your order history. We do not store card numbers.</p>
<h2>How we use it</h2>
<p>We use your details to deliver your orders, answer your questions and, only if you opt in, send
you our newsletter. Conversations with our support chat are kept for 90 days to help us answer
follow-up questions, then deleted; card numbers typed into the chat are masked before they are
stored.</p>
<h2>Your rights</h2>
<p>Under UK GDPR you can ask for a copy of your data, ask us to correct or delete it, or object to
its use. Email privacy@example.com and we will reply within one month.</p>
<h2>Cookies</h2>
<p>We use essential cookies for your basket, login and the support chat, and no advertising cookies.</p>
<h2>中文摘要</h2>
<p>我们仅收集处理订单所需的信息（姓名、邮箱、地址、电话），不保存银行卡号。聊天记录保留90天后删除。
您可随时通过 privacy@example.com 申请查看、更正或删除您的个人数据。</p>
""",
    ),
)
