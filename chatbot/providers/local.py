"""The local assistant: answers from the shop's own catalogue, orders and policy pages, with no network.

It recognises a handful of intents with plain rules (greeting, thanks, orders, policies, products),
builds a short markdown answer and streams it in small chunks the way a language model would.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from django.utils import formats

from chatbot.exceptions import ShopError
from chatbot.providers.base import ChatRequest, Delta, Done, Products, Provider, ProviderEvent, Suggestions
from chatbot.providers.local_phrases import CHINESE_FILLERS, PHRASES, STOPWORDS, SUGGESTIONS
from chatbot.shop.base import OrderInfo, ProductInfo

_GREETING = re.compile(r"^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening)|你好|您好|嗨|哈喽)\W*$", re.I)
_THANKS = re.compile(r"^\s*(thanks|thank you|thx|cheers|谢谢|多谢|感谢)\b.*$", re.I)
_ORDER = re.compile(r"\border(s)?\b|\btrack(ing)?\b|\bparcel\b|\bwhere is my\b|订单|物流|快递单|到哪", re.I)
_ORDER_NUMBER = re.compile(r"(?<![\w.@])#?(\d{5,12})(?![\w@])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_POLICY_TOPICS = [
    ("shipping", re.compile(r"\bship(ping|s|ped)?\b|\bdeliver(y|ies)?\b|\bpostage\b|\bcourier\b|配送|运费|发货|邮费", re.I)),  # noqa: E501
    ("returns", re.compile(r"\breturn(s|ing)?\b|\brefund(s)?\b|\bexchange\b|退货|退款|换货|退换", re.I)),
    ("payment", re.compile(r"\bpay(ment|pal)?\b|\bcredit card\b|\bcard(s)?\b|\bklarna\b|支付|付款|信用卡", re.I)),
    ("privacy", re.compile(r"\bprivacy\b|\bpersonal data\b|\bgdpr\b|\bcookies?\b|隐私|个人信息", re.I)),
]
_CHUNK = re.compile(r"\S+\s*|\s+")
LOW_STOCK = 3


class LocalProvider(Provider):
    """The embedded default provider; reads the shop through its adapter only."""

    name = "local"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        lang = "zh-hans" if request.language.startswith("zh") else "en"
        answer, products, suggestions = self.answer(request, lang)
        if products:
            yield Products([product.as_card() for product in products])
        if suggestions:
            yield Suggestions(suggestions)
        delay = float(self.options.LOCAL_STREAM_DELAY)
        for index, piece in enumerate(_chunks(answer, lang)):
            if delay and index:
                time.sleep(delay)
            yield Delta(piece)
        yield Done()

    def answer(self, request: ChatRequest, lang: str) -> tuple[str, list[ProductInfo], list[str]]:
        say = PHRASES[lang]
        text = request.text.strip()
        shop_name = request.shop.shop_name() or self.options.SHOP_NAME or "our shop"
        try:
            if _GREETING.match(text):
                return say["greeting"].format(shop=shop_name), [], SUGGESTIONS[lang]
            if _THANKS.match(text):
                return say["thanks"], [], []
            if _ORDER.search(text) or (_ORDER_NUMBER.search(text) and _EMAIL.search(text)):
                return self._orders(request, text, say), [], []
            topic = next((name for name, pattern in _POLICY_TOPICS if pattern.search(text)), None)
            if topic is not None:
                return self._policy(request, topic, say), [], []
            return self._products(request, text, say, lang)
        except ShopError:
            raise
        except Exception as exc:
            raise ShopError(f"{type(exc).__name__} in the shop adapter") from exc

    def _products(self, request: ChatRequest, text: str, say: dict, lang: str):
        query = search_query(text)
        if not query:
            return say["ask_what"], [], SUGGESTIONS[lang]
        if request.shop.name == "none":
            return say["no_catalogue"], [], []
        products = request.shop.search_products(query, limit=5)
        if not products:
            return say["not_found"].format(query=query) + "", [], SUGGESTIONS[lang]
        lines = [say["found_one"] if len(products) == 1 else say["found_many"].format(count=len(products)), ""]
        for product in products:
            lines.append(f"- **[{product.title}]({product.url})**: {_price_stock(product, say)}")
        if len(products) == 1 and products[0].description:
            lines += ["", _shorten(products[0].description, 280)]
        return "\n".join(lines), products, []

    def _orders(self, request: ChatRequest, text: str, say: dict) -> str:
        number_match = _ORDER_NUMBER.search(text)
        number = number_match.group(1) if number_match else ""
        visitor = request.visitor
        if visitor.is_authenticated:
            orders = request.shop.orders_for(visitor.user, limit=5 if not number else 50)
            if number:
                mine = [o for o in orders if o.number == number]
                if not mine:
                    return say["order_not_yours"].format(number=number)
                return _order_text(mine[0], say)
            if not orders:
                return say["no_orders"]
            return "\n\n".join([say["orders_intro"], *(_order_text(o, say) for o in orders[:3])])
        email_match = _EMAIL.search(text)
        if not (number and email_match):
            return say["order_guest_needs"]
        order = request.shop.order_lookup(number, email_match.group(0))
        if order is None:
            return say["order_guest_not_found"]
        return _order_text(order, say)

    def _policy(self, request: ChatRequest, topic: str, say: dict) -> str:
        policy = next((p for p in request.shop.policies() if p.topic == topic), None)
        if policy is None:
            return say["policy_missing"]
        text = _shorten(policy.text, 700)
        if policy.url:
            text += "\n\n" + say["policy_more"].format(title=policy.title, url=policy.url)
        return text


def search_query(text: str) -> str:
    """The words of a question that name what the visitor is looking for."""
    lowered = text.lower()
    for filler in CHINESE_FILLERS:
        lowered = lowered.replace(filler, " ")
    words = re.findall(r"[^\W_]+", lowered)
    return " ".join(w for w in words if w not in STOPWORDS)


def _price_stock(product: ProductInfo, say: dict) -> str:
    parts = []
    if product.price is not None:
        parts.append(product.price_text())
    if not product.in_stock:
        parts.append(say["out_of_stock"])
    elif product.stock is not None and product.stock <= LOW_STOCK:
        parts.append(say["low_stock"].format(count=product.stock))
    elif product.stock is not None:
        parts.append(say["in_stock_count"].format(count=product.stock))
    else:
        parts.append(say["in_stock"])
    return ", ".join(parts)


def _order_text(order: OrderInfo, say: dict) -> str:
    details = [say["order_one"].format(number=order.number, status=order.status or "-")]
    extra = []
    if order.placed:
        extra.append(say["order_placed"].format(date=formats.date_format(order.placed, "DATE_FORMAT")))
    if order.total is not None:
        extra.append(say["order_total"].format(total=f"{order.currency} {order.total:.2f}".strip()))
    if extra:
        details[0] += " (" + ", ".join(extra) + ")"
    if order.lines:
        items = ", ".join(f"{line.quantity} × {line.title}" for line in order.lines[:5])
        details.append(say["order_items"].format(items=items))
    if order.url:
        details.append(say["order_link"].format(url=order.url))
    return "\n".join(details)


def _shorten(text: str, limit: int) -> str:
    text = re.sub(r"\n{3,}", "\n\n", text.strip())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _chunks(answer: str, lang: str) -> Iterator[str]:
    """Word-sized pieces; a few characters at a time for Chinese, which has no spaces."""
    for token in _CHUNK.findall(answer):
        if lang == "zh-hans" and len(token) > 4:
            for start in range(0, len(token), 3):
                yield token[start : start + 3]
        else:
            yield token
